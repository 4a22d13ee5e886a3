// --color-by ratio flame graphs and differential flame graphs: colours are
// read back from the SVG's fill attributes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "report/diff.h"
#include "report/flamegraph.h"
#include "tests/report/counter_profile.h"
#include "tests/report/synthetic_profile.h"
#include "tests/report/test_tools.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Rgb {
  int r = -1, g = -1, b = -1;
};

struct Frame {
  Rgb fill;
  int64_t value = 0;
  double width = 0;  // fraction of the total
  std::string title;
};

// Frames by name (the first frame of each name, in drawing order).
std::map<std::string, Frame> Frames(const std::string& svg) {
  std::map<std::string, Frame> out;
  std::regex frame(
      R"re(<g class="f" data-n="([^"]*)" data-v="(-?\d+)" data-d="\d+" data-x="[0-9.]+" data-w="([0-9.]+)"[^>]*><title>([^<]*)</title><rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), frame); it != std::sregex_iterator();
       ++it) {
    const std::smatch& m = *it;
    Frame f;
    f.value = std::stoll(m[2]);
    f.width = std::stod(m[3]);
    f.title = m[4];
    f.fill = {std::stoi(m[5]), std::stoi(m[6]), std::stoi(m[7])};
    out.try_emplace(m[1], f);
  }
  return out;
}

// Red minus blue: positive is reddish.
int Warmth(const Rgb& c) { return c.r - c.b; }

void ExpectWellFormed(const std::string& svg) {
  if (!ringprof::testing::HaveTool("xmllint")) return;
  ringprof::testing::TempDir dir;
  std::string path = dir.File("g.svg");
  ASSERT_TRUE(ringprof::testing::WriteFile(path, svg));
  ringprof::testing::RunResult r = ringprof::testing::RunCommand({"xmllint", "--noout", path});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out + r.err, "");
}

TEST(ColorByTest, CacheMissFlameGraphColoursByRatioWithLegend) {
  if (!ringprof::testing::HaveTool("xmllint"))
    GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  FlameGraphOptions o;
  o.metric = "cycles";
  o.color_by = "cache-misses/instructions";
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(ringprof::testing::CounterProfile(), o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  ExpectWellFormed(*svg);
  std::map<std::string, Frame> f = Frames(*svg);
  ASSERT_TRUE(f.contains("chase") && f.contains("compute") && f.contains("tiny") &&
              f.contains("idle"))
      << *svg;
  // Width by cycles: chase holds 30000 of 67000.
  EXPECT_EQ(f["chase"].value, 30000);
  EXPECT_NEAR(f["chase"].width, 30000.0 / 67000, 1e-6);
  // chase misses 0.05 per instruction, compute 0.0001: far apart in colour.
  EXPECT_GT(Warmth(f["chase"].fill), Warmth(f["compute"].fill) + 100);
  // tiny has the highest ratio (0.5): the red end; compute the lowest: blue.
  EXPECT_GT(Warmth(f["tiny"].fill), 150);
  EXPECT_LT(Warmth(f["compute"].fill), -100);
  // idle has no instructions: grey, and its hover says so.
  EXPECT_EQ(f["idle"].fill.r, 190);
  EXPECT_EQ(f["idle"].fill.g, 190);
  EXPECT_EQ(f["idle"].fill.b, 190);
  EXPECT_THAT(f["idle"].title, HasSubstr("no instructions"));
  // Hover text carries the ratio and its inputs.
  EXPECT_THAT(
      f["chase"].title,
      HasSubstr("cache-misses/instructions = 0.05 (cache-misses 500 / instructions 10000)"));
  // Legend: gradient bar, min and max, scale, the ratio's name.
  EXPECT_THAT(*svg, HasSubstr("<linearGradient id=\"ratio-gradient\""));
  EXPECT_THAT(*svg, HasSubstr("fill=\"url(#ratio-gradient)\""));
  EXPECT_THAT(*svg, HasSubstr(">cache-misses/instructions (log scale)</text>"));
  EXPECT_THAT(*svg, HasSubstr(">0.0001</text>"));
  EXPECT_THAT(*svg, HasSubstr(">0.5</text>"));
  EXPECT_THAT(*svg, HasSubstr(">no instructions</text>"));
  EXPECT_THAT(*svg, Not(HasSubstr("xlink:href")));
}

TEST(ColorByTest, LinearScaleAndBadRatios) {
  FlameGraphOptions o;
  o.color_by = "instructions/cycles";  // IPC: 0 (idle) .. 2, so linear
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(ringprof::testing::CounterProfile(), o);
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, HasSubstr("instructions/cycles (linear scale)"));
  EXPECT_THAT(*svg, HasSubstr(">0</text>"));
  std::map<std::string, Frame> f = Frames(*svg);
  EXPECT_EQ(f["idle"].fill.r, 70);      // the lowest ratio: the blue end
  EXPECT_EQ(f["compute"].fill.r, 220);  // the highest: the red end
  o.min_width = 100;  // only wide frames: main (1.05), compute (2), chase (0.33); 6x apart
  svg = RenderFlameGraphSvg(ringprof::testing::CounterProfile(), o);
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, HasSubstr("instructions/cycles (linear scale)"));
  EXPECT_THAT(*svg, HasSubstr(">0.3333</text>"));
  EXPECT_THAT(*svg, HasSubstr(">2</text>"));
  for (const char* bad : {"cache-misses", "cache-misses/", "/cycles", "nope/cycles", "a/b/c"}) {
    o.color_by = bad;
    absl::StatusOr<std::string> r = RenderFlameGraphSvg(ringprof::testing::CounterProfile(), o);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("page-faults")) << bad;
  }
}

