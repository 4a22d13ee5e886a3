// Table building from .eh_frame: rows/s for libc and for the largest
// binary at hand (libLLVM when installed, else the ringprof binary).
// Each iteration is a whole conversion, file open and build-id included.
#include <unistd.h>

#include <string>

#include "benchmark/benchmark.h"
#include "unwind/eh_frame.h"

namespace {

void BM_BuildTableFromEhFrame(benchmark::State& state, const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) {
    state.SkipWithError((path + " is not readable").c_str());
    return;
  }
  ringprof::unwind::EhFrameStats stats;
  for (auto _ : state) {
    absl::StatusOr<ringprof::unwind::UnwindTable> table =
        ringprof::unwind::BuildTableFromEhFrame(path, &stats);
    if (!table.ok()) {
      state.SkipWithError(std::string(table.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(table->rows.data());
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["rows"] = static_cast<double>(stats.rows);
  state.counters["fdes"] = static_cast<double>(stats.fdes);
  state.counters["cfi_queries"] = static_cast<double>(stats.cfi_queries);
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(stats.rows) * iterations, benchmark::Counter::kIsRate);
}

std::string LargestBinary() {
  for (const char* p :
       {"/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1", "/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1"}) {
    if (access(p, R_OK) == 0) return p;
  }
  return RINGPROF_BINARY;
}

BENCHMARK_CAPTURE(BM_BuildTableFromEhFrame, libc,
                  std::string("/usr/lib/x86_64-linux-gnu/libc.so.6"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BuildTableFromEhFrame, libstdcxx,
                  std::string("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BuildTableFromEhFrame, largest, LargestBinary())
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
