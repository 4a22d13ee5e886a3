// What the kernel's verifier spends on the sample program, which every
// `ringprof record` pays in system CPU at start-up: loads the program the
// way the recorder does (BpfSampler::Load) in each configuration it can be
// loaded in (frame pointers; tables, as --call-graph auto/sframe/ehframe;
// tables with --bpf-self-timing; tables with two counters), with the
// verifier's statistics on (BpfSamplerOptions::verifier_stats), and prints
// them with the load's wall and CPU time. See docs/PERFORMANCE.md.
//
//   build/bench/collector/bench_bpf_verifier [REPEATS]     (as root)
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "collector/bpf_sampler.h"

namespace {

double Seconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
}

double Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Config {
  const char* name;
  bool tables;
  bool self_timing;
  uint32_t counters;
};

// Loads once and prints the figures; false on failure.
bool LoadOnce(const Config& c) {
  std::string stats;
  ringprof::collector::BpfSamplerOptions o;
  o.ring_bytes = 1u << 20;
  o.use_tables = c.tables;
  o.unwind_rows = c.tables ? 4u << 20 : 0;  // --unwind-mem's default, 32 MiB
  o.self_timing = c.self_timing;
  o.n_counters = c.counters;
  o.verifier_stats = &stats;
  rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  const double start = Now();
  auto s = ringprof::collector::BpfSampler::Load(o, [](absl::Span<const uint8_t>) {});
  const double wall = Now() - start;
  getrusage(RUSAGE_SELF, &after);
  if (!s.ok()) {
    std::fprintf(stderr, "bench_bpf_verifier: %s: %s\n", c.name, s.status().ToString().c_str());
    return false;
  }
  std::printf("%s: load %.1f ms wall, %.1f ms system + %.1f ms user CPU\n%s\n", c.name, wall * 1e3,
              (Seconds(after.ru_stime) - Seconds(before.ru_stime)) * 1e3,
              (Seconds(after.ru_utime) - Seconds(before.ru_utime)) * 1e3, stats.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 1;
  const Config configs[] = {
      {"fp", false, false, 0},
      {"tables", true, false, 0},
      {"tables + self-timing", true, true, 0},
      {"tables + 2 counters", true, false, 2},
  };
  for (int r = 0; r < repeats; ++r) {
    for (const Config& c : configs) {
      if (!LoadOnce(c)) return 1;
    }
  }
  return 0;
}
