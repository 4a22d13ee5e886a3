// Root integration tests: `ringprof record` on workloads with known call
// chains, then the recording symbolized and checked through the report
// library and the CLI. Skipped (with the reason) without root or BPF.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "formats/recording.h"
#include "gtest/gtest.h"
#include "report/profile_builder.h"
#include "report/table.h"
#include "tests/common/files.h"
#include "tests/common/subprocess.h"
#include "tests/common/wait.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

TEST_F(RecordTest, ChainIsWholeSymbolizedAndCHoldsSelfTime) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "1.5"});
  formats::Profile p = Load(rec, "workload_chain");
  int64_t total = 0;
  int64_t chain = 0;
  for (const Stack& s : Stacks(p, /*user_only=*/true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
  }
  ASSERT_GE(total, MinSamples(999, 1.5)) << "1.5 CPU-seconds at 999 Hz";
  EXPECT_GE(chain, total * 95 / 100) << chain << " of " << total << " samples show main>a>b>c";
  // Self time counts the leaf of the whole stack (kernel frames included).
  int64_t c_leaf = 0;
  for (const Stack& s : Stacks(p)) {
    if (!s.functions.empty() && s.functions[0] == "c") c_leaf += s.count;
  }
  EXPECT_GE(c_leaf, total * 90 / 100) << "c holds " << c_leaf << " of " << total;
  EXPECT_EQ(p.loss.lost_samples, 0u);
}

// The vDSO has no file: the recording stores the image, and [vdso] frames
// are symbolized against it. workload_spread reads the thread CPU clock
// before every burst of leaf work, through the vDSO's clock_gettime, which
// makes the system call for that clock: a few percent of the samples (about
// 5% here) have a [vdso] frame.
TEST_F(RecordTest, VdsoFramesAreSymbolizedFromTheStoredImage) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec =
      RecordCommand({"-F", "999", "--", kWorkloads + "/workload_spread_sframe", "2.0", "4", "1"});
  absl::StatusOr<formats::Recording> recording = formats::ReadRecording(rec);
  ASSERT_TRUE(recording.ok()) << recording.status();
  ASSERT_EQ(recording->images.size(), 1u);
  EXPECT_EQ(recording->images[0].name, "[vdso]");
  EXPECT_EQ(recording->images[0].bytes.substr(0, 4),
            "\x7f"
            "ELF");

  ASSERT_GE(static_cast<int64_t>(recording->samples.size()), MinSamples(999, 2.0));
  formats::Profile p = Load(rec);
  std::map<uint64_t, const formats::ProfileFunction*> funcs;
  for (const auto& f : p.functions) funcs[f.id] = &f;
  std::set<uint64_t> vdso_mappings;
  for (const auto& m : p.mappings) {
    if (m.filename == "[vdso]") vdso_mappings.insert(m.id);
  }
  ASSERT_FALSE(vdso_mappings.empty()) << "no sample touched the vDSO";
  std::set<std::string> names;
  for (const auto& l : p.locations) {
    if (!vdso_mappings.count(l.mapping_id)) continue;
    ASSERT_FALSE(l.lines.empty());
    for (const auto& line : l.lines) names.insert(funcs.at(line.function_id)->name);
  }
  ASSERT_FALSE(names.empty());
  for (const std::string& n : names) {
    EXPECT_EQ(n.find("[vdso]+0x"), std::string::npos) << "unsymbolized vDSO frame " << n;
  }
  // The workload's only vDSO call is clock_gettime; vDSO functions carry
  // the mapping's name (docs/REPORTS.md, "How functions are named").
  EXPECT_TRUE(names.count("clock_gettime [vdso]")) << *names.begin();
}

// cpu-clock samples a task once per period of its own CPU time, so a
// command that runs C CPU-seconds at F Hz gives F x C samples, however
// loaded the machine is. The count is short by the period in progress at
// exit (one per event, of which a one-thread workload keeps one running),
// and the summary's CPU time includes the forked child's few milliseconds
// before exec, which are not sampled: a few samples. The workload is sized
// in CPU time so that F x C is 400 at either rate, so the 5% tolerance (20
// samples) is several times that error, and still catches a loss of more
// than one sample in twenty.
class RateTest : public RecordTest, public ::testing::WithParamInterface<int> {};

