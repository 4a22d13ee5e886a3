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

// Index of the sample type named `name`, or -1: ASSERT_GE(index, 0)
// before using it.
int TypeIndex(const formats::Profile& p, const std::string& name) {
  for (size_t i = 0; i < p.sample_types.size(); ++i) {
    if (p.sample_types[i].type == name) return static_cast<int>(i);
  }
  return -1;
}

int64_t SumOf(const formats::Profile& p, int type) {
  int64_t sum = 0;
  for (const auto& s : p.samples) sum += s.values.at(static_cast<size_t>(type));
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
  testing::TempDir dir("ringprof-pmu-probe");
  RunResult r =
      RunCommand({kBin, "record", "-q", "-e", "cycles", "-o", dir.File("probe.rpf"), "--", "true"});
  if (r.status == 0) return "";
  return "no usable hardware PMU on this machine: " + r.err;
}

// workload_faults sized in sampling periods of its own CPU time at 999 Hz
// (tests/workloads/faults.c): kFaultRounds rounds of compute() then
// fault_pages(), each phase kPhasePeriods periods long, and a last
// compute() phase. The first sample after a fault phase is charged up to
// one period of its faults, so at most 1/kPhasePeriods (2%) of them land
// outside fault_pages, on a fast machine or a slow one.
constexpr int kFaultRounds = 10;
constexpr int kPhasePeriods = 50;
constexpr int kFaultHz = 999;

std::vector<std::string> FaultsCommand(int rounds = kFaultRounds) {
  return {kWorkloads + "/workload_faults", std::to_string(rounds), std::to_string(kPhasePeriods),
          std::to_string(1e6 / kFaultHz)};
}

// CPU-seconds a FaultsCommand(rounds) runs at least.
double FaultsCpuSeconds(int rounds = kFaultRounds) {
  return (2.0 * rounds + 1) * kPhasePeriods / kFaultHz;
}

// What workload_faults says it did, from its last line on stdout.
struct FaultsReport {
  int64_t touched_pages = -1;  // pages fault_pages() touched: one fault each
  int64_t minflt = -1;         // the process's minor faults (getrusage), start-up included
};

FaultsReport ParseFaults(const std::string& out) {
  FaultsReport f;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"(touched_pages=(\d+) minflt=(\d+))"))) {
    f.touched_pages = std::stoll(m[1]);
    f.minflt = std::stoll(m[2]);
  }
  return f;
}

