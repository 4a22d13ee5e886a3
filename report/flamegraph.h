// Flame graphs: folded stacks and a self-contained interactive SVG.
//
// Both are drawn from a FlameGraph: the profile's samples merged into a
// call tree, root to leaf, with inline chains expanded outermost first (the
// physical function, then the functions inlined into it). Every node keeps
// one value per profile sample type, so the same tree can later be drawn
// with the width from one metric and the colour from a ratio of two (a CPI
// or cache-miss flame graph) or from the difference of two profiles
// (differential graphs): only ColorMode and the colour function change.
//
// The SVG embeds its own script and style (no external resources): hover
// shows name, value and percentage; click zooms into a frame (the "Reset
// zoom" control or the root undoes it); "Search" takes a regex, highlights
// matches and prints "Matched: x%". Frames narrower than min_width pixels
// are left out, as flamegraph.pl does, which keeps big profiles small.
// By default colours are a hash of the function name, so a function keeps
// its colour across graphs; the hue range tells kernel from user frames.
// With color_by = "A/B" the colour is the frame's A/B ratio on a gradient
// with a legend, and hover shows the ratio.
#ifndef RINGPROF_REPORT_FLAMEGRAPH_H_
#define RINGPROF_REPORT_FLAMEGRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "formats/profile.h"

namespace ringprof::report {

enum class FrameKind : uint8_t { kRoot, kUser, kKernel };

struct FlameNode {
  std::string name;
  FrameKind kind = FrameKind::kUser;
  std::vector<int64_t> values;     // inclusive, one per FlameGraph::value_types
  std::vector<uint32_t> children;  // node indexes, sorted by name once built
};

struct FlameGraph {
  std::vector<formats::ValueType> value_types;
  std::vector<FlameNode> nodes;    // nodes[0] is the root ("all")
  uint32_t max_depth = 0;          // deepest frame, root = 0
  std::vector<std::string> names;  // interned function names
};

FlameGraph BuildFlameGraph(const formats::Profile& profile);

// Index of sample type `metric` ("" means the profile's default sample
// type), or InvalidArgument listing the valid names.
absl::StatusOr<size_t> MetricIndex(const formats::Profile& profile, const std::string& metric);

// Folded stacks: "root;...;leaf <value>\n", one line per unique stack with a
// nonzero value for `metric`, lines sorted. ';' inside a name becomes ':',
// and a name that is not printable text is escaped (base/escape.h), so a
// newline in a name cannot start a line.
absl::StatusOr<std::string> FoldedStacks(const formats::Profile& profile,
                                         const std::string& metric);

enum class ColorMode : uint8_t {
  kHashByName,    // hue range by frame kind, shade by a hash of the name
  kRatio,         // FlameGraphOptions::color_by: gradient by A/B per frame
  kDifferential,  // report/diff.h: red grew, blue shrank
};

struct FlameGraphOptions {
  std::string title = "Flame Graph";
  int width = 1200;        // pixels
  double min_width = 0.1;  // pixels; narrower frames are omitted
  std::string metric;      // sample type sizing frames; "" = default type
  ColorMode color = ColorMode::kHashByName;
  // "A/B" (two sample types): colour each frame by A/B summed over the
  // frame (inclusive) instead of by name; sets color to kRatio. The
  // gradient runs blue (lowest ratio drawn) to red (highest), on a log
  // scale when the lowest is positive and the highest is at least 10x it,
  // else linear; frames with B = 0 are grey. A legend shows the range.
  // `--metric cycles --color-by cache-misses/instructions` is the
  // cache-miss flame graph.
  std::string color_by;
  int frame_height = 16;
  int font_size = 12;
};

// The two sample types of a "A/B" ratio. Type names may themselves hold
// '/' (perf's "cpu/event=.../"): every split point is tried.
struct RatioSpec {
  size_t numerator = 0;
  size_t denominator = 0;
  std::string name;  // "A/B"
};
absl::StatusOr<RatioSpec> ParseRatio(const formats::Profile& profile, const std::string& a_over_b);

absl::StatusOr<std::string> RenderFlameGraphSvg(const formats::Profile& profile,
                                                const FlameGraphOptions& options);

// XML text/attribute escaping (& < > " '). Text that is not printable
// (bytes that are not UTF-8, control characters) is first escaped with
// EscapeIfNotPrintable (base/escape.h), since XML 1.0 cannot hold it.
std::string XmlEscape(std::string_view s);

}  // namespace ringprof::report

#endif  // RINGPROF_REPORT_FLAMEGRAPH_H_
