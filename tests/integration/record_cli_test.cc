// Root integration tests of `ringprof record`'s command line where it
// follows perf's habits (-g, -F max, -c 0x..., several -e, the command's
// exit status, -o -) and where it refuses input with one clear line.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "formats/recording.h"
#include "gtest/gtest.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

// Non-zero exit, no crash, exactly one line on stderr naming `needle`.
void ExpectOneLine(const RunResult& r, const std::string& needle) {
  EXPECT_NE(r.status, 0) << r.err;
  EXPECT_LT(r.status, 128) << "crashed: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

// workload_faults (tests/workloads/faults.c) for `rounds` rounds of a
// compute() phase and a fault_pages() phase, each `periods` sampling
// periods of its own CPU time at the default 999 Hz long, and a last
// compute() phase: sized in CPU time, so the sample counts below hold on a
// loaded machine as on an idle one.
std::vector<std::string> FaultsCommand(int rounds, int periods) {
  return {kWorkloads + "/workload_faults", std::to_string(rounds), std::to_string(periods),
          std::to_string(1e6 / 999)};
}

formats::Recording Read(const std::string& path) {
  absl::StatusOr<formats::Recording> r = formats::ReadRecording(path);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : formats::Recording();
}

TEST_F(RecordTest, ExitStatusIsTheCommands) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string out = Path("x.rpf");
  EXPECT_EQ(RunCommand({kBin, "record", "-q", "-o", out, "--", "sh", "-c", "exit 7"}).status, 7);
  EXPECT_EQ(RunCommand({kBin, "record", "-q", "-o", out, "--", "sh", "-c", "kill -SEGV $$"}).status,
            128 + SIGSEGV);
  EXPECT_EQ(RunCommand({kBin, "record", "-q", "-o", out, "--", "true"}).status, 0);
  // The recording of a failing command is still whole.
  EXPECT_TRUE(Read(out).damage.empty());
}

TEST_F(RecordTest, DurationMustBeFiniteAndLargeMeansUnlimited) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string out = Path("d.rpf");
  for (const char* bad : {"inf", "nan", "-1", "0", "1s"}) {
    SCOPED_TRACE(bad);
    ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-d", bad, "--", "true"}), "--duration");
  }
  // 1e11 s once overflowed into a 0.02 s deadline that killed the command.
  RunResult r = RunCommand(
      {kBin, "record", "-o", out, "-d", "1e11", "--", kWorkloads + "/workload_chain", "0.3"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("command exited with status 0"), std::string::npos) << r.err;
}

TEST_F(RecordTest, PerfStyleSamplingFlags) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string out = Path("f.rpf");
  // -c in hex, on page faults.
  std::vector<std::string> argv = {kBin, "record",      "-q", "-o",   out,
                                   "-e", "page-faults", "-c", "0x10", "--"};
  for (const std::string& a : FaultsCommand(2, 2)) argv.push_back(a);
  ASSERT_EQ(RunCommand(argv).status, 0);
  formats::Recording rec = Read(out);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_FALSE(rec.events[0].freq);
  EXPECT_EQ(rec.events[0].sample_freq_or_period, 16u);
  // -F max is the kernel's limit.
  std::ifstream in("/proc/sys/kernel/perf_event_max_sample_rate");
  uint64_t max_rate = 0;
  ASSERT_TRUE(in >> max_rate);
  ASSERT_EQ(RunCommand({kBin, "record", "-q", "-o", out, "-F", "max", "--", "true"}).status, 0);
  rec = Read(out);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_TRUE(rec.events[0].freq);
  EXPECT_EQ(rec.events[0].sample_freq_or_period, max_rate);
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-c", "0x", "--", "true"}), "-c");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-F", "fast", "--", "true"}), "-F");
}

