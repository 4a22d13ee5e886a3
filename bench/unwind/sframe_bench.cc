// SFrame decoding and table building on the largest .sframe the build
// makes (unwind_many_functions: 50000 FDEs). Set RINGPROF_SFRAME_BENCH_ELF
// to measure another binary. Figures: FREs/s for parsing, rows/s for
// building the table, lookups/s for the table and the format's own lookup.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "unwind/sframe.h"

namespace ringprof::unwind {
namespace {

std::string BenchPath() {
  const char* env = std::getenv("RINGPROF_SFRAME_BENCH_ELF");
  return env != nullptr ? env : SFRAME_BENCH_ELF;
}

const SframeSection& Section() {
  static const SframeSection* s = [] {
    absl::StatusOr<SframeSection> parsed = ReadSframeFromElf(BenchPath());
    if (!parsed.ok()) {
      std::fprintf(stderr, "sframe_bench: %s\n", std::string(parsed.status().message()).c_str());
      std::abort();
    }
    return new SframeSection(*std::move(parsed));
  }();
  return *s;
}

void BM_ReadSframeFromElf(benchmark::State& state) {
  const std::string path = BenchPath();
  size_t fres = 0;
  for (auto _ : state) {
    absl::StatusOr<SframeSection> s = ReadSframeFromElf(path);
    if (!s.ok()) state.SkipWithError(std::string(s.status().message()).c_str());
    fres = s->fres.size();
    benchmark::DoNotOptimize(s);
  }
  state.counters["FREs"] = static_cast<double>(fres);
  state.counters["FREs/s"] = benchmark::Counter(static_cast<double>(fres) * state.iterations(),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadSframeFromElf)->Unit(benchmark::kMillisecond);

void BM_BuildTableFromSframe(benchmark::State& state) {
  const SframeSection& s = Section();
  size_t rows = 0;
  for (auto _ : state) {
    absl::StatusOr<UnwindTable> t = BuildTableFromSframe(s);
    rows = t->rows.size();
    benchmark::DoNotOptimize(t);
  }
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows) * state.iterations(),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BuildTableFromSframe)->Unit(benchmark::kMillisecond);

std::vector<uint64_t> RandomPcs(const SframeSection& s) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> pcs(4096);
  for (uint64_t& pc : pcs) {
    const SframeFde& f = s.fdes[rng() % s.fdes.size()];
    pc = f.func_start + (f.func_size ? rng() % f.func_size : 0);
  }
  return pcs;
}

void BM_TableFind(benchmark::State& state) {
  const SframeSection& s = Section();
  UnwindTable t = *BuildTableFromSframe(s);
  std::vector<uint64_t> pcs = RandomPcs(s);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(t.Find(pcs[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TableFind);

void BM_SframeLookup(benchmark::State& state) {
  const SframeSection& s = Section();
  std::vector<uint64_t> pcs = RandomPcs(s);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(s.Lookup(pcs[i++ & 4095]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SframeLookup);

}  // namespace
}  // namespace ringprof::unwind

BENCHMARK_MAIN();
