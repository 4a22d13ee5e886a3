// Root integration tests of what a recorder leaves behind when it is
// killed, and of recordings written where space runs out or writing is
// refused. Every wait here is for a state, with a generous deadline only
// as a guard against hanging.
#include <bpf/bpf.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "formats/recording.h"
#include "gtest/gtest.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

using testing::ChildrenOf;
using testing::WaitUntil;

// Reaps every child (this process is a subreaper, so the recorder's
// orphans come here); true once none is left.
bool NoChildrenLeft() {
  while (true) {
    int st = 0;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p > 0) continue;
    return p < 0 && errno == ECHILD;
  }
}

// What kernel objects a process holds through its file descriptors:
// the ids of its BPF programs and maps (from /proc/PID/fdinfo) and how
// many perf events it has open.
struct HeldObjects {
  std::set<uint32_t> progs;
  std::set<uint32_t> maps;
  int perf_events = 0;
};

HeldObjects ObjectsHeldBy(pid_t pid) {
  HeldObjects held;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator(dir + "/fd", ec)) {
    std::error_code link_ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), link_ec).string();
    if (target == "anon_inode:[perf_event]") ++held.perf_events;
    const bool prog = target == "anon_inode:bpf-prog";
    const bool map = target == "anon_inode:bpf-map";
    if (!prog && !map) continue;
    std::ifstream info(dir + "/fdinfo/" + fd.path().filename().string());
    std::string key;
    uint32_t id = 0;
    while (info >> key) {
      if ((prog && key == "prog_id:") || (map && key == "map_id:")) {
        if (info >> id) (prog ? held.progs : held.maps).insert(id);
        break;
      }
    }
  }
  return held;
}

// The ids of `ids` the kernel still has.
std::vector<uint32_t> StillThere(const std::set<uint32_t>& ids, bool maps) {
  std::vector<uint32_t> out;
  for (uint32_t id : ids) {
    int fd = maps ? bpf_map_get_fd_by_id(id) : bpf_prog_get_fd_by_id(id);
    if (fd >= 0) {
      close(fd);
      out.push_back(id);
    } else if (errno != ENOENT) {
      out.push_back(id);  // not provably gone
    }
  }
  return out;
}

char ProcessState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : '?';
}

// A recorder killed with SIGKILL at any point, before its command is
// released, while it runs, or while it starts or loads, leaves no process
// (the parked child, the command) and no BPF program or map behind.
TEST_F(RecordTest, KilledAtAnyPointLeavesNoProcessAndNoBpfObject) {
  SKIP_UNLESS_RECORDING_WORKS();
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << "orphans must come back to this test";
  const std::string rec = Path("killed.rpf");
  constexpr int kPoints = 20;
  int loaded = 0;  // kill points at which the recorder held BPF objects
  for (int i = 0; i < kPoints; ++i) {
    const auto delay = std::chrono::milliseconds(i * 2000 / (kPoints - 1));
    SCOPED_TRACE("killed " + std::to_string(delay.count()) + " ms after start");
    Process rp = Process::Start(
        {kBin, "record", "-q", "-o", rec, "--", kWorkloads + "/workload_chain", "30"});
    ASSERT_TRUE(rp.valid());
    std::this_thread::sleep_for(delay);  // the point of the kill, not a wait for a state
    // Frozen first, so that what it holds can be listed before the kill:
    // objects of other recorders running on the machine do not count.
    ASSERT_TRUE(rp.Signal(SIGSTOP));
    ASSERT_TRUE(WaitUntil([&] { return ProcessState(rp.pid()) == 'T'; }));
    const HeldObjects held = ObjectsHeldBy(rp.pid());
    loaded += held.progs.empty() ? 0 : 1;
    // The parked child (or the command) holds none of them.
    for (pid_t child : ChildrenOf(rp.pid())) {
      const HeldObjects c = ObjectsHeldBy(child);
      EXPECT_TRUE(c.progs.empty() && c.maps.empty() && c.perf_events == 0)
          << "child " << child << " holds " << c.progs.size() << " programs, " << c.maps.size()
          << " maps, " << c.perf_events << " perf events";
    }
    ASSERT_TRUE(rp.Signal(SIGKILL));
    EXPECT_EQ(rp.Wait(), 128 + SIGKILL) << "the recorder ended by itself";
    EXPECT_TRUE(WaitUntil(NoChildrenLeft, std::chrono::seconds(2)))
        << "a process of the recorder is still running 2 s after it was killed";
    std::vector<uint32_t> progs, maps;
    EXPECT_TRUE(WaitUntil(
        [&] {
          progs = StillThere(held.progs, false);
          maps = StillThere(held.maps, true);
          return progs.empty() && maps.empty();
        },
        std::chrono::seconds(2)))
        << "left behind: " << progs.size() << " of " << held.progs.size() << " programs, "
        << maps.size() << " of " << held.maps.size() << " maps";
    if (HasFailure()) break;
  }
  // The kills must have covered a loaded recorder, not only its first
  // milliseconds.
  EXPECT_GE(loaded, kPoints / 2);
}

