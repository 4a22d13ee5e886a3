// Throughput of the report path on a synthetic recording of 100k samples:
// BuildProfile (frame collection, batch symbolization, aggregation), the
// function table (also sorted by a derived column), folded stacks, SVG
// rendering (hash and --color-by ratio colours), the differential graph and
// pprof encoding.
//
// The recording maps a real ELF (tests/report's report_target when built,
// else this benchmark's own binary), so symbolization is real libdw work;
// stacks are 8-24 frames drawn from 2000 offsets with a fixed seed, plus a
// kernel part resolved against a 20k-symbol kallsyms text.
#include <benchmark/benchmark.h>

#include <fstream>
#include <random>

#include "absl/strings/str_format.h"
#include "formats/pprof.h"
#include "report/diff.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"
#include "report/table.h"

namespace ringprof::report {
namespace {

std::string ElfPath() {
  std::string p = RINGPROF_BENCH_ELF;
  if (std::ifstream(p).good()) return p;
  return "/proc/self/exe";
}

formats::Recording MakeRecording(size_t num_samples) {
  formats::Recording r;
  r.events = {{.name = "cpu-clock",
               .type = 1,
               .config = 0,
               .freq = false,
               .sample_freq_or_period = 1000000,
               .unit = "nanoseconds"}};
  r.counters = {{.name = "page-faults",
                 .type = 1,
                 .config = 2,
                 .freq = false,
                 .sample_freq_or_period = 0,
                 .unit = "count"}};
  r.start_time_ns = 1;
  r.end_time_ns = 10'000'000'001;
  std::string path = ElfPath();
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  uint64_t size = static_cast<uint64_t>(f.tellg());
  absl::StatusOr<std::string> build_id = symbolizer::ReadBuildId(path);
  r.mappings = {{.id = 1,
                 .pid = 10,
                 .time_ns = 0,
                 .start = 0x400000,
                 .end = 0x400000 + size,
                 .pgoff = 0,
                 .prot = 5,
                 .build_id = build_id.ok() ? *build_id : "",
                 .path = path}};
  for (uint32_t pid = 10; pid < 14; ++pid) {
    r.tasks.push_back({.kind = formats::TaskEventKind::kComm,
                       .time_ns = 0,
                       .pid = pid,
                       .tid = pid,
                       .ppid = 0,
                       .ptid = 0,
                       .comm = absl::StrFormat("proc%d", pid)});
  }
  for (int i = 0; i < 20000; ++i)
    absl::StrAppendFormat(&r.kallsyms, "%016x T ksym_%d\n", 0xffffffff81000000ull + i * 0x100ull,
                          i);

  std::mt19937_64 rng(42);
  std::vector<uint64_t> offsets(2000);
  for (uint64_t& o : offsets) o = 0x1000 + rng() % (size > 0x2000 ? size - 0x2000 : 0x1000);
  std::uniform_int_distribution<int> depth(8, 24);
  // Zipf-like: most stacks reuse a few hundred shapes, as real profiles do.
  std::vector<std::vector<uint64_t>> shapes(500);
  for (auto& s : shapes) {
    int d = depth(rng);
    for (int i = 0; i < d; ++i) s.push_back(offsets[rng() % offsets.size()]);
  }
  r.samples.reserve(num_samples);
  for (size_t i = 0; i < num_samples; ++i) {
    formats::Sample s;
    s.time_ns = 1 + i * 100000;
    s.pid = 10 + static_cast<uint32_t>(rng() % 4);
    s.tid = s.pid + static_cast<uint32_t>(rng() % 3);
    s.period = 1000000;
    const auto& shape = shapes[std::min<size_t>(rng() % shapes.size(), rng() % shapes.size())];
    for (uint64_t off : shape) s.user_frames.push_back({1, off});
    if (rng() % 4 == 0) {
      for (int k = 0; k < 5; ++k)
        s.kernel_ips.push_back(0xffffffff81000000ull + (rng() % 20000) * 0x100 + 8);
    }
    s.counter_deltas = {rng() % 3};
    r.samples.push_back(std::move(s));
  }
  return r;
}

const formats::Recording& Recording100k() {
  static const formats::Recording r = MakeRecording(100000);
  return r;
}

const formats::Profile& Profile100k() {
  static const formats::Profile p = [] {
    symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
    return *BuildProfile(Recording100k(), sym, BuildOptions{});
  }();
  return p;
}

void BM_BuildProfile(benchmark::State& state) {
  const formats::Recording& r = Recording100k();
  for (auto _ : state) {
    // A fresh Symbolizer each time: the cost includes opening the ELF.
    symbolizer::Symbolizer sym(symbolizer::SymbolizerOptions{});
    absl::StatusOr<formats::Profile> p = BuildProfile(r, sym, BuildOptions{});
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(r.samples.size()));
}
BENCHMARK(BM_BuildProfile)->Unit(benchmark::kMillisecond);

void BM_FunctionTable(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  for (auto _ : state) {
    absl::StatusOr<std::string> text = FormatReport(p, TableOptions{});
    benchmark::DoNotOptimize(text);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
}
BENCHMARK(BM_FunctionTable)->Unit(benchmark::kMillisecond);

void BM_Folded(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> folded = FoldedStacks(p, "");
    bytes += folded->size();
    benchmark::DoNotOptimize(folded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
  FlameGraph g = BuildFlameGraph(p);
  state.counters["profile_samples"] = static_cast<double>(p.samples.size());
  state.counters["locations"] = static_cast<double>(p.locations.size());
  state.counters["tree_nodes"] = static_cast<double>(g.nodes.size());
  state.counters["max_depth"] = g.max_depth;
}
BENCHMARK(BM_Folded)->Unit(benchmark::kMillisecond);

void BM_FlameGraphSvg(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> svg = RenderFlameGraphSvg(p, FlameGraphOptions{});
    bytes += svg->size();
    benchmark::DoNotOptimize(svg);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
}
BENCHMARK(BM_FlameGraphSvg)->Unit(benchmark::kMillisecond);

void BM_BuildFlameGraph(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  for (auto _ : state) {
    FlameGraph g = BuildFlameGraph(p);
    benchmark::DoNotOptimize(g);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
}
BENCHMARK(BM_BuildFlameGraph)->Unit(benchmark::kMillisecond);

void BM_FlameGraphSvgColorBy(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  FlameGraphOptions o;
  o.metric = "cpu-clock";
  o.color_by = "page-faults/cpu-clock";
  for (auto _ : state) {
    absl::StatusOr<std::string> svg = RenderFlameGraphSvg(p, o);
    benchmark::DoNotOptimize(svg);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
}
BENCHMARK(BM_FlameGraphSvgColorBy)->Unit(benchmark::kMillisecond);

// BASE and NEW are the same 100k-sample profile: the cost is matching every
// frame of NEW to BASE, which a real diff does too.
void BM_DiffFlameGraphSvg(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  for (auto _ : state) {
    absl::StatusOr<std::string> svg = RenderDiffFlameGraphSvg(p, p, DiffGraphOptions{});
    benchmark::DoNotOptimize(svg);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.samples.size()));
}
BENCHMARK(BM_DiffFlameGraphSvg)->Unit(benchmark::kMillisecond);

void BM_EncodePprofGzip(benchmark::State& state) {
  const formats::Profile& p = Profile100k();
  size_t bytes = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> gz = formats::EncodePprofGzip(p);
    bytes += gz->size();
    benchmark::DoNotOptimize(gz);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodePprofGzip)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringprof::report

BENCHMARK_MAIN();
