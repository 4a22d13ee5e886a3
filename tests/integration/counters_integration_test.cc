// Root integration tests of --counters and of sampling on counters: where
// page faults land (software counters, real counts on any machine), and
// cache misses on machines with a hardware PMU (skipped elsewhere).
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "formats/recording.h"
#include "gtest/gtest.h"
#include "report/table.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

// Index of the sample type named `name`, or -1.
int TypeIndex(const formats::Profile& p, const std::string& name) {
  for (size_t i = 0; i < p.sample_types.size(); ++i) {
    if (p.sample_types[i].type == name) return static_cast<int>(i);
  }
  return -1;
}

int64_t SumOf(const formats::Profile& p, int type) {
  int64_t sum = 0;
  for (const auto& s : p.samples) sum += s.values[static_cast<size_t>(type)];
  return sum;
}

// The function row named `name`, or nullptr.
const report::FunctionRow* Row(const report::FunctionTable& t, const std::string& name) {
  for (const auto& r : t.rows) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// Why hardware counters cannot be used here, or "" when they can.
std::string NoPmuReason() {
  RunResult r = RunCommand(
      {kBin, "record", "-q", "-e", "cycles", "-o", "/tmp/ringprof-pmu-probe.rpf", "--", "true"});
  std::remove("/tmp/ringprof-pmu-probe.rpf");
  if (r.status == 0) return "";
  return "no usable hardware PMU on this machine: " + r.err;
}

const std::vector<std::string> kFaults = {kWorkloads + "/workload_faults", "60", "1024"};

TEST_F(RecordTest, CounterChargesPageFaultsToTheFaultingFunction) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::vector<std::string> args = {"-F", "999", "--counters", "page-faults", "--"};
  args.insert(args.end(), kFaults.begin(), kFaults.end());
  RunResult rec_run;
  std::string rec = RecordCommand(args, &rec_run);
  EXPECT_NE(rec_run.err.find("counter page-faults:"), std::string::npos) << rec_run.err;
  formats::Profile p = Load(rec);
  int pf = TypeIndex(p, "page-faults");
  ASSERT_GE(pf, 0) << "pprof/report column per counter";
  const int64_t total = SumOf(p, pf);
  ASSERT_GT(total, 60 * 1024 * 9 / 10) << "60 rounds x 1024 fresh pages";
  report::FunctionTable t = report::ComputeFunctionTable(p);
  const report::FunctionRow* fp = Row(t, "fault_pages");
  ASSERT_NE(fp, nullptr);
  EXPECT_GE(fp->total[static_cast<size_t>(pf)], total * 90 / 100)
      << "fault_pages' stacks hold " << fp->total[static_cast<size_t>(pf)] << " of " << total;
  const report::FunctionRow* compute = Row(t, "compute");
  ASSERT_NE(compute, nullptr);
  EXPECT_LT(compute->self[static_cast<size_t>(pf)], total * 5 / 100);

  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->counter_scaling.size(), 1u);
  EXPECT_GT(r->counter_scaling[0].time_enabled_ns, 0u);
  EXPECT_EQ(r->counter_scaling[0].time_running_ns, r->counter_scaling[0].time_enabled_ns)
      << "software counters are never multiplexed";
}

TEST_F(RecordTest, PageFaultTotalAgreesWithPerfStat) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::vector<std::string> stat = {"perf", "stat", "-x,", "-e", "page-faults", "--"};
  stat.insert(stat.end(), kFaults.begin(), kFaults.end());
  RunResult ps = RunCommand(stat);
  std::smatch m;
  if (ps.status != 0 || !std::regex_search(ps.err, m, std::regex(R"((\d+),[^,]*,page-faults)"))) {
    GTEST_SKIP() << "perf stat (linux-perf) does not work here: " << ps.err;
  }
  const double perf_count = std::stod(m[1]);
  std::vector<std::string> args = {"-F", "999", "--counters", "page-faults", "--"};
  args.insert(args.end(), kFaults.begin(), kFaults.end());
  formats::Profile p = Load(RecordCommand(args));
  const double ours = static_cast<double>(SumOf(p, TypeIndex(p, "page-faults")));
  EXPECT_NEAR(ours, perf_count, perf_count * 0.10) << "perf stat counted " << perf_count;
}

TEST_F(RecordTest, SamplingOnPageFaultsChargesTheFaultingFunction) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::vector<std::string> args = {"-e", "page-faults", "-c", "1", "--"};
  args.insert(args.end(), kFaults.begin(), kFaults.end());
  formats::Profile p = Load(RecordCommand(args));
  int64_t total = 0;
  int64_t in_fault_pages = 0;
  for (const Stack& s : Stacks(p)) {
    total += s.count;
    if (!s.functions.empty() && s.functions[0] == "fault_pages") in_fault_pages += s.count;
  }
  ASSERT_GT(total, 60 * 1024);
  EXPECT_GE(in_fault_pages, total * 90 / 100);
}

