// A hand-made profile with counters and known ratios, for the derived
// columns, --color-by and sort tests. Sample types: samples, cycles (the
// sampling event), instructions, cache-misses, cache-references,
// page-faults. Stacks (leaf first), values in that order:
//   [compute, main]  20  20000  40000    4    400   0   IPC 2    MPKI 0.1  miss 1%
//   [chase, main]    30  30000  10000  500   1000   2   IPC 1/3  MPKI 50   miss 50%
//   [tiny, main]      2   2000    100   50     60  90   IPC 0.05 MPKI 500  miss 83.3%
//   [idle, main]      5   5000      0    0      0   0   no ratio (instructions 0)
//   [main]           10  10000  20000   10    100   8   IPC 2    MPKI 0.5  miss 10%
// main total: 67 samples, 67000 cycles, 70100 instructions, 564 misses,
// 1560 references, 100 page-faults.
#ifndef RINGPROF_TESTS_REPORT_COUNTER_PROFILE_H_
#define RINGPROF_TESTS_REPORT_COUNTER_PROFILE_H_

#include <string>
#include <vector>

#include "formats/profile.h"

namespace ringprof::testing {

inline formats::Profile CounterProfile() {
  formats::Profile p;
  p.sample_types = {{"samples", "count"},          {"cycles", "count"},
                    {"instructions", "count"},     {"cache-misses", "count"},
                    {"cache-references", "count"}, {"page-faults", "count"}};
  p.default_sample_type = "samples";
  p.period_type = {"cycles", "count"};
  p.period = 1000;
  p.counter_types = {"instructions", "cache-misses", "cache-references", "page-faults"};
  p.counter_scaling = {{1000, 1000}, {1000, 250}, {1000, 250}, {0, 0}};
  formats::ProfileMapping m;
  m.id = 1;
  m.memory_start = 0x1000;
  m.memory_limit = 0x9000;
  m.filename = "/bin/counters";
  m.has_functions = true;
  p.mappings.push_back(m);
  const std::vector<std::string> names = {"main", "compute", "chase", "tiny", "idle"};
  for (size_t i = 0; i < names.size(); ++i) {
    p.functions.push_back({i + 1, names[i], names[i], "", 0});
    p.locations.push_back({i + 10, 1, 0x1000 + 0x100 * i, {{i + 1, 0}}});
  }
  auto sample = [&](std::vector<uint64_t> ids, std::vector<int64_t> values) {
    formats::ProfileSample s;
    s.location_ids = std::move(ids);
    s.values = std::move(values);
    s.labels = {{"pid", "", 7, true}};
    p.samples.push_back(std::move(s));
  };
  sample({11, 10}, {20, 20000, 40000, 4, 400, 0});
  sample({12, 10}, {30, 30000, 10000, 500, 1000, 2});
  sample({13, 10}, {2, 2000, 100, 50, 60, 90});
  sample({14, 10}, {5, 5000, 0, 0, 0, 0});
  sample({10}, {10, 10000, 20000, 10, 100, 8});
  p.event_names = {"cycles"};
  p.sample_count = 67;
  p.duration_nanos = 1'000'000'000;
  return p;
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_REPORT_COUNTER_PROFILE_H_
