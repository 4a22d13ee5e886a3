#include "report/flamegraph.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/escape.h"
#include "base/status_macros.h"
#include "report/flamegraph_internal.h"
#include "report/profile_builder.h"

namespace ringprof::report {
namespace {

struct Frame {
  uint32_t name_id;
  FrameKind kind;
};

// Frames of each location, outermost first (lines.back() first).
absl::flat_hash_map<uint64_t, std::vector<Frame>> LocationFrames(const formats::Profile& p,
                                                                 std::vector<std::string>& names) {
  absl::flat_hash_map<std::string_view, uint32_t> name_ids;
  absl::flat_hash_map<uint64_t, uint32_t> function_name;
  names.reserve(p.functions.size());
  for (const formats::ProfileFunction& f : p.functions) {
    auto [it, inserted] = name_ids.try_emplace(f.name, names.size());
    if (inserted) names.push_back(f.name);
    function_name[f.id] = it->second;
  }
  absl::flat_hash_map<uint64_t, FrameKind> mapping_kind;
  for (const formats::ProfileMapping& m : p.mappings)
    mapping_kind[m.id] = IsKernelMapping(m) ? FrameKind::kKernel : FrameKind::kUser;
  absl::flat_hash_map<uint64_t, std::vector<Frame>> out;
  for (const formats::ProfileLocation& loc : p.locations) {
    FrameKind kind = FrameKind::kUser;
    if (auto it = mapping_kind.find(loc.mapping_id); it != mapping_kind.end()) kind = it->second;
    std::vector<Frame>& frames = out[loc.id];
    for (auto line = loc.lines.rbegin(); line != loc.lines.rend(); ++line) {
      if (auto it = function_name.find(line->function_id); it != function_name.end())
        frames.push_back({it->second, kind});
    }
  }
  return out;
}

// FNV-1a: stable across runs and builds, unlike std::hash.
uint64_t NameHash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string HslToRgb(double h, double s, double l) {
  auto f = [&](double n) {
    double k = std::fmod(n + h / 30.0, 12.0);
    double a = s * std::min(l, 1 - l);
    return l - a * std::max(-1.0, std::min({k - 3, 9 - k, 1.0}));
  };
  return absl::StrFormat("rgb(%d,%d,%d)", static_cast<int>(std::lround(255 * f(0))),
                         static_cast<int>(std::lround(255 * f(8))),
                         static_cast<int>(std::lround(255 * f(4))));
}

std::string HashColor(const FlameNode& node) {
  if (node.kind == FrameKind::kRoot) return "rgb(200,200,200)";
  uint64_t h = NameHash(node.name);
  double u1 = static_cast<double>(h & 0xffff) / 65535.0;
  double u2 = static_cast<double>((h >> 16) & 0xffff) / 65535.0;
  double u3 = static_cast<double>((h >> 32) & 0xffff) / 65535.0;
  if (node.kind == FrameKind::kKernel)
    return HslToRgb(90 + 50 * u1, 0.45 + 0.25 * u2, 0.55 + 0.1 * u3);
  return HslToRgb(0 + 50 * u1, 0.75 + 0.2 * u2, 0.55 + 0.1 * u3);
}

std::string Label(std::string_view name, double width_px, double char_px) {
  long fit = std::lround(std::floor((width_px - 6) / char_px));
  if (fit < 3) return "";
  if (static_cast<long>(name.size()) <= fit) return std::string(name);
  // Cut on a UTF-8 character boundary.
  size_t cut = static_cast<size_t>(fit - 2);
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(Sv(name.substr(0, cut)), "..");
}

// Everything the browser runs: hover details, zoom, search. Kept in one
// raw string so the SVG needs nothing from outside.
constexpr char kScript[] = R"JS(
"use strict";
var frames, details, matched, resetButton, unit, total, plotWidth, padX, charWidth;
function num(g, name) { return parseFloat(g.getAttribute(name)); }
function init() {
  var root = document.documentElement;
  unit = root.getAttribute("data-unit");
  total = num(root, "data-total");
  plotWidth = num(root, "data-plot-width");
  padX = num(root, "data-pad");
  charWidth = num(root, "data-char-width");
  details = document.getElementById("details");
  matched = document.getElementById("matched");
  resetButton = document.getElementById("reset");
  frames = Array.prototype.slice.call(document.querySelectorAll("g.f"));
  frames.forEach(function (g) {
    g.addEventListener("mouseover", function () { details.textContent = describe(g); });
    g.addEventListener("mouseout", function () { details.textContent = " "; });
    g.addEventListener("click", function () { zoom(g); });
  });
  resetButton.addEventListener("click", unzoom);
  document.getElementById("search").addEventListener("click", searchPrompt);
  window.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "f") { e.preventDefault(); searchPrompt(); }
    if (e.key === "Escape") { unzoom(); clearSearch(); }
  });
}
function describe(g) {
  var v = num(g, "data-v");
  var pct = total > 0 ? (100 * v / total).toFixed(2) : "0.00";
  var note = g.getAttribute("data-note");
  return g.getAttribute("data-n") + " (" + v.toLocaleString() + " " + unit + ", " + pct + "%)" +
      (note ? "; " + note : "");
}
function label(t, name, widthPx) {
  var fit = Math.floor((widthPx - 6) / charWidth);
  if (fit < 3) { t.textContent = ""; return; }
  t.textContent = name.length <= fit ? name : name.substring(0, fit - 2) + "..";
}
function place(g, x, w) {
  var r = g.querySelector("rect"), t = g.querySelector("text");
  r.setAttribute("x", (padX + x * plotWidth).toFixed(2));
  r.setAttribute("width", (w * plotWidth).toFixed(2));
  t.setAttribute("x", (padX + x * plotWidth + 3).toFixed(2));
  label(t, g.getAttribute("data-n"), w * plotWidth);
}
function zoom(g) {
  var zx = num(g, "data-x"), zw = num(g, "data-w"), zd = num(g, "data-d"), eps = 1e-9;
  if (!(zw > 0)) return;
  frames.forEach(function (f) {
    var x = num(f, "data-x"), w = num(f, "data-w"), d = num(f, "data-d");
    if (d >= zd && x >= zx - eps && x + w <= zx + zw + eps) {
      f.style.display = ""; f.classList.remove("parent"); place(f, (x - zx) / zw, w / zw);
    } else if (d < zd && x <= zx + eps && x + w >= zx + zw - eps) {
      f.style.display = ""; f.classList.add("parent"); place(f, 0, 1);
    } else {
      f.style.display = "none";
    }
  });
  resetButton.classList.remove("hide");
}
function unzoom() {
  frames.forEach(function (f) {
    f.style.display = ""; f.classList.remove("parent");
    place(f, num(f, "data-x"), num(f, "data-w"));
  });
  resetButton.classList.add("hide");
}
function clearSearch() {
  frames.forEach(function (f) { f.classList.remove("match"); });
  matched.textContent = " ";
}
function searchPrompt() {
  var text = window.prompt("Search for functions (regular expression):", "");
  if (text === null) return;
  if (text === "") { clearSearch(); return; }
  var re;
  try { re = new RegExp(text); } catch (e) { window.alert("Invalid regular expression: " + e.message); return; }
  var spans = [];
  frames.forEach(function (f) {
    if (re.test(f.getAttribute("data-n"))) {
      f.classList.add("match");
      spans.push([num(f, "data-x"), num(f, "data-x") + num(f, "data-w")]);
    } else {
      f.classList.remove("match");
    }
  });
  // Nested matches (recursion, a callee of a match) count once.
  spans.sort(function (a, b) { return a[0] - b[0]; });
  var sum = 0, end = -1;
  spans.forEach(function (s) {
    if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; }
    else if (s[1] > end) { sum += s[1] - end; end = s[1]; }
  });
  matched.textContent = "Matched: " + (100 * sum).toFixed(1) + "%";
}
)JS";