TEST(ColorByTest, SlashInsideATypeName) {
  formats::Profile p = ringprof::testing::CounterProfile();
  p.sample_types[3].type = "cpu/event=0x2e,umask=0x41/";
  absl::StatusOr<RatioSpec> r = ParseRatio(p, "cpu/event=0x2e,umask=0x41//instructions");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->numerator, 3u);
  EXPECT_EQ(r->denominator, 2u);
}

// BASE is the synthetic profile (C 3, B 2, A 1, D 4 samples); NEW scales
// each stack's values.
formats::Profile Scaled(int64_t c, int64_t b, int64_t a, int64_t d) {
  formats::Profile p = ringprof::testing::SyntheticProfile();
  const int64_t n[] = {c, b, a, d};
  for (size_t i = 0; i < 4; ++i) p.samples[i].values = {n[i], 10 * n[i]};
  return p;
}

TEST(DiffTest, GrowthRedShrinkBlueWidthsFromNew) {
  formats::Profile base = ringprof::testing::SyntheticProfile();
  // E exists only in BASE: one more stack [E, A] with 2 samples.
  base.functions.push_back({5, "E", "E", "", 0});
  base.locations.push_back({15, 1, 0x1500, {{5, 1}}});
  base.samples.push_back({{15, 10}, {2, 20}, {}});
  formats::Profile next = Scaled(6, 2, 1, 1);  // C grew, D shrank
  DiffGraphOptions o;
  o.base_label = "base.rpf";
  o.new_label = "new.rpf";
  absl::StatusOr<std::string> svg = RenderDiffFlameGraphSvg(base, next, o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  ExpectWellFormed(*svg);
  std::map<std::string, Frame> f = Frames(*svg);
  ASSERT_TRUE(f.contains("C") && f.contains("D") && f.contains("B")) << *svg;
  EXPECT_EQ(f["C"].value, 6);  // NEW's value
  EXPECT_NEAR(f["C"].width, 0.6, 1e-9);
  EXPECT_NEAR(f["D"].width, 0.1, 1e-9);
  EXPECT_GT(Warmth(f["C"].fill), 100) << "C grew from 3/12 to 6/10";
  EXPECT_LT(Warmth(f["D"].fill), -50) << "D shrank from 4/12 to 1/10";
  EXPECT_GT(f["D"].fill.b, f["D"].fill.r);
  // C's change is the largest: full red.
  EXPECT_EQ(f["C"].fill.r, 220);
  EXPECT_THAT(f["C"].title, HasSubstr("self share +35.00%"));
  EXPECT_FALSE(f.contains("E"));
  EXPECT_THAT(*svg, HasSubstr("1 frame(s) only in base.rpf (16.67% of its samples) are not drawn"));
  EXPECT_THAT(*svg, HasSubstr("each normalised to its own total"));
  EXPECT_THAT(*svg, HasSubstr(">Differential Flame Graph</text>"));
  EXPECT_THAT(*svg, HasSubstr("fill=\"url(#diff-gradient)\""));
}

TEST(DiffTest, NormalisedSoAUniformlyLongerRunIsNeutral) {
  formats::Profile base = Scaled(3, 2, 1, 4);
  formats::Profile next = Scaled(30, 20, 10, 40);  // everything x10
  absl::StatusOr<std::string> svg = RenderDiffFlameGraphSvg(base, next, DiffGraphOptions{});
  ASSERT_TRUE(svg.ok());
  std::map<std::string, Frame> f = Frames(*svg);
  ASSERT_EQ(f.size(), 5u);  // all, A, B, C, D (the recursive A shares A's name)
  for (const auto& [name, frame] : f) {
    EXPECT_EQ(frame.fill.r, 235) << name;
    EXPECT_EQ(frame.fill.b, 225) << name;
  }
  EXPECT_THAT(*svg, HasSubstr("every frame of BASE is in NEW"));
}

TEST(DiffTest, MetricMustExistInBoth) {
  formats::Profile base = ringprof::testing::SyntheticProfile();
  formats::Profile next = ringprof::testing::CounterProfile();
  DiffGraphOptions o;
  o.graph.metric = "page-faults";
  absl::StatusOr<std::string> svg = RenderDiffFlameGraphSvg(base, next, o);
  EXPECT_EQ(svg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(svg.status().message(), HasSubstr("BASE"));
  EXPECT_FALSE(DiffFoldedStacks(base, next, "page-faults").ok());
  EXPECT_FALSE(DiffFoldedStacks(next, base, "page-faults").ok());
  // Any metric both have works: cpu-clock here.
  o.graph.metric = "cpu-clock";
  EXPECT_TRUE(RenderDiffFlameGraphSvg(base, Scaled(1, 1, 1, 1), o).ok());
}

TEST(DiffTest, FoldedTwoColumnsExact) {
  formats::Profile base = ringprof::testing::SyntheticProfile();
  base.functions.push_back({5, "E", "E", "", 0});
  base.locations.push_back({15, 1, 0x1500, {{5, 1}}});
  base.samples.push_back({{15, 10}, {2, 20}, {}});
  absl::StatusOr<std::string> folded = DiffFoldedStacks(base, Scaled(6, 2, 1, 0), "");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ(*folded, "A;B 2 2\nA;B;A 1 1\nA;B;C 3 6\nA;B;D 4 0\nA;E 2 0\n");
  folded = DiffFoldedStacks(base, Scaled(6, 2, 1, 0), "cpu-clock");
  ASSERT_TRUE(folded.ok());
  EXPECT_EQ(*folded, "A;B 20 20\nA;B;A 10 10\nA;B;C 300 60\nA;B;D 40 0\nA;E 20 0\n");
}

}  // namespace
}  // namespace ringprof::report
