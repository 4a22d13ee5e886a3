#include "report/counter_bursts.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ringprof::report {

std::vector<CounterBurst> FindCounterBursts(absl::Span<const formats::Sample* const> samples,
                                            size_t n_counters) {
  std::vector<CounterBurst> out;
  if (n_counters == 0 || samples.empty()) return out;
  // Each task's samples in time order: a delta covers the time since the
  // same task's previous sample.
  absl::flat_hash_map<uint32_t, std::vector<const formats::Sample*>> by_tid;
  for (const formats::Sample* s : samples) by_tid[s->tid].push_back(s);
  for (auto& [tid, v] : by_tid) {
    std::stable_sort(v.begin(), v.end(), [](const formats::Sample* a, const formats::Sample* b) {
      return a->time_ns < b->time_ns;
    });
  }
  for (size_t c = 0; c < n_counters; ++c) {
    uint64_t total = 0;
    uint64_t nonzero = 0;
    for (const formats::Sample* s : samples) {
      if (c < s->counter_deltas.size() && s->counter_deltas[c] > 0) {
        total += s->counter_deltas[c];
        ++nonzero;
      }
    }
    if (nonzero == 0) continue;
    // A sample carries a real share when its delta is at least a tenth of
    // the mean nonzero delta; stray counts (a fault or two of stack growth)
    // do not join or split runs.
    const double floor = 0.1 * static_cast<double>(total) / static_cast<double>(nonzero);
    uint64_t active = 0;
    uint64_t in_short_runs = 0;
    for (const auto& [tid, v] : by_tid) {
      size_t run_len = 0;
      uint64_t run_sum = 0;
      auto end_run = [&] {
        if (run_len > 0 && run_len <= 2) in_short_runs += run_sum;
        run_len = 0;
        run_sum = 0;
      };
      for (const formats::Sample* s : v) {
        const uint64_t d = c < s->counter_deltas.size() ? s->counter_deltas[c] : 0;
        if (static_cast<double>(d) >= floor && d > 0) {
          ++run_len;
          run_sum += d;
          ++active;
        } else {
          end_run();
        }
      }
      end_run();
    }
    if (active < kMinBurstEvidence || total == 0) continue;
    const double share = static_cast<double>(in_short_runs) / static_cast<double>(total);
    if (share > kBurstShareThreshold) out.push_back({c, share, active, total});
  }
  return out;
}

std::string CounterBurstWarning(const CounterBurst& burst, const std::string& counter_name,
                                uint64_t suggested_period) {
  return absl::StrFormat(
      "%s arrives in bursts shorter than the sampling period (%.0f%% of its %d counts in runs "
      "of 1-2 samples): a burst is charged to the stack of the sample after it, which may be "
      "in another function; for exact attribution sample on it: ringprof record -e %s -c %d",
      counter_name, 100.0 * burst.short_run_share, burst.total, counter_name,
      std::max<uint64_t>(1, suggested_period));
}

}  // namespace ringprof::report