// A file cut anywhere after its first chunk still says what it is: META
// comes first.
TEST_F(RecordTest, FileCutAfterItsFirstChunkStillHasItsMeta) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string rec = RecordCommand({"-F", "999", "--", kWorkloads + "/workload_chain", "0.3"});
  const std::string bytes = testing::Slurp(rec);
  const std::string marker = "RPCK";
  const size_t first = bytes.find(marker);
  ASSERT_NE(first, std::string::npos);
  const size_t second = bytes.find(marker, first + 1);
  ASSERT_NE(second, std::string::npos);
  std::vector<size_t> cuts = {second, second + 1};
  for (int k = 1; k <= 20; ++k) cuts.push_back(second + (bytes.size() - second) * k / 21);
  for (size_t cut : cuts) {
    absl::StatusOr<formats::Recording> r = formats::ParseRecording(bytes.substr(0, cut));
    ASSERT_TRUE(r.ok()) << "cut at " << cut << ": " << r.status();
    EXPECT_TRUE(r->meta_present) << "cut at " << cut;
    ASSERT_EQ(r->events.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(r->events[0].name, "cpu-clock");
    EXPECT_EQ(r->meta.at("target"), "command");
  }
}

// A tmpfs of `kib` KiB (read-only with `ro`) on `dir`, unmounted at the end.
class ScopedTmpfs {
 public:
  ScopedTmpfs(const std::string& dir, int kib, bool ro) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string opts = "size=" + std::to_string(kib) + "k,mode=0777";
    mounted_ = mount("ringprof-test", dir.c_str(), "tmpfs", ro ? MS_RDONLY : 0, opts.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~ScopedTmpfs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// A disk that fills up while recording: a clear error naming the file and
// the cause, and a file that keeps what fit and still says what it is.
TEST_F(RecordTest, FullDiskKeepsWhatFitAndSaysWhy) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string dir = Path("full");
  ScopedTmpfs fs(dir, 300, false);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << fs.error();
  const std::string rec = dir + "/r.rpf";
  RunResult r = RunCommand(
      {kBin, "record", "-F", "999", "-o", rec, "--", kWorkloads + "/workload_chain", "30"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(rec), std::string::npos) << r.err;
  absl::StatusOr<formats::Recording> got = formats::ReadRecording(rec);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->meta_present);
  EXPECT_FALSE(got->damage.empty());
  ASSERT_EQ(got->events.size(), 1u);
  RunResult rep = RunCommand({kBin, "report", "-i", rec});
  EXPECT_EQ(rep.status, 0) << rep.err;
  EXPECT_NE(rep.out.find("cpu-clock"), std::string::npos) << rep.out;
  EXPECT_NE(rep.err.find("damaged"), std::string::npos) << rep.err;
}

// A directory where nothing can be written: refused before anything
// starts, in one line, and no command is left running.
TEST_F(RecordTest, ReadOnlyOutputDirectoryIsRefusedBeforeStarting) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string dir = Path("ro");
  ScopedTmpfs fs(dir, 64, true);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a read-only tmpfs here: " << fs.error();
  const std::string rec = dir + "/r.rpf";
  RunResult r = RunCommand({kBin, "record", "-o", rec, "--", kWorkloads + "/workload_chain", "5"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(rec), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(rec));
}

}  // namespace
}  // namespace ringprof
