// Differential flame graphs: what changed from a BASE profile to a NEW one.
//
// The graph is NEW's flame graph (frame widths are NEW's values of the
// metric) coloured by change. Each profile is first normalised to its own
// total of the metric, so a longer or busier run does not colour
// everything red: a frame's change is
//     delta = self_NEW / total_NEW - self_BASE / total_BASE
// where self is the frame's own value (inclusive minus its children), as
// flamegraph.pl's differential mode does; the hover text also gives the
// inclusive change. Red means the frame's share grew, blue that it shrank;
// saturation is |delta| / max |delta| over the frames drawn, so the largest
// change is full colour. Frames are matched by their path from the root
// (function names), so the same code reached from another caller is a
// different frame.
//
// Frames only in BASE have no width in NEW and are not drawn; the subtitle
// says how many there were and what share of BASE they held.
//
// The folded form, "stack base new" per line (flamegraph.pl/difffolded.pl's
// two-column format), holds raw, unnormalised self values.
#ifndef RINGPROF_REPORT_DIFF_H_
#define RINGPROF_REPORT_DIFF_H_

#include <string>

#include "absl/status/statusor.h"
#include "formats/profile.h"
#include "report/flamegraph.h"

namespace ringprof::report {

inline constexpr char kDiffTitle[] = "Differential Flame Graph";

struct DiffGraphOptions {
  DiffGraphOptions() { graph.title = kDiffTitle; }
  // title (default below), width, min_width, metric ("" = NEW's default
  // sample type; it must exist in both), font and frame sizes. `color` and
  // `color_by` are ignored: the colour is the change.
  FlameGraphOptions graph;
  std::string base_label = "BASE";  // e.g. file names, for the subtitle
  std::string new_label = "NEW";
};

absl::StatusOr<std::string> RenderDiffFlameGraphSvg(const formats::Profile& base,
                                                    const formats::Profile& next,
                                                    const DiffGraphOptions& options);

// "a;b;c BASE NEW\n" per stack with a nonzero self value in either profile,
// lines sorted; the metric must exist in both.
absl::StatusOr<std::string> DiffFoldedStacks(const formats::Profile& base,
                                             const formats::Profile& next,
                                             const std::string& metric);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_DIFF_H_
