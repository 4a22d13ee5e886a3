// SymbolizeVaddrs throughput on the gtest fixture binary (-O2 -g, ~5 MB):
// cold (open + index on first use, per iteration) and warm (index built).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "symbolizer/symbolizer.h"

namespace {

using ringprof::symbolizer::ElfSymbolizer;
using ringprof::symbolizer::SymbolizerOptions;

// Random addresses inside .text, fixed seed (range from readelf).
std::vector<uint64_t> TextAddresses(const std::string& binary, size_t count) {
  std::string cmd = "readelf -SW '" + binary +
                    "' | awk '$2==\".text\"{print $4, $6} $3==\".text\"{print $5, $7}'";
  FILE* pipe = popen(cmd.c_str(), "r");
  unsigned long long start = 0, size = 0;
  if (pipe != nullptr) {
    if (std::fscanf(pipe, "%llx %llx", &start, &size) != 2) size = 0;
    pclose(pipe);
  }
  std::vector<uint64_t> out;
  if (size == 0) return out;
  std::mt19937_64 rng(1);
  for (size_t i = 0; i < count; ++i) out.push_back(start + rng() % size);
  return out;
}

void BM_SymbolizeCold(benchmark::State& state) {
  const std::vector<uint64_t> addrs = TextAddresses(SYMBOLIZE_BENCH_BINARY, state.range(0));
  if (addrs.empty()) {
    state.SkipWithError("cannot read .text of the fixture binary");
    return;
  }
  size_t ok = 0;
  for (auto _ : state) {
    auto elf = ElfSymbolizer::Open(SYMBOLIZE_BENCH_BINARY, SymbolizerOptions{});
    if (!elf.ok()) {
      state.SkipWithError(std::string(elf.status().message()).c_str());
      return;
    }
    auto results = (*elf)->SymbolizeVaddrs(addrs);
    ok = 0;
    for (const auto& r : results) ok += r.status.ok();
    benchmark::DoNotOptimize(results);
  }
  state.SetItemsProcessed(state.iterations() * addrs.size());
  state.counters["ok_fraction"] = static_cast<double>(ok) / addrs.size();
}
BENCHMARK(BM_SymbolizeCold)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_SymbolizeWarm(benchmark::State& state) {
  const std::vector<uint64_t> addrs = TextAddresses(SYMBOLIZE_BENCH_BINARY, state.range(0));
  auto elf = ElfSymbolizer::Open(SYMBOLIZE_BENCH_BINARY, SymbolizerOptions{});
  if (addrs.empty() || !elf.ok()) {
    state.SkipWithError("cannot open the fixture binary");
    return;
  }
  (*elf)->SymbolizeVaddrs(addrs);  // build the index and the name cache
  for (auto _ : state) {
    auto results = (*elf)->SymbolizeVaddrs(addrs);
    benchmark::DoNotOptimize(results);
  }
  state.SetItemsProcessed(state.iterations() * addrs.size());
}
BENCHMARK(BM_SymbolizeWarm)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
