#include "report/table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/report/synthetic_profile.h"

namespace ringprof::report {
namespace {

using ::testing::HasSubstr;

const FunctionRow* Row(const FunctionTable& t, const std::string& name) {
  for (const FunctionRow& r : t.rows)
    if (r.name == name) return &r;
  return nullptr;
}

std::vector<std::string> Names(const FunctionTable& t) {
  std::vector<std::string> out;
  for (const FunctionRow& r : t.rows) out.push_back(r.name);
  return out;
}

TEST(FunctionTableTest, SelfAndTotalWithRecursionAndInlines) {
  FunctionTable t = ComputeFunctionTable(ringprof::testing::SyntheticProfile());
  ASSERT_EQ(t.sums, (std::vector<int64_t>{10, 370}));
  ASSERT_EQ(t.rows.size(), 4u);
  struct Want {
    const char* name;
    std::vector<int64_t> self, total;
  };
  for (const Want& w : {Want{"A", {1, 10}, {10, 370}}, Want{"B", {2, 20}, {10, 370}},
                        Want{"C", {3, 300}, {3, 300}}, Want{"D", {4, 40}, {4, 40}}}) {
    const FunctionRow* r = Row(t, w.name);
    ASSERT_NE(r, nullptr) << w.name;
    EXPECT_EQ(r->self, w.self) << w.name;
    EXPECT_EQ(r->total, w.total) << w.name;
  }
}

TEST(FunctionTableTest, SortKeys) {
  FunctionTable t = ComputeFunctionTable(ringprof::testing::SyntheticProfile());
  ASSERT_TRUE(SortTable(t, "self").ok());
  EXPECT_EQ(Names(t), (std::vector<std::string>{"D", "C", "B", "A"}));
  ASSERT_TRUE(SortTable(t, "total").ok());
  EXPECT_EQ(Names(t), (std::vector<std::string>{"B", "A", "D", "C"}));  // ties: larger self first
  ASSERT_TRUE(SortTable(t, "name").ok());
  EXPECT_EQ(Names(t), (std::vector<std::string>{"A", "B", "C", "D"}));
  ASSERT_TRUE(SortTable(t, "cpu-clock").ok());
  EXPECT_EQ(Names(t), (std::vector<std::string>{"C", "D", "B", "A"}));
  absl::Status bad = SortTable(t, "cycles");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("cpu-clock"));
}

TEST(FunctionTableTest, ReportHeaderAlwaysListsLosses) {
  formats::Profile p = ringprof::testing::SyntheticProfile();
  absl::StatusOr<std::string> text = FormatReport(p, {});
  ASSERT_TRUE(text.ok()) << text.status();
  for (const char* line :
       {"Events:", "Samples:", "Duration:", "Processes:", "Lost samples:",
        "Lost side-band records:", "Throttle events:", "Truncated kernel stacks:",
        "Truncated user stacks:", "User stack failures:", "Unmapped frames:",
        "Unsymbolized frames:", "File damage:"}) {
    EXPECT_THAT(*text, HasSubstr(line));
  }
  EXPECT_THAT(*text, HasSubstr("1.500 s"));
  EXPECT_THAT(*text, HasSubstr("1 (42 synth)"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("File damage: +none"));
  // First table row after the header is D (largest self): 40% self.
  EXPECT_THAT(*text, ::testing::ContainsRegex(
                         "\n +samples +cpu-clock\nself +self% +total +total% +self +self% +total "
                         "+total% +Function\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex(
                         "\n +4 +40\\.00% +4 +40\\.00% +40 +10\\.81% +40 +10\\.81% +D\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex(
                         "\n +1 +10\\.00% +10 +100\\.00% +10 +2\\.70% +370 +100\\.00% +A\n"));
  // No counters, no derived columns, so no ratio footnote.
  EXPECT_THAT(*text, ::testing::Not(HasSubstr("Counters:")));
  EXPECT_THAT(*text, ::testing::Not(HasSubstr("marks a ratio")));
}

TEST(FunctionTableTest, ReportShowsLossAndDamage) {
  formats::Profile p = ringprof::testing::SyntheticProfile();
  p.loss.lost_samples = 17;
  p.loss.throttle_events = 3;
  p.unsymbolized_frames = 5;
  p.damage.truncated = true;
  p.damage.messages = {"chunk at offset 4096: CRC mismatch"};
  absl::StatusOr<std::string> text = FormatReport(p, {.sort = "name", .limit = 2});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::ContainsRegex("Lost samples: +17\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("Throttle events: +3\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("Unsymbolized frames: +5\n"));
  EXPECT_THAT(*text, HasSubstr("chunk at offset 4096: CRC mismatch"));
  EXPECT_THAT(*text, HasSubstr("(2 more functions; --limit 0 shows all)"));
  EXPECT_THAT(*text, ::testing::Not(HasSubstr(" C\n")));
  EXPECT_FALSE(FormatReport(p, {.sort = "bogus"}).ok());
}

}  // namespace
}  // namespace ringprof::report
