// Derived columns (IPC, MPKI, miss-ratio), low-sample marking, sorting by
// every column kind, and the counter header of `ringprof report`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/table.h"
#include "tests/report/counter_profile.h"

namespace ringprof::report {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<formats::ValueType> Types(std::vector<std::string> names) {
  std::vector<formats::ValueType> out;
  for (std::string& n : names) out.push_back({std::move(n), "count"});
  return out;
}

std::vector<std::string> ColumnNames(const std::vector<DerivedColumn>& cols) {
  std::vector<std::string> out;
  for (const DerivedColumn& c : cols) out.push_back(c.name);
  return out;
}

const FunctionRow& Row(const FunctionTable& t, const std::string& name) {
  for (const FunctionRow& r : t.rows)
    if (r.name == name) return r;
  ADD_FAILURE() << "no row " << name;
  static const FunctionRow kNone;
  return kNone;
}

const DerivedColumn& Column(const FunctionTable& t, const std::string& name) {
  for (const DerivedColumn& c : t.derived)
    if (c.name == name) return c;
  ADD_FAILURE() << "no derived column " << name;
  static const DerivedColumn kNone;
  return kNone;
}

std::vector<std::string> Order(FunctionTable t, const std::string& key, int64_t min = 10) {
  absl::Status s = SortTable(t, key, min);
  EXPECT_TRUE(s.ok()) << key << ": " << s;
  std::vector<std::string> out;
  for (const FunctionRow& r : t.rows) out.push_back(r.name);
  return out;
}

TEST(DerivedColumnsTest, WhichColumnsAppearFromWhichInputs) {
  EXPECT_TRUE(FindDerivedColumns(Types({"samples", "cpu-clock", "page-faults"})).empty());
  EXPECT_TRUE(FindDerivedColumns(Types({"samples", "cache-misses"})).empty());  // no instructions
  EXPECT_THAT(ColumnNames(FindDerivedColumns(Types({"samples", "cycles", "instructions"}))),
              ElementsAre("IPC"));
  // Modifiers, de-duplication suffixes and the cpu-cycles alias.
  EXPECT_THAT(ColumnNames(FindDerivedColumns(Types({"samples", "cpu-cycles:u", "instructions#2"}))),
              ElementsAre("IPC"));
  std::vector<DerivedColumn> one = FindDerivedColumns(
      Types({"samples", "instructions", "cache-misses", "cache-references", "branch-misses"}));
  EXPECT_THAT(ColumnNames(one), ElementsAre("MPKI", "miss-ratio"));
  EXPECT_THAT(one[0].aliases, ElementsAre("MPKI(cache-misses)"));
  EXPECT_EQ(one[0].formula, "1000 x cache-misses/instructions");
  // Several misses counters: one qualified MPKI column each; libpfm4 names
  // with MISS count; LLC-load-misses pairs with LLC-loads.
  std::vector<DerivedColumn> many = FindDerivedColumns(
      Types({"samples", "cycles", "instructions", "cache-misses", "LLC-load-misses", "LLC-loads",
             "icl::MEM_LOAD_RETIRED.L3_MISS", "INST_RETIRED.ANY"}));
  EXPECT_THAT(ColumnNames(many), ElementsAre("IPC", "MPKI(cache-misses)", "MPKI(LLC-load-misses)",
                                             "MPKI(icl::MEM_LOAD_RETIRED.L3_MISS)", "miss-ratio"));
  EXPECT_THAT(many[4].aliases, ElementsAre("miss-ratio(LLC-load-misses)"));
  EXPECT_EQ(many[4].formula, "LLC-load-misses/LLC-loads");
}

TEST(DerivedColumnsTest, ExactValuesFromSelfAndTotalSums) {
  FunctionTable t = ComputeFunctionTable(ringprof::testing::CounterProfile());
  ASSERT_THAT(ColumnNames(t.derived), ElementsAre("IPC", "MPKI", "miss-ratio"));
  const DerivedColumn& ipc = Column(t, "IPC");
  const DerivedColumn& mpki = Column(t, "MPKI");
  const DerivedColumn& miss = Column(t, "miss-ratio");
  EXPECT_DOUBLE_EQ(*DerivedValue(ipc, Row(t, "compute").self), 2.0);
  EXPECT_DOUBLE_EQ(*DerivedValue(ipc, Row(t, "chase").self), 10000.0 / 30000.0);
  EXPECT_DOUBLE_EQ(*DerivedValue(mpki, Row(t, "compute").self), 0.1);
  EXPECT_DOUBLE_EQ(*DerivedValue(mpki, Row(t, "chase").self), 50.0);
  EXPECT_DOUBLE_EQ(*DerivedValue(mpki, Row(t, "tiny").self), 500.0);
  EXPECT_DOUBLE_EQ(*DerivedValue(miss, Row(t, "chase").self), 0.5);
  EXPECT_DOUBLE_EQ(*DerivedValue(miss, Row(t, "compute").self), 0.01);
  // Total variants come from total sums, not from averaging rows.
  EXPECT_DOUBLE_EQ(*DerivedValue(ipc, Row(t, "main").total), 70100.0 / 67000.0);
  EXPECT_DOUBLE_EQ(*DerivedValue(mpki, Row(t, "main").total), 1000.0 * 564 / 70100);
  EXPECT_DOUBLE_EQ(*DerivedValue(miss, Row(t, "main").total), 564.0 / 1560);
  EXPECT_DOUBLE_EQ(*DerivedValue(mpki, Row(t, "main").self), 0.5);
  // No instructions: no MPKI rather than a division by zero; IPC is 0.
  EXPECT_FALSE(DerivedValue(mpki, Row(t, "idle").self).has_value());
  EXPECT_FALSE(DerivedValue(miss, Row(t, "idle").total).has_value());
  EXPECT_DOUBLE_EQ(*DerivedValue(ipc, Row(t, "idle").total), 0.0);
}

TEST(DerivedColumnsTest, SortByEveryColumnKind) {
  FunctionTable t = ComputeFunctionTable(ringprof::testing::CounterProfile());
  EXPECT_THAT(Order(t, "self"), ElementsAre("chase", "compute", "main", "idle", "tiny"));
  EXPECT_THAT(Order(t, "total"), ElementsAre("main", "chase", "compute", "idle", "tiny"));
  EXPECT_THAT(Order(t, "name"), ElementsAre("chase", "compute", "idle", "main", "tiny"));
  EXPECT_THAT(Order(t, "page-faults"), ElementsAre("tiny", "main", "chase", "compute", "idle"));
  EXPECT_THAT(Order(t, "page-faults:total"),
              ElementsAre("main", "tiny", "chase", "compute", "idle"));
  // Derived: well-founded ratios first (ties by name), then thin ones
  // (tiny: 2 samples), then rows with no ratio (idle).
  EXPECT_THAT(Order(t, "MPKI"), ElementsAre("chase", "main", "compute", "tiny", "idle"));
  EXPECT_THAT(Order(t, "MPKI(cache-misses)"),
              ElementsAre("chase", "main", "compute", "tiny", "idle"));
  EXPECT_THAT(Order(t, "MPKI:total"), ElementsAre("chase", "main", "compute", "tiny", "idle"));
  EXPECT_THAT(Order(t, "IPC"), ElementsAre("compute", "main", "chase", "tiny", "idle"));
  EXPECT_THAT(Order(t, "IPC", 1), ElementsAre("compute", "main", "chase", "tiny", "idle"));
  EXPECT_THAT(Order(t, "miss-ratio"), ElementsAre("chase", "main", "compute", "tiny", "idle"));
  // With the threshold at 1 sample, tiny's MPKI of 500 leads.
  EXPECT_THAT(Order(t, "MPKI", 1), ElementsAre("tiny", "chase", "main", "compute", "idle"));
}

TEST(DerivedColumnsTest, BadSortKeyListsEveryValidColumn) {
  FunctionTable t = ComputeFunctionTable(ringprof::testing::CounterProfile());
  absl::Status s = SortTable(t, "MPKJ");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* key : {"'MPKJ'", "self", "total", "name", "samples", "cycles", "instructions",
                          "cache-misses", "cache-references", "page-faults", "page-faults:total",
                          "IPC", "MPKI", "MPKI:total", "miss-ratio"})
    EXPECT_THAT(s.message(), HasSubstr(key));
  EXPECT_FALSE(SortTable(t, "IPC:self").ok());
}