constexpr char kStyle[] = R"CSS(
text { font-family: Verdana, "DejaVu Sans", sans-serif; fill: rgb(0,0,0); }
#title { text-anchor: middle; }
g.f text { pointer-events: none; }
g.f:hover rect { stroke: rgb(0,0,0); stroke-width: 0.5; cursor: pointer; }
g.f.parent rect { opacity: 0.5; }
g.f.match rect { fill: rgb(230,0,230); }
.button { cursor: pointer; fill: rgb(0,0,160); }
.button:hover { text-decoration: underline; }
.hide { display: none; }
#matched { text-anchor: end; }
)CSS";

}  // namespace

std::string XmlEscape(std::string_view raw) {
  // XML 1.0 forbids most control characters even as character references,
  // and bytes that are not UTF-8: escape those first (base/escape.h).
  const std::string text = EscapeIfNotPrintable(raw);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

FlameGraph BuildFlameGraph(const formats::Profile& profile) {
  FlameGraph g;
  g.value_types = profile.sample_types;
  const size_t nv = g.value_types.size();
  absl::flat_hash_map<uint64_t, std::vector<Frame>> frames = LocationFrames(profile, g.names);
  g.nodes.push_back({"all", FrameKind::kRoot, std::vector<int64_t>(nv), {}});
  // (parent node, name id) -> child node: one map for the whole tree is
  // much cheaper than a map per node.
  absl::flat_hash_map<std::pair<uint32_t, uint32_t>, uint32_t> child_of;
  for (const formats::ProfileSample& s : profile.samples) {
    const size_t n = std::min(nv, s.values.size());
    uint32_t node = 0;
    uint32_t depth = 0;
    for (size_t v = 0; v < n; ++v) g.nodes[0].values[v] += s.values[v];
    for (auto id = s.location_ids.rbegin(); id != s.location_ids.rend(); ++id) {
      auto it = frames.find(*id);
      if (it == frames.end()) continue;
      for (const Frame& f : it->second) {
        auto [child, inserted] =
            child_of.try_emplace(std::make_pair(node, f.name_id), g.nodes.size());
        uint32_t next = child->second;
        if (inserted) {
          g.nodes[node].children.push_back(next);
          g.nodes.push_back({g.names[f.name_id], f.kind, std::vector<int64_t>(nv), {}});
        }
        node = next;
        for (size_t v = 0; v < n; ++v) g.nodes[node].values[v] += s.values[v];
        g.max_depth = std::max(g.max_depth, ++depth);
      }
    }
  }
  for (FlameNode& n : g.nodes) {
    std::sort(n.children.begin(), n.children.end(),
              [&](uint32_t a, uint32_t b) { return g.nodes[a].name < g.nodes[b].name; });
  }
  return g;
}

absl::StatusOr<size_t> MetricIndex(const formats::Profile& profile, const std::string& metric) {
  const std::string& want = metric.empty() ? profile.default_sample_type : metric;
  if (want.empty() && !profile.sample_types.empty()) return 0;
  for (size_t i = 0; i < profile.sample_types.size(); ++i) {
    if (profile.sample_types[i].type == want) return i;
  }
  std::vector<std::string> valid;
  for (const formats::ValueType& t : profile.sample_types) valid.push_back(t.type);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown metric '", want,
      "' (the recording has: ", valid.empty() ? "none" : absl::StrJoin(valid, ", "), ")"));
}

