#include "report/diff.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "report/flamegraph_internal.h"

namespace ringprof::report {
namespace {

// The metric's index in each profile, by the same name.
absl::StatusOr<std::pair<size_t, size_t>> MetricIndexes(const formats::Profile& base,
                                                        const formats::Profile& next,
                                                        const std::string& metric) {
  ASSIGN_OR_RETURN(size_t in_new, MetricIndex(next, metric));
  absl::StatusOr<size_t> in_base = MetricIndex(base, next.sample_types[in_new].type);
  if (!in_base.ok())
    return absl::InvalidArgumentError(absl::StrCat("BASE: ", in_base.status().message()));
  return std::make_pair(*in_base, in_new);
}

int64_t Self(const FlameGraph& g, uint32_t n, size_t m) {
  int64_t self = g.nodes[n].values[m];
  for (uint32_t c : g.nodes[n].children) self -= g.nodes[c].values[m];
  return self;
}

double Share(int64_t v, int64_t total) {
  return total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0.0;
}

// For each NEW node, the BASE node at the same path, or -1; and the BASE
// subtrees with no NEW counterpart (their top nodes).
struct Matching {
  std::vector<int64_t> base_of;           // indexed by NEW node
  std::vector<uint32_t> base_only_roots;  // BASE nodes
};

Matching Match(const FlameGraph& base, const FlameGraph& next) {
  Matching out;
  out.base_of.assign(next.nodes.size(), -1);
  std::vector<bool> base_matched(base.nodes.size(), false);
  std::vector<std::pair<uint32_t, uint32_t>> stack = {{0, 0}};  // (new, base)
  out.base_of[0] = 0;
  base_matched[0] = true;
  while (!stack.empty()) {
    auto [n, b] = stack.back();
    stack.pop_back();
    // Children of both are sorted by name: merge.
    const std::vector<uint32_t>& nc = next.nodes[n].children;
    const std::vector<uint32_t>& bc = base.nodes[b].children;
    size_t i = 0, j = 0;
    while (i < nc.size() && j < bc.size()) {
      const std::string& nn = next.nodes[nc[i]].name;
      const std::string& bn = base.nodes[bc[j]].name;
      if (nn < bn) {
        ++i;
      } else if (bn < nn) {
        ++j;
      } else {
        out.base_of[nc[i]] = bc[j];
        base_matched[bc[j]] = true;
        stack.emplace_back(nc[i], bc[j]);
        ++i;
        ++j;
      }
    }
  }
  // Top-most unmatched BASE nodes: unmatched nodes whose parent matched.
  for (uint32_t p = 0; p < base.nodes.size(); ++p) {
    if (!base_matched[p]) continue;
    for (uint32_t c : base.nodes[p].children)
      if (!base_matched[c]) out.base_only_roots.push_back(c);
  }
  return out;
}

std::string Signed(double share) { return absl::StrFormat("%+.2f%%", 100 * share); }

}  // namespace

absl::StatusOr<std::string> RenderDiffFlameGraphSvg(const formats::Profile& base,
                                                    const formats::Profile& next,
                                                    const DiffGraphOptions& options) {
  const FlameGraphOptions& o = options.graph;
  if (o.width < 100)
    return absl::InvalidArgumentError(absl::StrCat("width ", o.width, " is below 100 pixels"));
  ASSIGN_OR_RETURN(auto indexes, MetricIndexes(base, next, o.metric));
  // Not a structured binding: clang before 16 cannot capture one in the lambdas below.
  const size_t mb = indexes.first, mn = indexes.second;
  const FlameGraph gb = BuildFlameGraph(base);
  const FlameGraph gn = BuildFlameGraph(next);
  const Matching match = Match(gb, gn);
  const int64_t total_b = gb.nodes[0].values[mb], total_n = gn.nodes[0].values[mn];
  const std::string& metric_name = next.sample_types[mn].type;

  // Per NEW node: self and inclusive share changes.
  std::vector<double> delta(gn.nodes.size()), delta_incl(gn.nodes.size());
  double max_abs = 0;
  for (uint32_t n = 0; n < gn.nodes.size(); ++n) {
    const int64_t b = match.base_of[n];
    const double base_self = b < 0 ? 0 : Share(Self(gb, static_cast<uint32_t>(b), mb), total_b);
    const double base_incl = b < 0 ? 0 : Share(gb.nodes[b].values[mb], total_b);
    delta[n] = Share(Self(gn, n, mn), total_n) - base_self;
    delta_incl[n] = Share(gn.nodes[n].values[mn], total_n) - base_incl;
    if (internal::IsDrawn(gn, o, mn, n)) max_abs = std::max(max_abs, std::abs(delta[n]));
  }
  uint64_t base_only = 0;
  double base_only_share = 0;
  for (uint32_t b : match.base_only_roots) {
    if (gb.nodes[b].values[mb] == 0) continue;
    ++base_only;
    base_only_share += Share(gb.nodes[b].values[mb], total_b);
  }

  internal::SvgSpec spec;
  spec.metric = mn;
  spec.unit_name = metric_name == "samples"
                       ? metric_name
                       : absl::StrCat(metric_name, " (", next.sample_types[mn].unit, ")");
  spec.lines.push_back(absl::StrCat(
      "width: ", metric_name, " in ", options.new_label, "; colour: change of each frame's self ",
      metric_name, " as a share of its profile's total, ", options.base_label, " -> ",
      options.new_label, " (each normalised to its own total): red grew, blue shrank"));
  spec.lines.push_back(
      base_only == 0
          ? absl::StrCat("every frame of ", options.base_label, " is in ", options.new_label)
          : absl::StrFormat("%d frame(s) only in %s (%.2f%% of its %s) are not drawn", base_only,
                            options.base_label, 100 * base_only_share, metric_name));
  spec.lines.push_back(absl::StrCat(options.base_label, ": ", total_b, " ", metric_name, "; ",
                                    options.new_label, ": ", total_n, " ", metric_name));
  for (const std::string& c : base.comments)
    spec.lines.push_back(absl::StrCat(options.base_label, ": ", c));
  for (const std::string& c : next.comments)
    spec.lines.push_back(absl::StrCat(options.new_label, ": ", c));

  spec.style = [&](uint32_t n) {
    const double s = max_abs > 0 ? std::abs(delta[n]) / max_abs : 0;
    // 0.5 is the neutral middle of the blue -> light -> red gradient.
    const double t = delta[n] >= 0 ? 0.5 + 0.5 * s : 0.5 - 0.5 * s;
    const int64_t b = match.base_of[n];
    std::string note =
        b < 0 ? absl::StrCat("only in ", options.new_label, "; self share ", Signed(delta[n]))
              : absl::StrCat("self share ", Signed(delta[n]), ", inclusive share ",
                             Signed(delta_incl[n]), " (", options.base_label, " ",
                             gb.nodes[b].values[mb], " ", metric_name, ")");
    return internal::FrameStyle{internal::GradientColor(t), std::move(note)};
  };
  spec.defs =
      absl::StrCat("<linearGradient id=\"diff-gradient\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">",
                   internal::GradientStops(), "</linearGradient>");
  spec.legend_height = o.font_size + 12;
  spec.legend = [&](double y) {
    return internal::GradientLegend(o, y, absl::StrCat("change of self share of ", metric_name),
                                    Signed(-max_abs), Signed(max_abs), "diff-gradient", "");
  };
  return internal::RenderSvg(gn, o, spec);
}

absl::StatusOr<std::string> DiffFoldedStacks(const formats::Profile& base,
                                             const formats::Profile& next,
                                             const std::string& metric) {
  ASSIGN_OR_RETURN(auto indexes, MetricIndexes(base, next, metric));
  std::map<std::string, std::pair<int64_t, int64_t>> stacks;
  for (auto& [stack, v] : internal::FoldedSelf(BuildFlameGraph(base), indexes.first))
    stacks[stack].first += v;
  for (auto& [stack, v] : internal::FoldedSelf(BuildFlameGraph(next), indexes.second))
    stacks[stack].second += v;
  std::string out;
  for (const auto& [stack, v] : stacks)
    absl::StrAppend(&out, stack, " ", v.first, " ", v.second, "\n");
  return out;
}

}  // namespace ringprof::report
