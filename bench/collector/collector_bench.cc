// Hot loops of the drain path: parsing side-band records and turning user
// IPs into (mapping, file offset) with the process-map tracker.
#include <linux/perf_event.h>
#include <sys/mman.h>

#include <cstring>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "collector/kernel_symbols.h"
#include "collector/process_maps.h"
#include "collector/sideband.h"

namespace ringprof::collector {
namespace {

// A process with `n` mappings of 1 MiB each, as a shared-library-heavy
// program would have.
ProcessMapTracker MakeTracker(int n) {
  ProcessMapTracker t;
  for (int i = 0; i < n; ++i) {
    SidebandRecord r;
    r.kind = SidebandRecord::Kind::kMmap2;
    r.pid = r.tid = 1;
    r.time_ns = 10;
    r.addr = 0x7f0000000000ull + static_cast<uint64_t>(i) * 0x200000;
    r.len = 0x100000;
    r.prot = PROT_READ | PROT_EXEC;
    r.filename = absl::StrCat("/usr/lib/lib", i, ".so");
    r.build_id = std::string(20, static_cast<char>(i));
    t.Apply(r);
  }
  return t;
}

void BM_ResolveUserFrame(benchmark::State& state) {
  ProcessMapTracker t = MakeTracker(static_cast<int>(state.range(0)));
  std::mt19937_64 rng(1);
  std::vector<uint64_t> addrs(4096);
  for (auto& a : addrs) {
    a = 0x7f0000000000ull + (rng() % static_cast<uint64_t>(state.range(0))) * 0x200000 +
        rng() % 0x100000;
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.Resolve(1, 100, addrs[i++ & 4095]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ResolveUserFrame)->Arg(16)->Arg(64)->Arg(256);

void BM_ParseMmap2(benchmark::State& state) {
  std::vector<uint8_t> rec(sizeof(perf_event_header) + 64 + 40 + 16, 0);
  perf_event_header h{PERF_RECORD_MMAP2, 1 << 14, static_cast<uint16_t>(rec.size())};
  std::memcpy(rec.data(), &h, sizeof(h));
  std::memcpy(rec.data() + sizeof(h) + 64, "/usr/lib/x86_64-linux-gnu/libc.so.6", 36);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseSidebandRecord(rec));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseMmap2);

// kallsyms text of `n` symbols 0x100 apart, served as the kernel's.
class SyntheticKernel : public KernelFiles {
 public:
  explicit SyntheticKernel(int n) {
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&text_, absl::Hex(0xffffffff81000000ull + i * 0x100ull, absl::kZeroPad16),
                      i % 3 ? " t " : " T ", "kernel_function_", i, "\n");
    }
  }
  absl::Status ReadKallsyms(const std::function<void(std::string_view)>& sink) override {
    for (size_t i = 0; i < text_.size(); i += 128 << 10)
      sink(std::string_view(text_).substr(i, 128 << 10));
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ReadNotes() override { return std::string(); }
  absl::StatusOr<std::string> ReadModules() override { return std::string(); }
  absl::StatusOr<std::string> ReadModuleNotes(const std::string&) override { return std::string(); }

 private:
  std::string text_;
};

// Indexing a 121k-symbol kallsyms (what the recorder does once, at the
// first kernel IP), without the kernel's cost of generating the text.
void BM_KallsymsIndexLoad(benchmark::State& state) {
  for (auto _ : state) {
    KallsymsIndex index(std::make_unique<SyntheticKernel>(121000), [](const std::string&) {});
    benchmark::DoNotOptimize(index.Load());
  }
}
BENCHMARK(BM_KallsymsIndexLoad)->Unit(benchmark::kMillisecond);

// The per-flush call on samples whose kernel IPs were seen before (the
// steady state): 10 kernel frames per sample from 2000 hot IPs.
void BM_KallsymsTakeSeenIps(benchmark::State& state) {
  KallsymsIndex index(std::make_unique<SyntheticKernel>(121000), [](const std::string&) {});
  std::mt19937_64 rng(3);
  std::vector<uint64_t> hot(2000);
  for (uint64_t& ip : hot) ip = 0xffffffff81000000ull + rng() % (121000ull * 0x100);
  std::vector<formats::Sample> samples(1000);
  for (formats::Sample& s : samples) {
    for (int i = 0; i < 10; ++i) s.kernel_ips.push_back(hot[rng() % hot.size()]);
  }
  benchmark::DoNotOptimize(index.TakeNewSymbolsFor(samples));  // loads, stores them all once
  for (auto _ : state) benchmark::DoNotOptimize(index.TakeNewSymbolsFor(samples));
  state.SetItemsProcessed(state.iterations() * samples.size());
}
BENCHMARK(BM_KallsymsTakeSeenIps);

}  // namespace
}  // namespace ringprof::collector
