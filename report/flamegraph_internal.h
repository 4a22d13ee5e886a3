// Internal to report/: the SVG frame renderer and folded-stack walk shared
// by the flame graph (hash or ratio colours) and the differential graph.
// What changes between them is only the fill and hover note of each frame,
// the lines under the title and the legend, so those come in as callbacks.
#ifndef RINGPROF_REPORT_FLAMEGRAPH_INTERNAL_H_
#define RINGPROF_REPORT_FLAMEGRAPH_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "report/flamegraph.h"

namespace ringprof::report::internal {

struct FrameStyle {
  std::string fill;  // "rgb(r,g,b)"
  std::string note;  // appended to the hover text ("" for none)
};

struct SvgSpec {
  size_t metric = 0;               // value index that sizes frames
  std::string unit_name;           // "samples", "cycles (count)"
  std::vector<std::string> lines;  // under the title: summary, subtitle
  // Legend drawn in a band of legend_height pixels under `lines`, or none.
  double legend_height = 0;
  std::function<std::string(double y)> legend;
  std::string defs;  // SVG <defs> content (gradients)
  std::function<FrameStyle(uint32_t node)> style;
};

std::string RenderSvg(const FlameGraph& g, const FlameGraphOptions& o, const SvgSpec& spec);

// Whether node `n` is drawn: its width is at least o.min_width pixels.
bool IsDrawn(const FlameGraph& g, const FlameGraphOptions& o, size_t metric, uint32_t n);

// Colour at t in [0, 1] on the blue -> light -> red gradient, and the stops
// (offset, colour) that draw the same gradient in a legend.
std::string GradientColor(double t);
std::string GradientStops();

// (stack "a;b;c", self value) for every node with a nonzero self value of
// `metric`, in tree order. ';' inside names becomes ':', and names that are
// not printable text are escaped (EscapeIfNotPrintable), newlines included.
std::vector<std::pair<std::string, int64_t>> FoldedSelf(const FlameGraph& g, size_t metric);

// One centred legend row at height y: "name lo [gradient bar] hi", then,
// when `none_label` is not empty, a grey swatch and that label (frames the
// gradient does not apply to). `gradient_id` names a <linearGradient> in
// SvgSpec::defs.
std::string GradientLegend(const FlameGraphOptions& o, double y, const std::string& name,
                           const std::string& lo, const std::string& hi,
                           const std::string& gradient_id, const std::string& none_label);

// Approximate text width in pixels for the SVG's font.
double TextWidth(std::string_view s, const FlameGraphOptions& o);

}  // namespace ringprof::report::internal

#endif  // RINGPROF_REPORT_FLAMEGRAPH_INTERNAL_H_
