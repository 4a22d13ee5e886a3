// Write and parse throughput of the recording file for realistic samples:
// 20 user frames over 4 mappings, 8 kernel frames, 2 counters, ~1 kHz
// timestamps. Always-on recording writes these continuously, and every
// report parses them, so both directions matter.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "formats/recording.h"

namespace ringprof::formats {
namespace {

std::vector<Sample> RealisticSamples(size_t n, size_t user_frames = 20, size_t kernel_frames = 8) {
  std::mt19937_64 rng(42);
  std::vector<Sample> out(n);
  uint64_t t = 1'000'000'000;
  for (Sample& s : out) {
    t += 1'000'000 + rng() % 10'000;
    s.time_ns = t;
    s.pid = 4000 + static_cast<uint32_t>(rng() % 4);
    s.tid = s.pid + static_cast<uint32_t>(rng() % 8);
    s.cpu = static_cast<uint32_t>(rng() % 2);
    s.period = 1'000'000;
    uint64_t ip = 0xffffffff81000000 + rng() % 0x800000;
    for (size_t i = 0; i < kernel_frames; ++i) {
      s.kernel_ips.push_back(ip);
      ip += rng() % 0x40000 - 0x20000;
    }
    for (size_t i = 0; i < user_frames; ++i) {
      const uint32_t mapping = 1 + static_cast<uint32_t>(i * 4 / user_frames);
      s.user_frames.push_back({mapping, 0x1000 + rng() % 0x100000});
    }
    s.counter_deltas = {rng() % 100, rng() % 5};
  }
  return out;
}

std::string TempPath(const char* name) {
  return std::string("/tmp/bench_recording_") + std::to_string(getpid()) + "_" + name;
}

// Encoding plus one fwrite/fflush per chunk, into `path`. Never removes
// `path`: it may be /dev/null, and the benchmark runs as root.
void WriteBench(benchmark::State& state, const std::string& path) {
  const auto samples = RealisticSamples(static_cast<size_t>(state.range(0)));
  auto writer = RecordingWriter::Create(path);
  if (!writer.ok()) {
    state.SkipWithError(std::string(writer.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    if ((*writer)->bytes_written() > (256u << 20)) {  // keep /tmp small
      state.PauseTiming();
      writer->reset();
      writer = RecordingWriter::Create(path);
      if (!writer.ok()) {
        state.SkipWithError(std::string(writer.status().message()).c_str());
        break;
      }
      state.ResumeTiming();
    }
    const absl::Status s = (*writer)->WriteSamples(samples);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(samples.size()));
  auto w = RecordingWriter::Create(path);  // measure one batch's size
  if (!w.ok()) return;
  const uint64_t before = (*w)->bytes_written();
  (void)(*w)->WriteSamples(samples);
  const double batch_bytes = static_cast<double>((*w)->bytes_written() - before);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch_bytes));
  state.counters["bytes/sample"] = batch_bytes / static_cast<double>(samples.size());
}

void BM_WriteSamplesDevNull(benchmark::State& state) { WriteBench(state, "/dev/null"); }
BENCHMARK(BM_WriteSamplesDevNull)->Arg(100)->Arg(1000)->Arg(10000);

void BM_WriteSamplesFile(benchmark::State& state) {
  const std::string path = TempPath("write.rpf");
  WriteBench(state, path);
  std::remove(path.c_str());
}
BENCHMARK(BM_WriteSamplesFile)->Arg(1000)->Arg(10000);

void BM_ParseSamples(benchmark::State& state) {
  const auto samples = RealisticSamples(static_cast<size_t>(state.range(0)));
  const std::string path = TempPath("parse.rpf");
  {
    auto w = RecordingWriter::Create(path);
    if (!w.ok() || !(*w)->WriteSamples(samples).ok() || !(*w)->Finish({}, 1).ok()) {
      state.SkipWithError("writing the input failed");
      return;
    }
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  std::remove(path.c_str());
  for (auto _ : state) {
    auto rec = ParseRecording(bytes);
    if (!rec.ok() || rec->samples.size() != samples.size()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(rec->samples.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(samples.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.counters["bytes/sample"] =
      static_cast<double>(bytes.size()) / static_cast<double>(samples.size());
}
BENCHMARK(BM_ParseSamples)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace ringprof::formats

BENCHMARK_MAIN();