absl::StatusOr<std::string> FoldedStacks(const formats::Profile& profile,
                                         const std::string& metric) {
  absl::StatusOr<size_t> m = MetricIndex(profile, metric);
  if (!m.ok()) return m.status();
  std::vector<std::pair<std::string, int64_t>> stacks =
      internal::FoldedSelf(BuildFlameGraph(profile), *m);
  std::vector<std::string> lines;
  lines.reserve(stacks.size());
  for (auto& [stack, self] : stacks) lines.push_back(absl::StrCat(stack, " ", self));
  std::sort(lines.begin(), lines.end());
  size_t total = 0;
  for (const std::string& l : lines) total += l.size() + 1;
  std::string out;
  out.reserve(total);
  for (const std::string& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

namespace internal {

std::string GradientLegend(const FlameGraphOptions& o, double y, const std::string& name,
                           const std::string& lo, const std::string& hi,
                           const std::string& gradient_id, const std::string& none_label) {
  const double h = o.font_size, bar_w = 240, gap = 8;
  double row_w = TextWidth(name, o) + TextWidth(lo, o) + bar_w + TextWidth(hi, o) + 3 * gap;
  if (!none_label.empty()) row_w += h + TextWidth(none_label, o) + 2 * gap;
  double x = std::max(10.0, (o.width - row_w) / 2);
  std::string out = "<g id=\"legend\">";
  auto text = [&](const std::string& s) {
    absl::StrAppend(&out, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\">%s</text>",
                                          x, y + h - 2, o.font_size - 1, XmlEscape(s)));
    x += TextWidth(s, o) + gap;
  };
  text(name);
  text(lo);
  absl::StrAppend(&out, absl::StrFormat("<rect id=\"legend-bar\" x=\"%.1f\" y=\"%.1f\" "
                                        "width=\"%.0f\" height=\"%.0f\" fill=\"url(#%s)\" "
                                        "stroke=\"rgb(120,120,120)\" stroke-width=\"0.5\"/>",
                                        x, y, bar_w, h, gradient_id));
  x += bar_w + gap;
  text(hi);
  if (!none_label.empty()) {
    absl::StrAppend(&out, absl::StrFormat("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.0f\" "
                                          "height=\"%.0f\" fill=\"rgb(190,190,190)\"/>",
                                          x, y, h, h));
    x += h + gap;
    text(none_label);
  }
  absl::StrAppend(&out, "</g>\n");
  return out;
}

double TextWidth(std::string_view s, const FlameGraphOptions& o) {
  return static_cast<double>(s.size()) * o.font_size * 0.59;
}

bool IsDrawn(const FlameGraph& g, const FlameGraphOptions& o, size_t metric, uint32_t n) {
  const int64_t total = g.nodes[0].values[metric];
  const int64_t v = g.nodes[n].values[metric];
  if (total <= 0 || v <= 0) return false;
  const double plot_w = o.width - 20;
  return static_cast<double>(v) / static_cast<double>(total) * plot_w >= o.min_width;
}

namespace {
struct Rgb {
  double r, g, b;
};
// Blue -> light grey -> red: readable black labels at every point.
constexpr Rgb kStops[] = {{70, 110, 220}, {235, 230, 225}, {220, 50, 40}};

std::string Css(const Rgb& c) {
  return absl::StrFormat("rgb(%d,%d,%d)", static_cast<int>(std::lround(c.r)),
                         static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
}
}  // namespace

std::string GradientColor(double t) {
  t = std::clamp(std::isfinite(t) ? t : 0.5, 0.0, 1.0);
  const Rgb& a = t < 0.5 ? kStops[0] : kStops[1];
  const Rgb& b = t < 0.5 ? kStops[1] : kStops[2];
  const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
  return Css({a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u});
}

std::string GradientStops() {
  return absl::StrCat("<stop offset=\"0%\" stop-color=\"", Css(kStops[0]),
                      "\"/><stop offset=\"50%\" stop-color=\"", Css(kStops[1]),
                      "\"/><stop offset=\"100%\" stop-color=\"", Css(kStops[2]), "\"/>");
}

std::vector<std::pair<std::string, int64_t>> FoldedSelf(const FlameGraph& g, size_t m) {
  std::vector<std::pair<std::string, int64_t>> out;
  // Iterative DFS; a node's self value (inclusive minus children) is the
  // count of the stack ending there. `prefix` holds "root;...;node" and
  // `ends[d]` its length at depth d.
  std::string prefix;
  std::vector<size_t> ends = {0};
  struct Item {
    uint32_t node;
    uint32_t depth;
  };
  std::vector<Item> stack = {{0, 0}};
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const FlameNode& n = g.nodes[it.node];
    if (it.node != 0) {
      prefix.resize(ends[it.depth - 1]);
      if (it.depth > 1) prefix += ';';
      const size_t start = prefix.size();
      // Printable text has no newline (a name that is not printable is
      // escaped); ';' separates frames.
      if (IsPrintableText(n.name)) {
        prefix += n.name;
      } else {
        AppendEscapedText(n.name, &prefix);
      }
      for (size_t i = start; i < prefix.size(); ++i) {
        if (prefix[i] == ';') prefix[i] = ':';
      }
      ends.resize(it.depth + 1);
      ends[it.depth] = prefix.size();
    }
    int64_t self = n.values[m];
    for (uint32_t c : n.children) self -= g.nodes[c].values[m];
    if (self != 0 && it.node != 0) out.emplace_back(prefix, self);
    for (auto c = n.children.rbegin(); c != n.children.rend(); ++c)
      stack.push_back({*c, it.depth + 1});
  }
  return out;
}

std::string RenderSvg(const FlameGraph& g, const FlameGraphOptions& o, const SvgSpec& spec) {
  const size_t m = spec.metric;
  const int64_t total = g.nodes[0].values[m];
  const double pad = 10, char_px = o.font_size * 0.59, fh = o.frame_height;
  const double plot_w = o.width - 2 * pad;
  // Room under the title for the summary lines (what was recorded and what
  // was lost, which every report shows) and the legend.
  const double line_h = o.font_size + 2;
  const double lines_end = o.font_size * 2 + static_cast<double>(spec.lines.size()) * line_h;
  const double legend_y = lines_end + o.font_size * 0.5;
  const double top = o.font_size * 3 + static_cast<double>(spec.lines.size()) * line_h +
                     (spec.legend ? spec.legend_height : 0);
  const double bottom = o.font_size * 2 + 10;
  const double height = top + (g.max_depth + 1) * fh + bottom;

  std::string out;
  out.reserve(4096 + g.nodes.size() * 256);
  absl::StrAppend(&out, "<?xml version=\"1.0\" standalone=\"no\"?>\n");
  absl::StrAppend(
      &out,
      absl::StrFormat(
          "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
          "viewBox=\"0 0 %d %.0f\" onload=\"init(evt)\" data-unit=\"%s\" data-total=\"%d\" "
          "data-plot-width=\"%.2f\" data-pad=\"%.0f\" data-char-width=\"%.3f\">\n",
          o.width, height, o.width, height, XmlEscape(spec.unit_name), total, plot_w, pad,
          char_px));
  if (!spec.defs.empty()) absl::StrAppend(&out, "<defs>", spec.defs, "</defs>\n");
  absl::StrAppend(&out, "<style type=\"text/css\"><![CDATA[", kStyle, "]]></style>\n");
  absl::StrAppend(&out, "<script type=\"text/ecmascript\"><![CDATA[", kScript, "]]></script>\n");
  absl::StrAppend(
      &out, absl::StrFormat(
                "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%.0f\" fill=\"rgb(248,248,248)\"/>\n",
                o.width, height));
  absl::StrAppend(
      &out, absl::StrFormat("<text id=\"title\" x=\"%.1f\" y=\"%d\" font-size=\"%d\">%s</text>\n",
                            o.width / 2.0, o.font_size * 2, o.font_size + 5, XmlEscape(o.title)));
  for (size_t i = 0; i < spec.lines.size(); ++i) {
    absl::StrAppend(
        &out, absl::StrFormat("<text class=\"summary\" x=\"%.1f\" y=\"%.0f\" "
                              "font-size=\"%d\" text-anchor=\"middle\">%s</text>\n",
                              o.width / 2.0, o.font_size * 3.0 + static_cast<double>(i) * line_h,
                              o.font_size - 1, XmlEscape(spec.lines[i])));
  }
  if (spec.legend) absl::StrAppend(&out, spec.legend(legend_y));
  absl::StrAppend(&out, absl::StrFormat("<text id=\"reset\" class=\"button hide\" x=\"%.0f\" "
                                        "y=\"%d\" font-size=\"%d\">Reset zoom</text>\n",
                                        pad, o.font_size * 2, o.font_size));
  absl::StrAppend(&out, absl::StrFormat("<text id=\"search\" class=\"button\" x=\"%.0f\" y=\"%d\" "
                                        "font-size=\"%d\" text-anchor=\"end\">Search</text>\n",
                                        o.width - pad, o.font_size * 2, o.font_size));
  absl::StrAppend(
      &out,
      absl::StrFormat("<text id=\"details\" x=\"%.0f\" y=\"%.0f\" font-size=\"%d\"> </text>\n", pad,
                      height - 10, o.font_size));
  absl::StrAppend(
      &out,
      absl::StrFormat("<text id=\"matched\" x=\"%.0f\" y=\"%.0f\" font-size=\"%d\"> </text>\n",
                      o.width - pad, height - 10, o.font_size));
  if (total <= 0) {
    absl::StrAppend(
        &out,
        absl::StrFormat("<text x=\"%.1f\" y=\"%.0f\" font-size=\"%d\" "
                        "text-anchor=\"middle\">no samples with a nonzero %s</text>\n",
                        o.width / 2.0, top + fh, o.font_size, XmlEscape(g.value_types[m].type)));
    absl::StrAppend(&out, "</svg>\n");
    return out;
  }

  struct Item {
    uint32_t node;
    uint32_t depth;
    int64_t offset;  // sum of values left of the frame
  };
  std::vector<Item> stack = {{0, 0, 0}};
  const double scale = 1.0 / static_cast<double>(total);
  const std::string unit = XmlEscape(spec.unit_name);
  while (!stack.empty()) {
    Item it = stack.back();
    stack.pop_back();
    const FlameNode& n = g.nodes[it.node];
    const int64_t v = n.values[m];
    const double fx = static_cast<double>(it.offset) * scale, fw = static_cast<double>(v) * scale;
    const double wpx = fw * plot_w;
    if (v <= 0 || wpx < o.min_width) continue;  // children are no wider
    const double x = pad + fx * plot_w;
    const double y = top + (g.max_depth - it.depth) * fh;
    const std::string name = XmlEscape(n.name);
    FrameStyle style = spec.style(it.node);
    const std::string note = XmlEscape(style.note);
    absl::StrAppend(
        &out,
        absl::StrFormat(
            "<g class=\"f\" data-n=\"%s\" data-v=\"%d\" data-d=\"%d\" data-x=\"%.9f\" "
            "data-w=\"%.9f\"%s>"
            "<title>%s (%d %s, %.2f%%)%s</title>"
            "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" rx=\"2\" fill=\"%s\"/>"
            "<text x=\"%.2f\" y=\"%.1f\" font-size=\"%d\">%s</text></g>\n",
            name, v, it.depth, fx, fw,
            note.empty() ? "" : absl::StrCat(" data-note=\"", note, "\""), name, v, unit,
            100.0 * fw, note.empty() ? "" : absl::StrCat("; ", note), x, y, wpx, fh - 1, style.fill,
            x + 3, y + fh - 4, o.font_size, XmlEscape(Label(n.name, wpx, char_px))));
    int64_t child_offset = it.offset;
    // Push in reverse so frames come out left to right.
    std::vector<Item> children;
    for (uint32_t c : n.children) {
      children.push_back({c, it.depth + 1, child_offset});
      child_offset += std::max<int64_t>(0, g.nodes[c].values[m]);
    }
    stack.insert(stack.end(), children.rbegin(), children.rend());
  }
  absl::StrAppend(&out, "</svg>\n");
  return out;
}

}  // namespace internal

absl::StatusOr<RatioSpec> ParseRatio(const formats::Profile& profile, const std::string& a_over_b) {
  auto index = [&](std::string_view name) -> std::optional<size_t> {
    for (size_t i = 0; i < profile.sample_types.size(); ++i)
      if (profile.sample_types[i].type == name) return i;
    return std::nullopt;
  };
  for (size_t slash = a_over_b.find('/'); slash != std::string::npos;
       slash = a_over_b.find('/', slash + 1)) {
    std::optional<size_t> a = index(std::string_view(a_over_b).substr(0, slash));
    std::optional<size_t> b = index(std::string_view(a_over_b).substr(slash + 1));
    if (a && b) return RatioSpec{*a, *b, a_over_b};
  }
  std::vector<std::string> valid;
  for (const formats::ValueType& t : profile.sample_types) valid.push_back(t.type);
  return absl::InvalidArgumentError(
      absl::StrCat("'", a_over_b, "' is not A/B of two sample types (the recording has: ",
                   valid.empty() ? "none" : absl::StrJoin(valid, ", "), ")"));
}

namespace {

// The --color-by colouring: each frame's inclusive A/B on the gradient,
// clamped to the range of the frames drawn.
struct RatioColoring {
  RatioSpec ratio;
  double lo = 0, hi = 0;
  bool log_scale = false;
  bool any = false;

  std::optional<double> Of(const FlameNode& n) const {
    if (n.values[ratio.denominator] <= 0) return std::nullopt;
    return static_cast<double>(n.values[ratio.numerator]) /
           static_cast<double>(n.values[ratio.denominator]);
  }
  double Position(double r) const {
    if (!(hi > lo)) return 0.5;
    if (log_scale) return (std::log(r) - std::log(lo)) / (std::log(hi) - std::log(lo));
    return (r - lo) / (hi - lo);
  }
};

std::string RatioText(double r) { return absl::StrFormat("%.4g", r); }

}  // namespace

absl::StatusOr<std::string> RenderFlameGraphSvg(const formats::Profile& profile,
                                                const FlameGraphOptions& o) {
  absl::StatusOr<size_t> metric = MetricIndex(profile, o.metric);
  if (!metric.ok()) return metric.status();
  if (o.width < 100)
    return absl::InvalidArgumentError(absl::StrCat("width ", o.width, " is below 100 pixels"));
  const size_t m = *metric;
  std::optional<RatioColoring> coloring;
  if (!o.color_by.empty() || o.color == ColorMode::kRatio) {
    absl::StatusOr<RatioSpec> ratio = ParseRatio(profile, o.color_by);
    if (!ratio.ok()) return ratio.status();
    coloring = RatioColoring{*ratio};
  }
  const FlameGraph g = BuildFlameGraph(profile);
  internal::SvgSpec spec;
  spec.metric = m;
  spec.unit_name =
      profile.sample_types[m].type == "samples"
          ? profile.sample_types[m].type
          : absl::StrCat(profile.sample_types[m].type, " (", profile.sample_types[m].unit, ")");
  spec.lines = profile.comments;
  if (!coloring) {
    spec.style = [&g](uint32_t n) { return internal::FrameStyle{HashColor(g.nodes[n]), ""}; };
    return internal::RenderSvg(g, o, spec);
  }

  RatioColoring& c = *coloring;
  for (uint32_t n = 0; n < g.nodes.size(); ++n) {
    std::optional<double> r = c.Of(g.nodes[n]);
    if (!r || !internal::IsDrawn(g, o, m, n)) continue;
    c.lo = c.any ? std::min(c.lo, *r) : *r;
    c.hi = c.any ? std::max(c.hi, *r) : *r;
    c.any = true;
  }
  c.log_scale = c.any && c.lo > 0 && c.hi >= 10 * c.lo;
  const std::string& a_name = profile.sample_types[c.ratio.numerator].type;
  const std::string& b_name = profile.sample_types[c.ratio.denominator].type;
  spec.lines.push_back(absl::StrCat("width: ", profile.sample_types[m].type,
                                    "; colour: ", c.ratio.name, " per frame (inclusive)"));
  spec.style = [&g, &c, &a_name, &b_name](uint32_t n) {
    const FlameNode& node = g.nodes[n];
    std::optional<double> r = c.Of(node);
    if (!r)
      return internal::FrameStyle{"rgb(190,190,190)", absl::StrCat(c.ratio.name, ": no ", b_name)};
    return internal::FrameStyle{internal::GradientColor(c.Position(*r)),
                                absl::StrCat(c.ratio.name, " = ", RatioText(*r), " (", a_name, " ",
                                             node.values[c.ratio.numerator], " / ", b_name, " ",
                                             node.values[c.ratio.denominator], ")")};
  };
  spec.defs = absl::StrCat(
      "<linearGradient id=\"ratio-gradient\" x1=\"0\" x2=\"1\" y1=\"0\" "
      "y2=\"0\">",
      internal::GradientStops(), "</linearGradient>");
  spec.legend_height = o.font_size + 12;
  spec.legend = [&o, &c, &b_name](double y) {
    const std::string name =
        absl::StrCat(c.ratio.name, c.any ? (c.log_scale ? " (log scale)" : " (linear scale)") : "");
    return internal::GradientLegend(o, y, name, c.any ? RatioText(c.lo) : "-",
                                    c.any ? RatioText(c.hi) : "-", "ratio-gradient",
                                    absl::StrCat("no ", b_name));
  };
  return internal::RenderSvg(g, o, spec);
}

}  // namespace ringprof::report
