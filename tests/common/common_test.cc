// The shared test helpers: running programs, owning background processes,
// scratch directories, waiting for a state.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/common/files.h"
#include "tests/common/subprocess.h"
#include "tests/common/wait.h"

namespace ringprof::testing {
namespace {

using std::chrono::milliseconds;

TEST(RunCommandTest, CapturesStatusAndBothStreams) {
  RunResult r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.ok());
}

TEST(RunCommandTest, KilledIs128PlusSignalAndMissingIs127) {
  EXPECT_EQ(RunShell("kill -9 $$").status, 128 + SIGKILL);
  EXPECT_EQ(RunCommand({"/nonexistent/program"}).status, 127);
}

TEST(RunCommandTest, OptionsSetEnvironmentDirectoryAndStdin) {
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.File("in.txt"), "from stdin\n"));
  RunOptions o;
  o.cwd = dir.path();
  o.env = {"RINGPROF_TEST_VAR=set", "HOME=" + dir.path()};
  o.stdin_path = dir.File("in.txt");
  RunResult r = RunShell("echo $RINGPROF_TEST_VAR $HOME; pwd; cat", o);
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(r.out, "set " + dir.path() + "\n" + dir.path() + "\nfrom stdin\n");
  EXPECT_TRUE(HaveTool("sh"));
  EXPECT_FALSE(HaveTool("no-such-tool-ringprof"));
}

TEST(RunCommandTest, WithinItsTimeLimitRunsAsWithout) {
  RunResult r = RunShell("echo out; echo err >&2; exit 3", TimeLimit(milliseconds(60'000)));
  EXPECT_EQ(r.status, 3);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_GE(r.seconds, 0);
  EXPECT_LT(r.seconds, 60);
}

TEST(RunCommandTest, TimeLimitStopsABlockingProgram) {
  // Blocks on stdin forever, as a program reading a FIFO would.
  TempDir dir;
  const std::string fifo = dir.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunOptions o = TimeLimit(milliseconds(200));
  RunResult r = RunShell("echo before; exec cat '" + fifo + "'", o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status, 124) << "as timeout(1) reports it";
  EXPECT_EQ(r.out, "before\n");
  EXPECT_GE(r.seconds, 0.2);
  EXPECT_LT(r.seconds, kHangGuard.count() / 1000.0);
}

TEST(RunCommandTest, TimeLimitKillsWhatIgnoresSigtermAndTheWholeGroup) {
  // The shell ignores SIGTERM (SIGKILL follows after kill_after); its
  // background sleep is in its process group and is stopped with it.
  TempDir dir;
  RunOptions o = TimeLimit(milliseconds(200));
  o.kill_after = milliseconds(100);
  RunResult r = RunShell("trap '' TERM; sleep 1000 & echo $! > '" + dir.File("pid") +
                             "'; while :; do sleep 0.05; done",
                         o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status, 124);
  const pid_t sleeper = std::atoi(Slurp(dir.File("pid")).c_str());
  ASSERT_GT(sleeper, 0);
  // Gone, or a zombie its new parent has not reaped yet (or, should the pid
  // have been reused, not our sleep).
  EXPECT_TRUE(WaitUntil([&] {
    const std::string stat = Slurp("/proc/" + std::to_string(sleeper) + "/stat");
    const size_t paren = stat.rfind(')');
    return paren == std::string::npos || stat.find("(sleep)") == std::string::npos ||
           stat.compare(paren, 3, ") Z") == 0;
  }));
}

TEST(TempDirTest, IsRemovedWithItsContents) {
  std::string path;
  {
    TempDir dir("ringprof-common-test");
    path = dir.path();
    ASSERT_FALSE(path.empty());
    ASSERT_TRUE(WriteFile(dir.File("a"), "bytes"));
    EXPECT_EQ(Slurp(dir.File("a")), "bytes");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(Slurp(path + "/a"), "");
}

TEST(WaitUntilTest, ReturnsOnTheStateOrAtTheDeadline) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++calls == 3; }, milliseconds(10'000), milliseconds(1)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(WaitUntil([] { return false; }, milliseconds(30), milliseconds(5)));
}

TEST(ProcessTest, SignalWaitAndOutput) {
  Process p = Process::Start({"/bin/sh", "-c", "echo started; exec sleep 100"});
  ASSERT_TRUE(p.valid());
  EXPECT_TRUE(WaitUntil([&] { return p.out() == "started\n"; }));
  EXPECT_FALSE(p.Exited());
  EXPECT_TRUE(p.Signal(SIGTERM));
  EXPECT_EQ(p.Wait(), 128 + SIGTERM);
  EXPECT_TRUE(p.Exited());
  EXPECT_FALSE(p.Signal(SIGTERM)) << "a reaped process is never signalled";
}

TEST(ProcessTest, DestructorKillsAndReaps) {
  pid_t pid = -1;
  {
    Process p = Process::Start({"sleep", "100"});
    pid = p.pid();
    ASSERT_GT(pid, 0);
  }
  // Reaped: no zombie is left under this pid for us.
  EXPECT_NE(Process::ParentOf(pid), getpid());
}

TEST(ProcessTest, AttachesOnlyToAChildOfTheGivenParent) {
  Process parent = Process::Start({"/bin/sh", "-c", "sleep 100 & wait"});
  ASSERT_TRUE(parent.valid());
  std::vector<pid_t> kids;
  ASSERT_TRUE(WaitUntil([&] { return !(kids = ChildrenOf(parent.pid())).empty(); }));
  EXPECT_FALSE(Process::Attach(kids[0], getpid()).valid()) << "not our child";
  Process kid = Process::Attach(kids[0], parent.pid());
  ASSERT_TRUE(kid.valid());
  EXPECT_FALSE(kid.Exited());
  EXPECT_TRUE(kid.Signal(SIGKILL));
  EXPECT_EQ(kid.Wait(), -1) << "its status goes to its parent";
  EXPECT_TRUE(kid.Exited());
  EXPECT_EQ(parent.Wait(), 0) << "sh: wait without operands returns 0 once its job is gone";
}

}  // namespace
}  // namespace ringprof::testing
