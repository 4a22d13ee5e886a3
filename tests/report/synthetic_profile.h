// A hand-made profile with known numbers, shared by the table, flame graph
// and pprof tests. Functions A, B, C, D; stacks (leaf first):
//   [C, B, A]      x3   cpu-clock 300
//   [B, A]         x2   cpu-clock 20
//   [A, B, A]      x1   cpu-clock 10   (recursion)
//   [{D in B}, A]  x4   cpu-clock 40   (D inlined into B: one location)
// Expected, samples:   self  total     cpu-clock: self total
//   A                    1     10                   10   370
//   B                    2     10                   20   370
//   C                    3      3                  300   300
//   D                    4      4                   40    40
#ifndef RINGPROF_TESTS_REPORT_SYNTHETIC_PROFILE_H_
#define RINGPROF_TESTS_REPORT_SYNTHETIC_PROFILE_H_

#include <string>

#include "formats/profile.h"

namespace ringprof::testing {

inline formats::Profile SyntheticProfile(const std::string& name_a = "A") {
  formats::Profile p;
  p.sample_types = {{"samples", "count"}, {"cpu-clock", "nanoseconds"}};
  p.default_sample_type = "samples";
  p.period_type = {"cpu-clock", "nanoseconds"};
  p.period = 10;
  p.mappings.push_back({.id = 1,
                        .memory_start = 0x1000,
                        .memory_limit = 0x9000,
                        .file_offset = 0,
                        .filename = "/bin/synthetic",
                        .build_id = "abcdef",
                        .has_functions = true,
                        .has_filenames = true,
                        .has_line_numbers = true,
                        .has_inline_frames = true});
  p.functions = {{1, name_a, name_a, "a.cc", 1},
                 {2, "B", "B", "b.cc", 2},
                 {3, "C", "C", "c.cc", 3},
                 {4, "D", "D", "d.cc", 4}};
  // Location ids 10.. : A, B, C, {D inlined into B}, A (another address).
  p.locations = {{10, 1, 0x1100, {{1, 11}}},
                 {11, 1, 0x1200, {{2, 21}}},
                 {12, 1, 0x1300, {{3, 31}}},
                 {13, 1, 0x1400, {{4, 41}, {2, 22}}},
                 {14, 1, 0x1180, {{1, 12}}}};
  auto sample = [&](std::vector<uint64_t> ids, int64_t n, int64_t ns) {
    formats::ProfileSample s;
    s.location_ids = std::move(ids);
    s.values = {n, ns};
    s.labels = {{"pid", "", 42, true}, {"comm", "synth", 0, false}};
    p.samples.push_back(std::move(s));
  };
  sample({12, 11, 10}, 3, 300);
  sample({11, 10}, 2, 20);
  sample({14, 11, 10}, 1, 10);
  sample({13, 10}, 4, 40);
  p.event_names = {"cpu-clock"};
  p.sample_count = 10;
  p.duration_nanos = 1'500'000'000;
  return p;
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_REPORT_SYNTHETIC_PROFILE_H_