TEST_F(RecordTest, PprofSampleIndexPerCounterAgreesWithReport) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (std::system("command -v go >/dev/null 2>&1") != 0) GTEST_SKIP() << "go (golang-go) missing";
  std::vector<std::string> args = {"-F", "999", "--counters", "page-faults,context-switches", "--"};
  args.insert(args.end(), kFaults.begin(), kFaults.end());
  std::string rec = RecordCommand(args);
  std::string pb = Path("c.pb.gz");
  ASSERT_EQ(RunCommand({kBin, "pprof", "-i", rec, "-o", pb}).status, 0);
  setenv("HOME", dir_.c_str(), 1);
  setenv("GOCACHE", Path("gocache").c_str(), 1);
  RunResult top = RunCommand({"go", "tool", "pprof", "-sample_index=page-faults", "-top", pb});
  ASSERT_EQ(top.status, 0) << top.err;
  std::smatch m;
  std::regex row(R"(\n\s*[0-9.]+\w*\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+\w*\s+[0-9.]+%\s+(\S+))");
  ASSERT_TRUE(std::regex_search(top.out, m, row)) << top.out;
  formats::Profile p = Load(rec);
  report::FunctionTable t = report::ComputeFunctionTable(p);
  ASSERT_TRUE(report::SortTable(t, "page-faults").ok());
  EXPECT_EQ(m[1].str(), t.rows[0].name);
  RunResult cs = RunCommand({"go", "tool", "pprof", "-sample_index=context-switches", "-top", pb});
  EXPECT_EQ(cs.status, 0) << cs.err;
}

TEST_F(RecordTest, HardwareCounterWithoutPmuIsOneClearLine) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (NoPmuReason().empty()) GTEST_SKIP() << "this machine has a hardware PMU";
  RunResult r = RunCommand({kBin, "record", "--counters", "page-faults,cache-misses", "-o",
                            Path("x.rpf"), "--", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("cache-misses"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
}

TEST_F(RecordTest, CacheMissesLandInChasePointers) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (std::string why = NoPmuReason(); !why.empty()) GTEST_SKIP() << why;
  formats::Profile p =
      Load(RecordCommand({"-F", "999", "--counters", "cycles,instructions,cache-misses", "--",
                          kWorkloads + "/workload_cachemiss", "20"}));
  const int ins = TypeIndex(p, "instructions");
  const int miss = TypeIndex(p, "cache-misses");
  ASSERT_GE(ins, 0);
  ASSERT_GE(miss, 0);
  report::FunctionTable t = report::ComputeFunctionTable(p);
  const report::FunctionRow* chase = Row(t, "chase_pointers");
  const report::FunctionRow* compute = Row(t, "compute");
  ASSERT_NE(chase, nullptr);
  ASSERT_NE(compute, nullptr);
  auto mpki = [&](const report::FunctionRow* r) {
    return 1000.0 * static_cast<double>(r->self[static_cast<size_t>(miss)]) /
           std::max<double>(1.0, static_cast<double>(r->self[static_cast<size_t>(ins)]));
  };
  EXPECT_GT(mpki(chase), 10 * mpki(compute) + 1) << mpki(chase) << " vs " << mpki(compute);

  // The cache-miss flame graph: width by cycles, colour by misses per
  // instruction. chase_pointers must be redder (more red, less blue).
  std::string svg = Path("miss.svg");
  RunResult fg = RunCommand({kBin, "flamegraph", "-i", Path("rec.rpf"), "--metric", "cycles",
                             "--color-by", "cache-misses/instructions", "-o", svg});
  ASSERT_EQ(fg.status, 0) << fg.err;
  const std::string text = testing::Slurp(svg);
  auto fill_of = [&](const std::string& fn) -> std::pair<int, int> {
    std::smatch m;
    std::regex re("data-n=\"" + fn + "\"[^>]*>.*?fill=\"rgb\\((\\d+),\\d+,(\\d+)\\)\"");
    if (!std::regex_search(text, m, re)) return {-1, -1};
    return {std::stoi(m[1]), std::stoi(m[2])};
  };
  auto [chase_r, chase_b] = fill_of("chase_pointers");
  auto [compute_r, compute_b] = fill_of("compute");
  ASSERT_GE(chase_r, 0) << "chase_pointers frame not found in the SVG";
  ASSERT_GE(compute_r, 0) << "compute frame not found in the SVG";
  EXPECT_GT(chase_r - chase_b, compute_r - compute_b);
}

TEST_F(RecordTest, TooManyHardwareCountersMultiplexWithAWarning) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (std::string why = NoPmuReason(); !why.empty()) GTEST_SKIP() << why;
  RunResult r;
  RecordCommand({"--counters",
                 "cycles,instructions,cache-misses,cache-references,branch-misses,"
                 "branch-instructions,bus-cycles,ref-cycles",
                 "--", kWorkloads + "/workload_chain", "1"},
                &r);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("multiplexed"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ringprof
