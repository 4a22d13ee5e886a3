#include "base/atomic_file.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "tests/base/fs_testing.h"

namespace ringprof {
namespace {

using ::ringprof::testing::ListDir;
using ::ringprof::testing::ReadFile;
using ::ringprof::testing::ScratchDir;
using ::ringprof::testing::TmpfsMount;
using ::ringprof::testing::WriteSmallFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Sets the umask for one test and puts the old one back.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// Bytes that do not compress, so a gzipped or stored copy is as large.
std::string Incompressible(size_t n) {
  std::string s(n, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

TEST(AtomicFileTest, WritesTheWholeFileWithItsModeAndNoTemporaryLeft) {
  ScopedUmask mask(022);
  ScratchDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_TRUE(WriteFileAtomically(dir.File("out.svg"), "<svg/>\n").ok());
  EXPECT_EQ(ReadFile(dir.File("out.svg")), "<svg/>\n");
  EXPECT_EQ(Mode(dir.File("out.svg")), 0644u);
  ASSERT_TRUE(WriteFileAtomically(dir.File("p.pb.gz"), "x", {.mode = 0600, .binary = true}).ok());
  EXPECT_EQ(Mode(dir.File("p.pb.gz")), 0600u);
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("out.svg", "p.pb.gz"));

  // Replacing: new content, and a file the user made private stays private.
  ASSERT_EQ(::chmod(dir.File("out.svg").c_str(), 0600), 0);
  ASSERT_TRUE(WriteFileAtomically(dir.File("out.svg"), "second").ok());
  EXPECT_EQ(ReadFile(dir.File("out.svg")), "second");
  EXPECT_EQ(Mode(dir.File("out.svg")), 0600u);
  // The umask applies.
  ScopedUmask strict(077);
  ASSERT_TRUE(WriteFileAtomically(dir.File("new.txt"), "").ok());
  EXPECT_EQ(Mode(dir.File("new.txt")), 0600u);
  EXPECT_EQ(ReadFile(dir.File("new.txt")), "");
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("new.txt", "out.svg", "p.pb.gz"));
}

TEST(AtomicFileTest, MissingDirectoryFailsAndLeavesNothing) {
  ScratchDir dir;
  const std::string path = dir.File("missing/out.svg");
  absl::Status s = WriteOutput(path, "data");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("writing " + path + ": No such file or directory"));
  EXPECT_THAT(s.message(), HasSubstr("errno 2"));
  EXPECT_THAT(ListDir(dir.path()), IsEmpty());
}

TEST(AtomicFileTest, PathsThatAreNotTextAreShownEscaped) {
  ScratchDir dir;
  const std::string path = dir.File("caf\xe9\x01/x.svg");
  absl::Status s = WriteOutput(path, "data");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("caf\\xe9\\x01/x.svg"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("\xe9")));
}

TEST(AtomicFileTest, DirectoryTargetIsRefused) {
  ScratchDir dir;
  absl::Status s = WriteOutput(dir.path(), "data");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("errno 21"));  // EISDIR
  s = WriteOutput(dir.File("sub/"), "data");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(ListDir(dir.path()), IsEmpty());
}

// A write that fails part way (here: RLIMIT_FSIZE, which works without
// root) must leave the file that was there as it was.
TEST(AtomicFileTest, FailedWriteLeavesTheOldFileUntouched) {
  ScratchDir dir;
  const std::string path = dir.File("out.svg");
  ASSERT_TRUE(WriteSmallFile(path, "old graph"));
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  absl::Status s = WriteOutput(path, std::string(64 << 10, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("writing " + path + ": File too large (errno 27)"));
  EXPECT_EQ(ReadFile(path), "old graph");
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("out.svg"));
}

TEST(AtomicFileTest, FullDiskFailsWithEnospcAndLeavesNoPartialFile) {
  TmpfsMount disk("size=64k,mode=0755");
  if (disk.dir().empty()) GTEST_SKIP() << disk.reason();
  ASSERT_TRUE(WriteSmallFile(disk.File("old.svg"), "old graph"));
  const std::string big = Incompressible(1 << 20);

  absl::Status s = WriteOutput(disk.File("new.svg"), big);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(),
              HasSubstr("writing " + disk.File("new.svg") + ": No space left on device"));
  EXPECT_THAT(s.message(), HasSubstr("errno 28"));
  EXPECT_THAT(ListDir(disk.dir()), ElementsAre("old.svg"));

  s = WriteOutput(disk.File("old.svg"), big, {.mode = 0600, .binary = true});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  EXPECT_EQ(ReadFile(disk.File("old.svg")), "old graph");
  EXPECT_THAT(ListDir(disk.dir()), ElementsAre("old.svg"));

  // The space the failed writes took is free again.
  EXPECT_TRUE(WriteOutput(disk.File("small.svg"), std::string(32 << 10, 's')).ok());
}