TEST_P(RateTest, SampleCountMatchesRateTimesCpuTime) {
  SKIP_UNLESS_RECORDING_WORKS();
  const int hz = GetParam();
  const double seconds = 400.0 / hz;
  RunResult r;
  std::string rec = RecordCommand(
      {"-F", std::to_string(hz), "--", kWorkloads + "/workload_chain", std::to_string(seconds)},
      &r);
  double cpu = CpuSecondsFromSummary(r.err);
  ASSERT_GE(cpu, seconds - 0.001) << r.err;  // printed to the millisecond
  absl::StatusOr<formats::Recording> recording = formats::ReadRecording(rec);
  ASSERT_TRUE(recording.ok()) << recording.status();
  double expected = hz * cpu;
  double got = static_cast<double>(recording->samples.size());
  std::printf("[rate] %d Hz over %.3f CPU-s: %.0f samples, expected %.1f\n", hz, cpu, got,
              expected);
  EXPECT_NEAR(got, expected, expected * 0.05) << "asked " << hz << " Hz over " << cpu << " CPU-s";
  EXPECT_EQ(recording->loss.lost_samples, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rates, RateTest, ::testing::Values(99, 999));

TEST_F(RecordTest, ShortLivedChildrenAreSymbolized) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_forker", "30", "20"});
  absl::StatusOr<formats::Recording> recording = formats::ReadRecording(rec);
  ASSERT_TRUE(recording.ok());
  uint32_t parent = 0;
  std::set<uint32_t> pids;
  for (const auto& t : recording->tasks) {
    if (t.kind == formats::TaskEventKind::kExec) parent = t.pid;
    if (t.kind == formats::TaskEventKind::kFork && t.pid != t.ppid) pids.insert(t.pid);
  }
  EXPECT_GE(pids.size(), 30u) << "every fork is recorded";
  formats::Profile p = Load(rec);
  int64_t child_samples = 0;
  int64_t child_symbolized = 0;  // every user frame has a name
  int64_t child_chain = 0;       // main > child_main > child_burn
  std::vector<Stack> stacks = Stacks(p, true);
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t pid = 0;
    for (const auto& l : p.samples[i].labels) {
      if (l.key == "pid") pid = l.is_num ? l.num : std::atoll(l.str.c_str());
    }
    if (pid == 0 || static_cast<uint32_t>(pid) == parent) continue;
    const Stack& st = stacks[i];
    child_samples += st.count;
    bool named = true;
    for (const std::string& f : st.functions) {
      // The vDSO is not a file and is not symbolized offline yet.
      if (f.find("+0x") != std::string::npos && f.rfind("[vdso]", 0) != 0) named = false;
    }
    if (named) child_symbolized += st.count;
    if (HasChain(st, {"child_burn", "child_main", "main"})) child_chain += st.count;
  }
  ASSERT_GE(child_samples, MinSamples(999, 30 * 0.020)) << "30 children x 20 CPU-ms at 999 Hz";
  EXPECT_GE(child_symbolized, child_samples * 98 / 100);
  // The rest sit in libc's fork path, which has no frame pointers (cut
  // stacks, still named).
  EXPECT_GE(child_chain, child_samples * 85 / 100);
}

TEST_F(RecordTest, DeepStackIsCutAndCountedNotDropped) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = RecordCommand({"-F", "499", "--", kWorkloads + "/workload_deep", "300", "1.0"});
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok());
  ASSERT_GE(static_cast<int64_t>(r->samples.size()), MinSamples(499, 1.0));
  EXPECT_GT(r->loss.user_truncated, r->samples.size() * 9 / 10);
  size_t at_limit = 0;
  for (const auto& s : r->samples) {
    if (s.flags & formats::kSampleUserTruncated) {
      EXPECT_EQ(s.user_frames.size(), 127u);
      ++at_limit;
    }
  }
  EXPECT_EQ(at_limit, r->loss.user_truncated);
  formats::Profile p = Load(rec);
  EXPECT_EQ(p.loss.user_truncated, r->loss.user_truncated) << "reports carry the count";
}