TEST_F(RecordTest, DashGIsTheDefaultCallGraphAndDwarfTakesASize) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string out = Path("g.rpf");
  const std::string chain = kWorkloads + "/workload_chain_ehframe";
  ASSERT_EQ(RunCommand({kBin, "record", "-q", "-g", "-o", out, "--", chain, "0.3"}).status, 0);
  formats::Recording rec = Read(out);
  ASSERT_GT(rec.samples.size(), 100u);
  size_t tables = 0;
  for (const formats::Sample& s : rec.samples) {
    tables += (s.flags & formats::kSampleUnwoundEhFrame) != 0;
  }
  EXPECT_GE(tables, rec.samples.size() * 9 / 10) << "-g unwinds with tables, as auto does";

  ASSERT_EQ(RunCommand(
                {kBin, "record", "-q", "--call-graph", "dwarf,4096", "-o", out, "--", chain, "0.3"})
                .status,
            0);
  rec = Read(out);
  ASSERT_GT(rec.samples.size(), 100u);
  size_t dwarf = 0;
  for (const formats::Sample& s : rec.samples)
    dwarf += (s.flags & formats::kSampleUnwoundDwarf) != 0;
  EXPECT_GE(dwarf, rec.samples.size() * 9 / 10);
  ExpectOneLine(RunCommand({kBin, "record", "--call-graph", "dwarf,7", "-o", out, "--", "true"}),
                "multiple of 8");
  ExpectOneLine(
      RunCommand({kBin, "record", "--call-graph", "dwarf,70000", "-o", out, "--", "true"}),
      "65528");
  ExpectOneLine(RunCommand({kBin, "record", "--call-graph", "fp,64", "-o", out, "--", "true"}),
                "only dwarf");
}

// -e A,B and -e A -e B sample both; every sample names its event, and the
// report has a column per event.
TEST_F(RecordTest, SeveralSamplingEventsInOneRecording) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::vector<std::vector<std::string>> spellings = {
      {"-e", "cpu-clock,page-faults"}, {"-e", "cpu-clock", "-e", "page-faults"}};
  for (const auto& flags : spellings) {
    const std::string out = Path("e.rpf");
    std::vector<std::string> argv = {kBin, "record", "-q", "-o", out};
    argv.insert(argv.end(), flags.begin(), flags.end());
    // About 360 cpu-clock samples, and 160 ms of CPU time faulting (8 x 20
    // periods). page-faults samples at 999 Hz in frequency mode, whose
    // period the kernel adapts to the fault rate as it goes: a run on a
    // loaded machine gave 19 of them at 4 rounds, so 8 rounds, and 10 of
    // each asked for below.
    argv.push_back("--");
    for (const std::string& a : FaultsCommand(8, 20)) argv.push_back(a);
    RunResult r = RunCommand(argv);
    ASSERT_EQ(r.status, 0) << r.err;
    formats::Recording rec = Read(out);
    ASSERT_EQ(rec.events.size(), 2u);
    EXPECT_EQ(rec.events[0].name, "cpu-clock");
    EXPECT_EQ(rec.events[1].name, "page-faults");
    uint64_t per_event[2] = {0, 0};
    for (const formats::Sample& s : rec.samples) {
      ASSERT_LT(s.event_index, 2u);
      ++per_event[s.event_index];
    }
    EXPECT_GE(per_event[0], 20u) << "cpu-clock samples";
    EXPECT_GE(per_event[1], 10u) << "page-fault samples";
    RunResult rep = RunCommand({kBin, "report", out});
    ASSERT_EQ(rep.status, 0) << rep.err;
    EXPECT_NE(rep.out.find("Events:                    cpu-clock, page-faults"), std::string::npos)
        << rep.out;
  }
  ExpectOneLine(
      RunCommand({kBin, "record", "-o", Path("x.rpf"), "-e", "cpu-clock,cpu-clock", "--", "true"}),
      "twice");
  ExpectOneLine(RunCommand({kBin, "record", "-o", Path("x.rpf"), "-e", "cpu-clock,page-faults",
                            "--call-graph", "dwarf", "--", "true"}),
                "one -e");
}