TEST(DerivedColumnsTest, ReportMarksThinRatiosAndPrintsCounterHeader) {
  formats::Profile p = ringprof::testing::CounterProfile();
  absl::StatusOr<std::string> text =
      FormatReport(p, {.sort = "MPKI", .limit = 0, .min_samples = 10});
  ASSERT_TRUE(text.ok()) << text.status();
  // Counter totals and scaling, one line each.
  EXPECT_THAT(*text, ContainsRegex("\n  instructions +70100  not scaled: running 100.0% of enabled "
                                   "time\n"));
  EXPECT_THAT(*text,
              ContainsRegex("\n  cache-misses +564  scaled: running 25.0% of enabled time\n"));
  EXPECT_THAT(*text, ContainsRegex("\n  page-faults +100  never enabled\n"));
  EXPECT_THAT(*text, ContainsRegex("\n  MPKI +8.05  1000 x cache-misses/instructions\n"));
  EXPECT_THAT(*text, ContainsRegex("\n  miss-ratio +36.15%  cache-misses/cache-references\n"));
  // Column groups and values: chase's MPKI self 50.00 and total 50.00,
  // tiny's marked with '~', idle's missing.
  EXPECT_THAT(*text, ContainsRegex("  IPC +MPKI +miss-ratio\n"));
  EXPECT_THAT(*text,
              ContainsRegex(" 0\\.33 +0\\.33 +50\\.00 +50\\.00 +50\\.00% +50\\.00% +chase\n"));
  EXPECT_THAT(*text, ContainsRegex(
                         " ~0\\.05 +~0\\.05 +~500\\.00 +~500\\.00 +~83\\.33% +~83\\.33% +tiny\n"));
  EXPECT_THAT(*text, ContainsRegex(" ~0\\.00 +~0\\.00 +- +- +- +- +idle\n"));
  EXPECT_THAT(*text, ContainsRegex(" 2\\.00 +1\\.05 +0\\.50 +8\\.05 +10\\.00% +36\\.15% +main\n"));
  EXPECT_THAT(*text, HasSubstr("~ marks a ratio resting on fewer than 10 samples"));
  // Counter columns carry Self% and Total%: tiny has 90 of 100 page-faults.
  EXPECT_THAT(*text, ContainsRegex(" 90 +90\\.00% +90 +90\\.00% +~"));

  text = FormatReport(p, {.sort = "page-faults", .limit = 0, .min_samples = 2});
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, Not(HasSubstr("~")));
  EXPECT_THAT(*text, Not(HasSubstr("marks a ratio")));
  // Sorted by page-faults: tiny's row comes first.
  size_t header = text->find("Function\n");
  ASSERT_NE(header, std::string::npos);
  EXPECT_THAT(text->substr(header, text->find('\n', header + 9) - header), HasSubstr("tiny"));

  absl::StatusOr<std::string> bad = FormatReport(p, {.sort = "nope"});
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("MPKI"));
}

TEST(DerivedColumnsTest, NoCountersNoCounterHeader) {
  formats::Profile p = ringprof::testing::CounterProfile();
  p.counter_types.clear();
  p.counter_scaling.clear();
  p.sample_types = {{"samples", "count"}};
  for (auto& s : p.samples) s.values.resize(1);
  absl::StatusOr<std::string> text = FormatReport(p, {});
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, Not(HasSubstr("Counters:")));
  EXPECT_THAT(*text, Not(HasSubstr("Derived")));
}

}  // namespace
}  // namespace ringprof::report
