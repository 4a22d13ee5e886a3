// The reading commands' -o through the ringprof binary: '-' is the
// standard output (pprof included, never a terminal), errors name the path
// and errno, and names that are not text reach stdout escaped.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "formats/profile.pb.h"
#include "formats/recording.h"
#include "symbolizer/symbolizer.h"
#include "tests/base/fs_testing.h"
#include "tests/common/files.h"
#include "tests/common/subprocess.h"
#include "tests/report/test_tools.h"

namespace ringprof {
namespace {

using ::ringprof::testing::ListDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kBin = RINGPROF_BIN;

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return "";
  std::string out;
  char buf[1 << 14];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

// A recording of report_target (symbolizable) plus a library whose path
// is Latin-1 and is not on this machine (named by offset).
class CliOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    const std::string target = RINGPROF_REPORT_TARGET;
    auto leaf = ringprof::testing::FindFunction(target, "rp_leaf");
    auto main_fn = ringprof::testing::FindFunction(target, "main");
    ASSERT_TRUE(leaf && main_fn);
    absl::StatusOr<std::string> build_id = symbolizer::ReadBuildId(target);
    ASSERT_TRUE(build_id.ok()) << build_id.status();
    std::vector<formats::EventDesc> events = {{.name = "cpu-clock",
                                               .type = 1,
                                               .config = 0,
                                               .freq = false,
                                               .sample_freq_or_period = 1000000,
                                               .unit = "nanoseconds"}};
    std::vector<formats::Mapping> mappings = {{.id = 1,
                                               .pid = 300,
                                               .start = 0x400000,
                                               .end = 0x410000,
                                               .build_id = *build_id,
                                               .path = target},
                                              {.id = 2,
                                               .pid = 300,
                                               .start = 0x7f0000000000,
                                               .end = 0x7f0000010000,
                                               .build_id = "",
                                               .path = "/nonexistent/caf\xe9.so"}};
    std::vector<formats::TaskEvent> tasks = {
        {.kind = formats::TaskEventKind::kComm, .pid = 300, .tid = 300, .comm = "t\x01"}};
    formats::Sample s;
    s.time_ns = 1'500'000'000;
    s.pid = 300;
    s.tid = 300;
    s.period = 1000000;
    s.user_frames = {{1, leaf->file_offset + 4}, {1, main_fn->file_offset + 8}};
    formats::Sample lib = s;
    lib.user_frames = {{2, 0x10}, {1, main_fn->file_offset + 8}};
    std::vector<formats::Sample> samples = {s, s, lib};

    rec_ = dir_.File("rec.rpf");
    auto w = formats::RecordingWriter::Create(rec_);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->WriteMeta({}, events, {}, 1'000'000'000).ok());
    ASSERT_TRUE((*w)->WriteMappings(mappings).ok());
    ASSERT_TRUE((*w)->WriteTasks(tasks).ok());
    ASSERT_TRUE((*w)->WriteSamples(samples).ok());
    ASSERT_TRUE((*w)->Finish({}, 2'000'000'000).ok());
  }

  testing::RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), kBin);
    testing::RunOptions o;
    o.cwd = dir_.path();
    return testing::RunCommand(args, o);
  }

  ringprof::testing::TempDir dir_;
  std::string rec_;
};

TEST_F(CliOutputTest, PprofDashWritesTheProfileToStandardOutput) {
  testing::RunResult r = Run({"pprof", "-i", rec_, "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_GE(r.out.size(), 2u);
  EXPECT_EQ(r.out.substr(0, 2), "\x1f\x8b");  // gzip
  pprof::Profile p;
  ASSERT_TRUE(p.ParseFromString(Gunzip(r.out)));
  EXPECT_THAT(p.string_table(), ::testing::Contains("rp_leaf"));
  EXPECT_THAT(p.string_table(), ::testing::Contains("caf\\xe9.so+0x10"));
  EXPECT_THAT(p.string_table(), ::testing::Contains("t\\x01"));
  // Not a file named "-".
  EXPECT_THAT(ListDir(dir_.path()), ElementsAre("rec.rpf"));
}

TEST_F(CliOutputTest, FlamegraphDashWritesToStandardOutputWithNamesEscaped) {
  testing::RunResult r = Run({"flamegraph", "-i", rec_, "-o", "-", "--minwidth", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("<?xml"));
  EXPECT_THAT(r.out, HasSubstr("caf\\xe9.so+0x10"));
  EXPECT_THAT(r.out, Not(HasSubstr("\xe9")));
  r = Run({"flamegraph", "-i", rec_, "--folded", "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("main;caf\\xe9.so+0x10 1\n"));
  r = Run({"report", "-i", rec_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("300 t\\x01"));
  EXPECT_THAT(r.out, Not(HasSubstr("\x01")));
  EXPECT_THAT(ListDir(dir_.path()), ElementsAre("rec.rpf"));
}

TEST_F(CliOutputTest, OutputErrorsNameThePathErrnoAndWhatToDo) {
  testing::RunResult r = Run({"pprof", "-i", rec_, "-o", "missing/p.pb.gz"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err,
            "ringprof pprof: cannot write the profile: writing missing/p.pb.gz: No such file or "
            "directory (errno 2); create the directory or choose another path with -o\n");
  r = Run({"diff", rec_, rec_, "-o", "missing/d.svg"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("writing missing/d.svg: No such file or directory (errno 2)"));
  r = Run({"flamegraph", "-i", rec_, "-o", "missing\xe9/g.svg"});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("writing missing\\xe9/g.svg: "));
  EXPECT_THAT(ListDir(dir_.path()), ElementsAre("rec.rpf"));
}

TEST_F(CliOutputTest, PprofRefusesToWriteToATerminal) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) GTEST_SKIP() << "no pseudo-terminal: " << std::strerror(errno);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  const std::string slave_path = ::ptsname(master);
  const std::string err_path = dir_.File("stderr");
  pid_t pid = ::fork();
  if (pid == 0) {
    int slave = ::open(slave_path.c_str(), O_RDWR | O_NOCTTY);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (slave < 0 || err < 0 || ::chdir(dir_.path().c_str()) != 0) _exit(126);
    ::dup2(slave, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execl(kBin.c_str(), kBin.c_str(), "pprof", "-i", rec_.c_str(), "-o", "-", nullptr);
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(ringprof::testing::ReadFile(err_path),
            "ringprof pprof: will not write the profile: standard output is a terminal and the "
            "output is binary; redirect standard output to a file or pass -o FILE\n");
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  char buf[256];
  EXPECT_LE(::read(master, buf, sizeof buf), 0);  // nothing reached the terminal
  ::close(master);
  EXPECT_THAT(ListDir(dir_.path()), ElementsAre("rec.rpf", "stderr"));
}

}  // namespace
}  // namespace ringprof
