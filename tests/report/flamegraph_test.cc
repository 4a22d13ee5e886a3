#include "report/flamegraph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/report/synthetic_profile.h"
#include "tests/report/test_tools.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FoldedTest, ExactLinesRootToLeafInlinesOutermostFirst) {
  absl::StatusOr<std::string> folded = FoldedStacks(ringprof::testing::SyntheticProfile(), "");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ(*folded, "A;B 2\nA;B;A 1\nA;B;C 3\nA;B;D 4\n");
}

TEST(FoldedTest, MetricSelectsColumnAndSeparatorsAreReplaced) {
  absl::StatusOr<std::string> folded =
      FoldedStacks(ringprof::testing::SyntheticProfile("x;y"), "cpu-clock");
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ(*folded, "x:y;B 20\nx:y;B;C 300\nx:y;B;D 40\nx:y;B;x:y 10\n");
  absl::StatusOr<std::string> bad = FoldedStacks(ringprof::testing::SyntheticProfile(), "cycles");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FlameGraphTest, TreeValuesAreInclusive) {
  FlameGraph g = BuildFlameGraph(ringprof::testing::SyntheticProfile());
  EXPECT_EQ(g.nodes[0].values, (std::vector<int64_t>{10, 370}));
  EXPECT_EQ(g.max_depth, 3u);
  ASSERT_EQ(g.nodes[0].children.size(), 1u);
  const FlameNode& a = g.nodes[g.nodes[0].children[0]];
  EXPECT_EQ(a.name, "A");
  EXPECT_EQ(a.values, (std::vector<int64_t>{10, 370}));
}

TEST(XmlEscapeTest, EscapesMarkupAndBadBytes) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  // Bytes XML cannot hold are escaped (base/escape.h), not dropped.
  EXPECT_EQ(XmlEscape("x\x01y"), "x\\x01y");
  EXPECT_EQ(XmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(XmlEscape("bad\xff\xc3"), "bad\\xff\\xc3");
  EXPECT_EQ(XmlEscape("a\\b"), "a\\b");  // printable text keeps its backslash
}

formats::Profile NastyProfile() {
  formats::Profile p =
      ringprof::testing::SyntheticProfile("operator<<(std::ostream&, Foo<\"q\"> const&)");
  // A frame far too narrow to draw at 1200 px: 1 sample in a million.
  for (auto& s : p.samples) s.values[0] *= 100000;
  p.functions.push_back({5, "tiny_frame", "tiny_frame", "", 0});
  p.locations.push_back({15, 1, 0x1500, {{5, 1}}});
  p.samples.push_back({{15, 10}, {1, 1}, {}});
  return p;
}

TEST(FlameGraphSvgTest, EscapedSelfContainedAndOmitsNarrowFrames) {
  FlameGraphOptions o;
  o.title = "T&T <graph>";
  absl::StatusOr<std::string> svg = RenderFlameGraphSvg(NastyProfile(), o);
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(
      *svg, HasSubstr("operator&lt;&lt;(std::ostream&amp;, Foo&lt;&quot;q&quot;&gt; const&amp;)"));
  EXPECT_THAT(*svg, Not(HasSubstr("operator<<")));
  EXPECT_THAT(*svg, HasSubstr("T&amp;T &lt;graph&gt;"));
  EXPECT_THAT(*svg, HasSubstr("<script type=\"text/ecmascript\"><![CDATA["));
  EXPECT_THAT(*svg, HasSubstr("Matched: "));
  EXPECT_THAT(*svg, HasSubstr("width=\"1200\""));
  EXPECT_THAT(*svg, Not(HasSubstr("tiny_frame")));
  EXPECT_THAT(*svg, Not(HasSubstr("xlink:href")));
  EXPECT_THAT(*svg, Not(HasSubstr("<image")));
  o.min_width = 0;
  svg = RenderFlameGraphSvg(NastyProfile(), o);
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, HasSubstr("tiny_frame"));
}

TEST(FlameGraphSvgTest, ColoursAreDeterministicAndMetricSizesFrames) {
  FlameGraphOptions o;
  o.metric = "cpu-clock";
  absl::StatusOr<std::string> a = RenderFlameGraphSvg(ringprof::testing::SyntheticProfile(), o);
  absl::StatusOr<std::string> b = RenderFlameGraphSvg(ringprof::testing::SyntheticProfile(), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  // C holds 300 of 370 ns: its frame is 81.08% wide.
  EXPECT_THAT(*a, HasSubstr("<title>C (300 cpu-clock (nanoseconds), 81.08%)</title>"));
  o.metric = "nope";
  EXPECT_FALSE(RenderFlameGraphSvg(ringprof::testing::SyntheticProfile(), o).ok());
}

TEST(FlameGraphSvgTest, WellFormedPerXmllint) {
  if (!ringprof::testing::HaveTool("xmllint"))
    GTEST_SKIP() << "xmllint not installed (libxml2-utils)";
  ringprof::testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  for (double min_width : {0.1, 0.0}) {
    FlameGraphOptions o;
    o.title = "a & b < c";
    o.min_width = min_width;
    absl::StatusOr<std::string> svg = RenderFlameGraphSvg(NastyProfile(), o);
    ASSERT_TRUE(svg.ok());
    std::string path = dir.File("g.svg");
    ASSERT_TRUE(ringprof::testing::WriteFile(path, *svg));
    ringprof::testing::RunResult r = ringprof::testing::RunCommand({"xmllint", "--noout", path});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out + r.err, "");
  }
}

}  // namespace
}  // namespace ringprof::report