// A workload that runs until the test ends it: its CPU budget (far more
// than any test needs) is only a guard, should the test die first.
const std::vector<std::string> kChainUntilKilled = {kWorkloads + "/workload_chain", "120"};

// -p: the recorder attaches to a running process and stops when it exits.
// The test waits for the target to have exec'd (or the recorder would see
// the test binary it was forked from), and for the file to hold samples:
// how long either takes depends on the machine and its load.
TEST_F(RecordTest, ExistingProcessByPid) {
  SKIP_UNLESS_RECORDING_WORKS();
  Process target = Process::Start(kChainUntilKilled);
  ASSERT_TRUE(WaitForExec(target, kChainUntilKilled[0]));
  const std::string rec = Path("pid.rpf");
  Process recorder =
      Process::Start({kBin, "record", "-p", std::to_string(target.pid()), "-o", rec});
  const SamplesSeen seen = WaitForSamples(recorder, rec, 500);
  ASSERT_TRUE(seen.reached) << seen.samples << " samples; " << recorder.err();
  target.Signal(SIGKILL);
  target.Wait();
  EXPECT_EQ(recorder.Wait(), 0) << "the -p process exiting ends the recording\n" << recorder.err();
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.empty());
  formats::Profile p = Load(rec);
  int64_t total = 0;
  int64_t chain = 0;
  for (const Stack& s : Stacks(p, true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
  }
  ASSERT_GE(total, seen.samples);
  EXPECT_GE(chain, total * 95 / 100) << "mappings synthesized from /proc resolve";
}

// --duration ends the recording by itself, and leaves the -p process running.
TEST_F(RecordTest, DurationEndsTheRecording) {
  SKIP_UNLESS_RECORDING_WORKS();
  Process target = Process::Start(kChainUntilKilled);
  ASSERT_TRUE(WaitForExec(target, kChainUntilKilled[0]));
  RecordCommand({"-p", std::to_string(target.pid()), "--duration", "0.3"});
  EXPECT_FALSE(target.Exited()) << "ringprof ends only processes it started";
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(Path("rec.rpf"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.empty());
}

// -a: every CPU. The test counts the target's samples in the file as it
// grows, and interrupts the recorder once there are enough.
TEST_F(RecordTest, SystemWide) {
  SKIP_UNLESS_RECORDING_WORKS();
  Process target = Process::Start(kChainUntilKilled);
  ASSERT_TRUE(WaitForExec(target, kChainUntilKilled[0]));
  const std::string rec = Path("all.rpf");
  Process recorder = Process::Start({kBin, "record", "-a", "-F", "199", "-o", rec});
  const uint32_t pid = static_cast<uint32_t>(target.pid());
  const SamplesSeen seen =
      WaitForSamples(recorder, rec, 200, 1, [&](const formats::Sample& s) { return s.pid == pid; });
  ASSERT_TRUE(seen.reached) << seen.samples << " samples of the target; " << recorder.err();
  recorder.Signal(SIGINT);
  EXPECT_EQ(recorder.Wait(), 0) << recorder.err();
  formats::Profile p = Load(rec, "workload_chain");
  int64_t chain = 0;
  int64_t total = 0;
  for (const Stack& s : Stacks(p, true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
  }
  ASSERT_GE(total, seen.samples);
  EXPECT_GE(chain, total * 9 / 10);
}

// Each failure: non-zero exit, no crash, exactly one line on stderr.
void ExpectOneLineError(const RunResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0);
  EXPECT_LT(r.status, 128) << "crashed: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST_F(RecordTest, BadInputGetsOneClearLine) {
  ExpectOneLineError(RunCommand({kBin, "record", "-e", "page-fualts", "--", "true"}),
                     "page-faults");
  ExpectOneLineError(RunCommand({kBin, "record", "-o", Path("x.rpf"), "--", "/nonexistent/cmd"}),
                     "/nonexistent/cmd");
  ExpectOneLineError(RunCommand({kBin, "record", "-o", Path("x.rpf"), "--", "no-such-command-xyz"}),
                     "not found");
  ExpectOneLineError(RunCommand({kBin, "record", "-p", "999999999"}), "no process with PID");
  ExpectOneLineError(RunCommand({kBin, "record", "-o", "/nonexistent-dir/x.rpf", "--", "true"}),
                     "/nonexistent-dir/x.rpf");
  ExpectOneLineError(RunCommand({kBin, "record"}), "nothing to profile");
  EXPECT_FALSE(std::filesystem::exists(Path("x.rpf"))) << "no file left behind on failure";
}

TEST_F(RecordTest, ExistingOutputSurvivesAFailedStart) {
  std::string out = Path("keep.rpf");
  std::ofstream(out) << "precious";
  RunCommand({kBin, "record", "-o", out, "--", "/nonexistent/cmd"});
  EXPECT_EQ(testing::Slurp(out), "precious");
}

TEST_F(RecordTest, HardwareEventWithoutPmuSaysSo) {
  SKIP_UNLESS_RECORDING_WORKS();
  RunResult r = RunCommand({kBin, "record", "-e", "cycles", "-o", Path("hw.rpf"), "--", "true"});
  if (r.status == 0) GTEST_SKIP() << "this machine has a hardware PMU; cycles opened";
  ExpectOneLineError(r, "not supported");
  EXPECT_NE(r.err.find("cpu-clock"), std::string::npos) << "names what is available";
}

TEST_F(RecordTest, UnprivilegedUserGetsCapabilityMessage) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  if (!testing::HaveTool("setpriv")) GTEST_SKIP() << "setpriv missing";
  // The binary must be reachable by 'nobody'.
  struct stat st;
  std::string probe = kBin;
  RunResult help =
      RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBin, "--help"});
  if (help.status != 0) GTEST_SKIP() << "build directory not accessible to uid 65534: " << help.err;
  (void)st;
  chmod(dir_.path().c_str(), 0777);
  RunResult r = RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", kBin, "record", "-o", Path("u.rpf"), "--", "true"});
  ExpectOneLineError(r, "CAP_BPF");
}

