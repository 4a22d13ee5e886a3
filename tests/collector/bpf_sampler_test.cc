// The sample program as the kernel's verifier sees it (root: loading a
// perf_event program needs CAP_BPF and CAP_PERFMON; skipped otherwise).
#include "collector/bpf_sampler.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace ringprof::collector {
namespace {

// "processed N insns" from the verifier's statistics, or -1.
long ProcessedInstructions(const std::string& stats) {
  size_t at = stats.find("processed ");
  if (at == std::string::npos) return -1;
  return std::strtol(stats.c_str() + at + 10, nullptr, 10);
}

// The verifier walks every path of the table unwinder's per-frame step;
// when the step inlined its row search and its stack-window refill, that
// was 170,711 instructions and most of a second of system CPU at every
// `record` (docs/PERFORMANCE.md). With the search, and the refills of a
// frame's second read, out of line as global functions, verified once:
// 9,440 on kernel 6.18. The bound leaves room for other kernels and for
// growth, not for the old walk.
TEST(BpfSampler, VerifierChecksTheTableUnwinderInFewInstructions) {
  if (geteuid() != 0) GTEST_SKIP() << "loading the sample program needs root";
  struct Config {
    const char* name;
    bool tables;
    bool self_timing;
    uint32_t counters;
  };
  for (const Config& c : {Config{"fp", false, false, 0}, Config{"tables", true, false, 0},
                          Config{"tables + self-timing", true, true, 0},
                          Config{"tables + 2 counters", true, false, 2}}) {
    SCOPED_TRACE(c.name);
    std::string stats;
    BpfSamplerOptions o;
    o.ring_bytes = 1u << 20;
    o.use_tables = c.tables;
    o.unwind_rows = c.tables ? 1u << 16 : 0;
    o.self_timing = c.self_timing;
    o.n_counters = c.counters;
    o.verifier_stats = &stats;
    auto s = BpfSampler::Load(o, [](absl::Span<const uint8_t>) {});
    ASSERT_TRUE(s.ok()) << s.status();
    std::printf("[verifier] %s:\n%s", c.name, stats.c_str());
    const long processed = ProcessedInstructions(stats);
    ASSERT_GT(processed, 0) << stats;
    EXPECT_LT(processed, 40000) << stats;
  }
}

}  // namespace
}  // namespace ringprof::collector