TEST_F(RecordTest, EventSpellingsPerfRefusesAreRefused) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string out = Path("x.rpf");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-e", "cpu-clock:p", "--", "true"}),
                "precise sampling (:p) is not supported");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-e", "cpu-clock:", "--", "true"}),
                "no modifier");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-e", "cpu-clock:uu", "--", "true"}),
                "twice");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "--counters", "page-faults,page-faults",
                            "--", "true"}),
                "twice");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "--unwind-mem", "999999G", "--", "true"}),
                "more than the limit of 64G");
  ExpectOneLine(RunCommand({kBin, "record", "-o", out, "-e", ",", "--", "true"}), "empty event");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// -o - streams the recording to stdout; the command's own stdout goes to
// stderr so that it cannot corrupt the stream; readers take -i - or FILE.
TEST_F(RecordTest, RecordingToStandardOutput) {
  SKIP_UNLESS_RECORDING_WORKS();
  RunResult r = RunCommand({kBin, "record", "-o", "-", "--", "sh", "-c",
                            "echo from-the-command; exec " + kWorkloads + "/workload_chain 0.3"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("from-the-command"), std::string::npos) << r.err;
  // Nothing of the command's precedes or interrupts the stream (the
  // command line itself is in META, so look for its output line).
  EXPECT_EQ(r.out.rfind("RINGPROF", 0), 0u);
  EXPECT_EQ(r.out.find("from-the-command\n"), std::string::npos);
  absl::StatusOr<formats::Recording> rec = formats::ParseRecording(r.out);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->damage.empty());
  EXPECT_GT(rec->samples.size(), 100u);
  EXPECT_FALSE(std::filesystem::exists(Path("-")));
  const std::string file = Path("s.rpf");
  testing::WriteFile(file, r.out);
  RunResult rep = RunCommand({kBin, "report", file});
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.out.find(" c\n"), std::string::npos) << rep.out;
  RunResult both = RunCommand({kBin, "report", "-i", file, file});
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.err.find("give one"), std::string::npos) << both.err;
}

// -p of a process that is gone by the time sampling could start: a reason,
// whichever moment it went.
TEST_F(RecordTest, ProcessThatExitsDuringSetUpGetsAReason) {
  SKIP_UNLESS_RECORDING_WORKS();
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  // Not reaped yet: a zombie, which -p must not mistake for a live process.
  RunResult r = RunCommand({kBin, "record", "-o", Path("p.rpf"), "-p", std::to_string(pid)});
  waitpid(pid, nullptr, 0);
  const bool reason = r.err.find("no process with PID") != std::string::npos ||
                      r.err.find("exited while ringprof was setting up") != std::string::npos ||
                      r.err.find("no samples: the process exited") != std::string::npos;
  EXPECT_TRUE(reason) << r.err;
  EXPECT_EQ(r.err.find("0 samples in 0.00 s"), std::string::npos) << "no bare empty summary";
}

// Reading commands: a filter that matches nothing says what is there.
TEST_F(RecordTest, FilterThatMatchesNothingSaysWhatIsThere) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string rec = RecordCommand({"--", kWorkloads + "/workload_chain", "0.3"});
  RunResult r = RunCommand({kBin, "report", "--pid", "1", rec});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("no sample of"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("workload_chain"), std::string::npos) << r.err;
  r = RunCommand({kBin, "flamegraph", "--comm", "nosuch", "-o", Path("x.svg"), rec});
  EXPECT_NE(r.err.find("matches --comm nosuch"), std::string::npos) << r.err;
}

// An unprivileged user is told plainly that recording needs root, and which
// events it may count itself (user mode only, as perf falls back to :u).
TEST_F(RecordTest, EventsAsAnUnprivilegedUserTellTheTruth) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged user";
  if (!testing::HaveTool("setpriv")) GTEST_SKIP() << "setpriv missing";
  RunResult r = RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBin,
                            "events", "--pmu", "software"});
  if (r.status == 126 || r.status == 127) GTEST_SKIP() << "binary not reachable by uid 65534";
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("'ringprof record' needs root"), std::string::npos) << r.out;
  std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
  int paranoid = 0;
  in >> paranoid;
  if (paranoid >= 2) {
    EXPECT_NE(r.out.find("page-faults                        :u only"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("CAP_PERFMON (run as root) or a lower"), std::string::npos) << r.out;
  }
}

}  // namespace
}  // namespace ringprof