// `ringprof record -o OUT ARGS -- FaultsCommand(rounds)`; returns OUT. What
// the workload says it did goes to `*faults`, the run itself to `*run`.
std::string RecordFaults(const std::string& out, std::vector<std::string> args,
                         FaultsReport* faults, RunResult* run = nullptr,
                         int rounds = kFaultRounds) {
  std::vector<std::string> argv = {kBin, "record", "-o", out};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--");
  for (const std::string& a : FaultsCommand(rounds)) argv.push_back(a);
  RunResult r = RunCommand(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  *faults = ParseFaults(r.out);
  EXPECT_GT(faults->touched_pages, 0) << "workload_faults said: " << r.out;
  if (run != nullptr) *run = r;
  return out;
}

TEST_F(RecordTest, CounterChargesPageFaultsToTheFaultingFunction) {
  SKIP_UNLESS_RECORDING_WORKS();
  FaultsReport faults;
  RunResult rec_run;
  std::string rec =
      RecordFaults(Path("rec.rpf"), {"-F", std::to_string(kFaultHz), "--counters", "page-faults"},
                   &faults, &rec_run);
  ASSERT_GT(faults.touched_pages, 0);
  EXPECT_NE(rec_run.err.find("counter page-faults:"), std::string::npos) << rec_run.err;
  formats::Profile p = Load(rec);
  ASSERT_GE(static_cast<int64_t>(p.sample_count), MinSamples(kFaultHz, FaultsCpuSeconds()));
  int pf = TypeIndex(p, "page-faults");
  ASSERT_GE(pf, 0) << "pprof/report column per counter";
  const int64_t total = SumOf(p, pf);
  // The workload's own count (getrusage) also holds the faults before exec,
  // which are not counted, and any after the last sample, which no sample
  // is charged (the last phase computes): a handful.
  EXPECT_NEAR(static_cast<double>(total), static_cast<double>(faults.minflt), faults.minflt * 0.05)
      << "the workload counted " << faults.minflt << " faults (" << faults.touched_pages
      << " pages touched)";
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

// Two runs of a workload sized in CPU time fault different numbers of
// pages, so each count is taken relative to what its own run says it
// faulted: perf stat's and ours must give the same fraction of that.
TEST_F(RecordTest, PageFaultTotalAgreesWithPerfStat) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::vector<std::string> stat = {"perf", "stat", "-x,", "-e", "page-faults", "--"};
  for (const std::string& a : FaultsCommand()) stat.push_back(a);
  RunResult ps = RunCommand(stat);
  std::smatch m;
  if (ps.status != 0 || !std::regex_search(ps.err, m, std::regex(R"((\d+),[^,]*,page-faults)"))) {
    GTEST_SKIP() << "perf stat (linux-perf) does not work here: " << ps.err;
  }
  const double perf_count = std::stod(m[1]);
  const FaultsReport perf_run = ParseFaults(ps.out);
  ASSERT_GT(perf_run.minflt, 0) << ps.out;
  FaultsReport our_run;
  formats::Profile p = Load(RecordFaults(
      Path("rec.rpf"), {"-F", std::to_string(kFaultHz), "--counters", "page-faults"}, &our_run));
  ASSERT_GT(our_run.minflt, 0);
  ASSERT_GE(static_cast<int64_t>(p.sample_count), MinSamples(kFaultHz, FaultsCpuSeconds()));
  const int pf = TypeIndex(p, "page-faults");
  ASSERT_GE(pf, 0);
  const double ours = static_cast<double>(SumOf(p, pf));
  const double perf_share = perf_count / static_cast<double>(perf_run.minflt);
  const double our_share = ours / static_cast<double>(our_run.minflt);
  EXPECT_NEAR(our_share, perf_share, 0.05)
      << "perf stat counted " << perf_count << " of " << perf_run.minflt << " faults; we counted "
      << ours << " of " << our_run.minflt;
}

TEST_F(RecordTest, SamplingOnPageFaultsChargesTheFaultingFunction) {
  SKIP_UNLESS_RECORDING_WORKS();
  FaultsReport faults;
  formats::Profile p =
      Load(RecordFaults(Path("rec.rpf"), {"-e", "page-faults", "-c", "1"}, &faults, nullptr, 4));
  ASSERT_GT(faults.touched_pages, 0);
  int64_t total = 0;
  int64_t in_fault_pages = 0;
  for (const Stack& s : Stacks(p)) {
    total += s.count;
    if (!s.functions.empty() && s.functions[0] == "fault_pages") in_fault_pages += s.count;
  }
  // A sample per fault: every page fault_pages() touched, and start-up's;
  // a sample the ring had no room for is counted as lost, never dropped
  // silently.
  ASSERT_GE(total, faults.touched_pages / 2);
  EXPECT_GE(total + static_cast<int64_t>(p.loss.lost_samples), faults.touched_pages)
      << "workload_faults touched " << faults.touched_pages << " pages";
  EXPECT_GE(in_fault_pages, total * 90 / 100);
}

TEST_F(RecordTest, PprofSampleIndexPerCounterAgreesWithReport) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (!testing::HaveTool("go")) GTEST_SKIP() << "go (golang-go) missing";
  FaultsReport faults;
  std::string rec = RecordFaults(
      Path("rec.rpf"),
      {"-F", std::to_string(kFaultHz), "--counters", "page-faults,context-switches"}, &faults);
  std::string pb = Path("c.pb.gz");
  ASSERT_EQ(RunCommand({kBin, "pprof", "-i", rec, "-o", pb}).status, 0);
  RunResult top = GoPprof({"-sample_index=page-faults", "-top", pb});
  ASSERT_EQ(top.status, 0) << top.err;
  std::smatch m;
  std::regex row(R"(\n\s*[0-9.]+\w*\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+\w*\s+[0-9.]+%\s+(\S+))");
  ASSERT_TRUE(std::regex_search(top.out, m, row)) << top.out;
  formats::Profile p = Load(rec);
  ASSERT_GE(static_cast<int64_t>(p.sample_count), MinSamples(kFaultHz, FaultsCpuSeconds()));
  report::FunctionTable t = report::ComputeFunctionTable(p);
  ASSERT_TRUE(report::SortTable(t, "page-faults").ok());
  ASSERT_FALSE(t.rows.empty());
  EXPECT_EQ(m[1].str(), t.rows[0].name) << top.out;
  RunResult cs = GoPprof({"-sample_index=context-switches", "-top", pb});
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
  // 20 rounds of 50 CPU-ms in each function.
  formats::Profile p =
      Load(RecordCommand({"-F", "999", "--counters", "cycles,instructions,cache-misses", "--",
                          kWorkloads + "/workload_cachemiss", "20", "50"}));
  const int ins = TypeIndex(p, "instructions");
  const int miss = TypeIndex(p, "cache-misses");
  ASSERT_GE(ins, 0);
  ASSERT_GE(miss, 0);
  report::FunctionTable t = report::ComputeFunctionTable(p);
  const report::FunctionRow* chase = Row(t, "chase_pointers");
  const report::FunctionRow* compute = Row(t, "compute");
  ASSERT_NE(chase, nullptr);
  ASSERT_NE(compute, nullptr);
  // Column 0 is the sample count: each function ran 1 CPU-second.
  ASSERT_GE(chase->self[0], MinSamples(999, 20 * 0.050) / 2);
  ASSERT_GE(compute->self[0], MinSamples(999, 20 * 0.050) / 2);
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