TEST(AtomicFileTest, ReadOnlyDirectoryFailsAndLeavesNothing) {
  ScratchDir scratch;
  std::string dir;
  std::optional<TmpfsMount> ro;
  if (::geteuid() == 0) {
    // chmod does not stop root: a read-only mount does.
    ro.emplace("size=64k", /*read_only=*/true);
    if (ro->dir().empty()) GTEST_SKIP() << ro->reason();
    dir = ro->dir();
  } else {
    dir = scratch.File("ro");
    ASSERT_EQ(::mkdir(dir.c_str(), 0555), 0);
  }
  absl::Status s = WriteOutput(dir + "/out.svg", "data");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("writing " + dir + "/out.svg: "));
  EXPECT_THAT(s.message(), ::testing::AnyOf(HasSubstr("errno 30"), HasSubstr("errno 13")));
  EXPECT_THAT(ListDir(dir), IsEmpty());
}

TEST(AtomicFileTest, SymlinkIsFollowedAndFifoIsWrittenInPlace) {
  ScratchDir dir;
  ASSERT_TRUE(WriteSmallFile(dir.File("real.svg"), "old"));
  ASSERT_EQ(::symlink("real.svg", dir.File("link.svg").c_str()), 0);
  ASSERT_TRUE(WriteOutput(dir.File("link.svg"), "new").ok());
  struct stat st {};
  ASSERT_EQ(::lstat(dir.File("link.svg").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(ReadFile(dir.File("real.svg")), "new");

  ASSERT_EQ(::mkfifo(dir.File("pipe").c_str(), 0600), 0);
  int reader = ::open(dir.File("pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(WriteOutput(dir.File("pipe"), "through the pipe").ok());
  char buf[64] = {};
  EXPECT_EQ(::read(reader, buf, sizeof buf), 16);
  EXPECT_EQ(std::string(buf), "through the pipe");
  ::close(reader);
  ASSERT_EQ(::lstat(dir.File("pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("link.svg", "pipe", "real.svg"));
}

// Points the standard output at `fd` for the life of the object.
class ScopedStdout {
 public:
  explicit ScopedStdout(int fd) : saved_(::dup(STDOUT_FILENO)) {
    std::fflush(stdout);
    ::dup2(fd, STDOUT_FILENO);
  }
  ~ScopedStdout() {
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST(AtomicFileTest, DashIsTheStandardOutput) {
  ScratchDir dir;
  const std::string captured = dir.File("stdout");
  int fd = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  absl::Status s, binary;
  {
    ScopedStdout redirect(fd);
    s = WriteOutput("-", "text\n");
    binary = WriteOutput("-", std::string("\x1f\x8b\x08", 3), {.mode = 0600, .binary = true});
  }
  ASSERT_EQ(::chdir(cwd), 0);
  ::close(fd);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(binary.ok()) << binary;  // a file, not a terminal
  EXPECT_EQ(ReadFile(captured), std::string("text\n\x1f\x8b\x08", 8));
  EXPECT_THAT(ListDir(dir.path()), ElementsAre("stdout"));  // no file named "-"
}

TEST(AtomicFileTest, BinaryOutputToATerminalIsRefused) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) GTEST_SKIP() << "no pseudo-terminal: " << std::strerror(errno);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave_path = ::ptsname(master);
  int slave = ::open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  const OutputOptions pprof{.mode = 0600, .binary = true};
  absl::Status check, write, text, device;
  {
    ScopedStdout redirect(slave);
    check = CheckOutputTarget("-", pprof);
    write = WriteOutput("-", "\x1f\x8b binary", pprof);
    text = WriteOutput("-", "text\n");
  }
  device = WriteOutput(slave_path, "\x1f\x8b binary", pprof);
  EXPECT_EQ(check.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(check.message(), "standard output is a terminal and the output is binary");
  EXPECT_EQ(write.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(device.code(), absl::StatusCode::kFailedPrecondition) << device;
  EXPECT_TRUE(text.ok()) << text;
  EXPECT_TRUE(CheckOutputTarget("out.pb.gz", pprof).ok());
  // Only the text reached the terminal.
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  std::string got;
  char buf[256];
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) got.append(buf, n);
  EXPECT_THAT(got, HasSubstr("text"));
  EXPECT_THAT(got, ::testing::Not(HasSubstr("binary")));
  ::close(slave);
  ::close(master);
}

}  // namespace
}  // namespace ringprof