TEST_F(RecordTest, DamagedRecordingsReportWhatIsReadable) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "2"});
  std::string bytes = testing::Slurp(rec);
  ASSERT_GT(bytes.size(), 1000u);
  // Cut in the last quarter: the kallsyms and early chunks stay readable.
  std::string cut = Path("cut.rpf");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() * 9 / 10);
  RunResult r = RunCommand({kBin, "report", "-i", cut});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(" c"), std::string::npos) << r.out;
  // Scribble over bytes in the middle: that chunk is lost, the rest reads.
  std::string bad = bytes;
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 64; ++i) bad[i] = static_cast<char>(~bad[i]);
  std::string corrupt = Path("corrupt.rpf");
  std::ofstream(corrupt, std::ios::binary) << bad;
  r = RunCommand({kBin, "report", "-i", corrupt});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("damaged"), std::string::npos) << r.err;
  // Not a recording at all.
  std::string junk = Path("junk.rpf");
  std::ofstream(junk) << "this is not a recording\n";
  ExpectOneLineError(RunCommand({kBin, "report", "-i", junk}), "junk.rpf");
  ExpectOneLineError(RunCommand({kBin, "report", "-i", Path("missing.rpf")}), "missing.rpf");
}

// SIGKILL leaves no END chunk, but every chunk written before the kill
// stays readable. The recorder is killed once the file holds samples from
// two flushes (a second apart), however long its set-up took.
TEST_F(RecordTest, KilledRecorderLeavesAReadableFile) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string rec = Path("killed.rpf");
  std::vector<std::string> argv = {kBin, "record", "-F", "999", "-o", rec, "--"};
  argv.insert(argv.end(), kChainUntilKilled.begin(), kChainUntilKilled.end());
  Process recorder = Process::Start(argv);
  const SamplesSeen seen = WaitForSamples(recorder, rec, 200, 2);
  ASSERT_TRUE(seen.reached) << seen.samples << " samples in " << seen.batches << " reads; "
                            << recorder.err();
  // The command the recorder forked outlives it: take charge of it first.
  std::vector<Process> commands;
  for (pid_t kid : testing::ChildrenOf(recorder.pid())) {
    commands.push_back(Process::Attach(kid, recorder.pid()));
  }
  ASSERT_FALSE(commands.empty());
  recorder.Signal(SIGKILL);
  EXPECT_EQ(recorder.Wait(), 128 + SIGKILL);
  for (Process& c : commands) {
    EXPECT_TRUE(c.valid());
    c.Signal(SIGKILL);
    c.Wait();
  }
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.missing_end);
  EXPECT_GE(static_cast<int64_t>(r->samples.size()), seen.samples)
      << "samples written before the kill are kept";
  RunResult rep = RunCommand({kBin, "report", "-i", rec});
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.err.find("damaged"), std::string::npos) << rep.err;
  EXPECT_NE(rep.out.find(" c\n"), std::string::npos) << rep.out;
}

