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
#include "tests/integration/profile_testing.h"
#include "tests/integration/subprocess.h"

namespace ringprof {
namespace {

TEST_F(RecordTest, ChainIsWholeSymbolizedAndCHoldsSelfTime) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "1.5"});
  formats::Profile p = Load(rec, "workload_chain");
  int64_t total = 0;
  int64_t chain = 0;
  int64_t c_self = 0;
  for (const Stack& s : Stacks(p, /*user_only=*/true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
    if (!s.functions.empty() && s.functions[0] == "c") c_self += s.count;
  }
  ASSERT_GT(total, 1000) << "expected about 1500 samples";
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

class RateTest : public RecordTest, public ::testing::WithParamInterface<int> {};

TEST_P(RateTest, SampleCountMatchesRateTimesCpuTime) {
  SKIP_UNLESS_RECORDING_WORKS();
  const int hz = GetParam();
  RunResult r;
  std::string rec =
      RecordCommand({"-F", std::to_string(hz), "--", kWorkloads + "/workload_chain", "2.0"}, &r);
  double cpu = CpuSecondsFromSummary(r.err);
  ASSERT_GT(cpu, 1.9) << r.err;
  absl::StatusOr<formats::Recording> recording = formats::ReadRecording(rec);
  ASSERT_TRUE(recording.ok()) << recording.status();
  double expected = hz * cpu;
  double got = static_cast<double>(recording->samples.size());
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
  ASSERT_GT(child_samples, 300) << "30 children x 20 ms at 999 Hz";
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
  EXPECT_GT(r->samples.size(), 400u);
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

TEST_F(RecordTest, ExistingProcessByPid) {
  SKIP_UNLESS_RECORDING_WORKS();
  pid_t pid = fork();
  if (pid == 0) {
    execl((kWorkloads + "/workload_chain").c_str(), "workload_chain", "3", nullptr);
    _exit(127);
  }
  usleep(200 * 1000);
  std::string rec = RecordCommand({"-p", std::to_string(pid), "--duration", "1"});
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  formats::Profile p = Load(rec);
  int64_t total = 0;
  int64_t chain = 0;
  for (const Stack& s : Stacks(p, true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
  }
  ASSERT_GT(total, 500);
  EXPECT_GE(chain, total * 95 / 100) << "mappings synthesized from /proc resolve";
}

TEST_F(RecordTest, SystemWide) {
  SKIP_UNLESS_RECORDING_WORKS();
  pid_t pid = fork();
  if (pid == 0) {
    execl((kWorkloads + "/workload_chain").c_str(), "workload_chain", "2", nullptr);
    _exit(127);
  }
  usleep(100 * 1000);
  std::string rec = RecordCommand({"-a", "-F", "199", "--duration", "1"});
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  formats::Profile p = Load(rec, "workload_chain");
  int64_t chain = 0;
  int64_t total = 0;
  for (const Stack& s : Stacks(p, true)) {
    total += s.count;
    if (HasChain(s, {"c", "b", "a", "main"})) chain += s.count;
  }
  EXPECT_GT(total, 100);
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
  if (system("command -v setpriv >/dev/null 2>&1") != 0) GTEST_SKIP() << "setpriv missing";
  // The binary must be reachable by 'nobody'.
  struct stat st;
  std::string probe = kBin;
  RunResult help =
      RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBin, "--help"});
  if (help.status != 0) GTEST_SKIP() << "build directory not accessible to uid 65534: " << help.err;
  (void)st;
  chmod(dir_.c_str(), 0777);
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

// Starts `ringprof record` in the background; returns its pid.
pid_t StartRecorder(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Pids of the direct children of `pid`.
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

TEST_F(RecordTest, KilledRecorderLeavesAReadableFile) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string rec = Path("killed.rpf");
  pid_t rp = StartRecorder(
      {kBin, "record", "-F", "999", "-o", rec, "--", kWorkloads + "/workload_chain", "6"});
  sleep(3);  // chunks are written about once a second
  std::vector<pid_t> kids = ChildrenOf(rp);
  kill(rp, SIGKILL);
  waitpid(rp, nullptr, 0);
  for (pid_t k : kids) kill(k, SIGKILL);
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.missing_end);
  EXPECT_GT(r->samples.size(), 1000u) << "samples written before the kill are kept";
  RunResult rep = RunCommand({kBin, "report", "-i", rec});
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.err.find("damaged"), std::string::npos) << rep.err;
  EXPECT_NE(rep.out.find(" c\n"), std::string::npos) << rep.out;
}

TEST_F(RecordTest, InterruptedRecorderFinishesTheFile) {
  SKIP_UNLESS_RECORDING_WORKS();
  pid_t target = fork();
  if (target == 0) {
    execl((kWorkloads + "/workload_chain").c_str(), "workload_chain", "6", nullptr);
    _exit(127);
  }
  std::string rec = Path("int.rpf");
  pid_t rp = StartRecorder({kBin, "record", "-p", std::to_string(target), "-o", rec});
  sleep(3);  // set-up (kallsyms snapshot) takes part of this
  kill(rp, SIGINT);
  int st = 0;
  waitpid(rp, &st, 0);
  kill(target, SIGKILL);
  waitpid(target, nullptr, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(rec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->damage.empty()) << "SIGINT ends the recording cleanly";
  EXPECT_GT(r->samples.size(), 300u);
}

TEST_F(RecordTest, PprofAgreesWithReport) {
  SKIP_UNLESS_RECORDING_WORKS();
  if (system("command -v go >/dev/null 2>&1") != 0) GTEST_SKIP() << "go (golang-go) missing";
  std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "1"});
  std::string pb = Path("out.pb.gz");
  RunResult conv = RunCommand({kBin, "pprof", "-i", rec, "-o", pb});
  ASSERT_EQ(conv.status, 0) << conv.err;
  setenv("HOME", dir_.c_str(), 1);
  setenv("GOCACHE", Path("gocache").c_str(), 1);
  RunResult top = RunCommand({"go", "tool", "pprof", "-top", pb});
  ASSERT_EQ(top.status, 0) << top.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(top.out, m, std::regex("of ([0-9]+) total"))) << top.out;
  int64_t pprof_total = std::stoll(m[1]);
  // First row after the column header: "flat flat% sum% cum cum% name".
  std::regex row(R"(\n\s*[0-9.]+\w*\s+[0-9.]+%\s+[0-9.]+%\s+[0-9.]+\w*\s+[0-9.]+%\s+(\S+))");
  ASSERT_TRUE(std::regex_search(top.out, m, row)) << top.out;
  std::string pprof_top = m[1];

  formats::Profile p = Load(rec);
  report::FunctionTable t = report::ComputeFunctionTable(p);
  ASSERT_TRUE(report::SortTable(t, "self").ok());
  ASSERT_FALSE(t.rows.empty());
  EXPECT_EQ(pprof_top, t.rows[0].name);
  EXPECT_EQ(pprof_total, t.sums[0]);
  EXPECT_EQ(pprof_top, "c");

  RunResult traces = RunCommand({"go", "tool", "pprof", "-traces", pb});
  ASSERT_EQ(traces.status, 0) << traces.err;
  EXPECT_TRUE(std::regex_search(traces.out, std::regex(R"(\bc\n\s+b\n\s+a\n\s+main)")))
      << traces.out.substr(0, 2000);
}

}  // namespace
}  // namespace ringprof
