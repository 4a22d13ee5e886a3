// Detects counters whose counts arrive in bursts shorter than the sampling
// period, where the per-sample attribution of --counters is coarse.
//
// A sample is charged its task's counts since that task's previous sample.
// When a counter advances steadily over many periods, its samples charge
// the right stacks. When it advances in bursts that end within one period
// (a phase of page faults shorter than a sampling interval), the whole
// burst is charged to the next sample's stack, which may already be in
// another function. Such bursts show as isolated runs: a sample or two
// with a large delta between samples with almost none. When most of a
// counter's total comes in runs of at most two samples, reports say so and
// suggest sampling on the counter itself (-e COUNTER -c N), which charges
// every N events exactly.
#ifndef RINGPROF_REPORT_COUNTER_BURSTS_H_
#define RINGPROF_REPORT_COUNTER_BURSTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "formats/recording.h"

namespace ringprof::report {

struct CounterBurst {
  size_t counter = 0;           // index into Recording::counters
  double short_run_share = 0;   // of the counter's total, in runs of 1-2 samples
  uint64_t active_samples = 0;  // samples that carried a real share of it
  uint64_t total = 0;
};

// Fewer samples carrying a counter than this say nothing either way.
inline constexpr uint64_t kMinBurstEvidence = 20;
// Share of a counter's total in short runs above which reports warn.
inline constexpr double kBurstShareThreshold = 0.5;

// Counters of `samples` (Recording::counters order) that come in short
// bursts; `samples` in any order.
std::vector<CounterBurst> FindCounterBursts(absl::Span<const formats::Sample* const> samples,
                                            size_t n_counters);

// One line for a report: what was seen, why it matters, what to do.
std::string CounterBurstWarning(const CounterBurst& burst, const std::string& counter_name,
                                uint64_t suggested_period);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_COUNTER_BURSTS_H_