// SIGINT ends the recording cleanly: the file is finished (END chunk) and
// keeps everything it held before the signal.
TEST_F(RecordTest, InterruptedRecorderFinishesTheFile) {
  SKIP_UNLESS_RECORDING_WORKS();
  Process target = Process::Start(kChainUntilKilled);
  ASSERT_TRUE(WaitForExec(target, kChainUntilKilled[0]));
  const std::string rec = Path("int.rpf");
  Process recorder =
      Process::Start({kBin, "record", "-p", std::to_string(target.pid()), "-o", rec});
  const SamplesSeen seen = WaitForSamples(recorder, rec, 300);
  ASSERT_TRUE(seen.reached) << seen.samples << " samples; " << recorder.err();
  recorder.Signal(SIGINT);
  EXPECT_EQ(recorder.Wait(), 0) << recorder.err();
  EXPECT_FALSE(target.Exited()) << "ringprof ends only processes it started";
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.empty()) << "SIGINT ends the recording cleanly";
  EXPECT_GE(static_cast<int64_t>(r->samples.size()), seen.samples);
}

TEST_F(RecordTest, PprofAgreesWithReport) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (!testing::HaveTool("go")) GTEST_SKIP() << "go (golang-go) missing";
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "1"});
  std::string pb = Path("out.pb.gz");
  RunResult conv = RunCommand({kBin, "pprof", "-i", rec, "-o", pb});
  ASSERT_EQ(conv.status, 0) << conv.err;
  RunResult top = GoPprof({"-top", pb});
  ASSERT_EQ(top.status, 0) << top.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(top.out, m, std::regex("of ([0-9]+) total"))) << top.out;
  int64_t pprof_total = std::stoll(m[1]);
  // First row after the column header: "flat flat% sum% cum cum% name".
  std::regex row(R"(\n\s*[0-9.]+\w*\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+\w*\s+[0-9.]+%\s+(\S+))");
  ASSERT_TRUE(std::regex_search(top.out, m, row)) << top.out;
  std::string pprof_top = m[1];

  formats::Profile p = Load(rec);
  ASSERT_GE(static_cast<int64_t>(p.sample_count), MinSamples(999, 1.0));
  report::FunctionTable t = report::ComputeFunctionTable(p);
  ASSERT_TRUE(report::SortTable(t, "self").ok());
  ASSERT_FALSE(t.rows.empty());
  EXPECT_EQ(pprof_top, t.rows[0].name);
  EXPECT_EQ(pprof_total, t.sums[0]);
  EXPECT_EQ(pprof_top, "c");

  RunResult traces = GoPprof({"-traces", pb});
  ASSERT_EQ(traces.status, 0) << traces.err;
  EXPECT_TRUE(std::regex_search(traces.out, std::regex(R"(\bc\n\s+b\n\s+a\n\s+main)")))
      << traces.out.substr(0, 2000);
}

}  // namespace
}  // namespace ringprof
