// `ringprof addr2line` against binutils addr2line on the workload.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tests/symbolizer/test_util.h"

namespace ringprof::symbolizer {
namespace {

using testing::RunCommand;
using testing::RunResult;
using testing::RunShell;
using testing::TimeLimit;

// How long one run of either addr2line may take before it counts as hung
// (it is then stopped, and the test fails instead of hanging).
constexpr std::chrono::seconds kTimeLimit{20};

// `tool ARGS` (no shell) within `limit`.
RunResult RunTool(const std::string& tool, const std::vector<std::string>& args,
                  std::chrono::seconds limit = kTimeLimit) {
  std::vector<std::string> argv = {tool};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, TimeLimit(limit));
}

// Splits -a output into one block per address (the address line starts one).
std::vector<std::string> Blocks(const std::string& out) {
  std::vector<std::string> blocks;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0x", 0) == 0 && (line.size() == 18 || line[18] == ':')) blocks.emplace_back();
    if (blocks.empty()) blocks.emplace_back();
    blocks.back() += line + "\n";
  }
  return blocks;
}

class Addr2lineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveTool("addr2line")) GTEST_SKIP() << "binutils addr2line is not installed";
    const auto syms = testing::ReadNm(WORKLOAD_DWARF5);
    if (syms.empty()) GTEST_SKIP() << "nm is not available";
    // Every other byte of every sized function symbol: a few hundred addresses.
    for (const auto& [name, s] : syms) {
      if (s.size == 0 || s.size > 4096) continue;
      for (uint64_t d = 0; d < s.size; d += 2)
        addrs_.push_back(absl::StrFormat("0x%x", s.addr + d));
    }
    ASSERT_GT(addrs_.size(), 200u);
    addr_file_ = ::testing::TempDir() + "/rp_addr2line_addrs.txt";
    std::ofstream(addr_file_) << absl::StrJoin(addrs_, "\n") << "\n";
  }

  std::string Run(const std::string& tool, const std::string& flags) {
    RunResult r =
        RunShell(tool + " " + flags + " -e '" + WORKLOAD_DWARF5 + "' < '" + addr_file_ + "'");
    EXPECT_TRUE(r.ok()) << tool << " " << flags << ": " << r.err;
    return r.ok() ? r.out : "";
  }

  std::vector<std::string> addrs_;
  std::string addr_file_;
};

TEST_F(Addr2lineTest, MatchesBinutilsForEveryFlagCombination) {
  for (const char* flags : {"-a", "-a -f", "-a -i", "-a -f -i", "-a -f -C", "-a -f -i -C", "-a -p",
                            "-a -p -f -i -C", "-a -s -f -i", "-a -p -s -f -C"}) {
    SCOPED_TRACE(flags);
    std::vector<std::string> ours = Blocks(Run(ADDR2LINE_DRIVER, flags));
    std::vector<std::string> theirs = Blocks(Run("addr2line", flags));
    ASSERT_EQ(ours.size(), addrs_.size());
    ASSERT_EQ(theirs.size(), addrs_.size());
    size_t same = 0;
    std::string first_diff;
    for (size_t i = 0; i < ours.size(); ++i) {
      if (ours[i] == theirs[i]) {
        ++same;
      } else if (first_diff.empty()) {
        first_diff = "ringprof:\n" + ours[i] + "binutils:\n" + theirs[i];
      }
    }
    // Known deviation: binutils names inter-function padding after the
    // preceding symbol; ringprof (like llvm-symbolizer) says "??".
    EXPECT_GE(same * 100, ours.size() * 97) << same << "/" << ours.size() << "\n" << first_diff;
  }
}

TEST_F(Addr2lineTest, ArgumentsAndStdinAgree) {
  std::string args;
  for (size_t i = 0; i < 20; ++i) args += " " + addrs_[i * 7 % addrs_.size()];
  RunResult a =
      RunShell(std::string(ADDR2LINE_DRIVER) + " -f -i -e '" + WORKLOAD_DWARF5 + "'" + args);
  RunResult b = RunShell("addr2line -f -i -e '" + std::string(WORKLOAD_DWARF5) + "'" + args);
  ASSERT_TRUE(a.ok() && b.ok()) << a.err << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(Addr2lineCliTest, HelpAndErrors) {
  RunResult help = RunCommand({ADDR2LINE_DRIVER, "--help"});
  ASSERT_TRUE(help.ok()) << help.err;
  EXPECT_THAT(help.out, ::testing::HasSubstr("usage: ringprof addr2line"));
  // A missing file: one line on stderr, non-zero exit.
  RunResult missing = RunCommand({ADDR2LINE_DRIVER, "-e", "/nonexistent/binary", "0x10"});
  EXPECT_NE(missing.status, 0);
  EXPECT_EQ(missing.err, "ringprof addr2line: '/nonexistent/binary': No such file\n");
  // Unknown addresses print binutils' placeholders.
  RunResult unknown = RunCommand({ADDR2LINE_DRIVER, "-a", "-f", "-e", WORKLOAD_DWARF5, "0x1"});
  ASSERT_TRUE(unknown.ok()) << unknown.err;
  EXPECT_EQ(unknown.out, "0x0000000000000001\n??\n??:0\n");
}

// Inputs that are not a usable ELF: a non-zero exit within seconds (never
// a hang on a FIFO), nothing on stdout, one line on stderr in binutils'
// words where binutils has them, and binutils' exit code.
TEST(Addr2lineCliTest, RefusesBadFilesWithOneLine) {
  testing::TempDir dir;
  const bool have_binutils = testing::HaveTool("addr2line");
  const std::vector<testing::BadInput> inputs = testing::MakeBadInputs(WORKLOAD_DWARF5, dir.path());
  ASSERT_GE(inputs.size(), 10u);
  std::vector<testing::BadInput> all = inputs;
  all.push_back({"char-device", "/dev/null",
                 "'/dev/null' is not an ordinary file (a character device)", true, true, true});
  for (const testing::BadInput& in : all) {
    SCOPED_TRACE(in.name);
    const std::string want = (in.warning ? "Warning: " : "") + in.message;
    RunResult ours =
        RunTool(ADDR2LINE_DRIVER, {"-f", "-e", in.path, "0x1000"}, std::chrono::seconds(10));
    EXPECT_EQ(ours.status, 1) << ours.err;
    EXPECT_LT(ours.seconds, 5.0);
    EXPECT_EQ(ours.out, "");
    ASSERT_FALSE(ours.err.empty());
    EXPECT_EQ(std::count(ours.err.begin(), ours.err.end(), '\n'), 1) << ours.err;
    EXPECT_TRUE(ours.err.starts_with("ringprof addr2line: ")) << ours.err;
    const std::string line = ours.err.substr(20, ours.err.size() - 21);
    if (in.exact) {
      EXPECT_EQ(line, want);
    } else {
      EXPECT_TRUE(line.starts_with(want)) << line << "\nwanted: " << want << "...";
    }
    if (!have_binutils) continue;
    RunResult theirs =
        RunTool("addr2line", {"-f", "-e", in.path, "0x1000"}, std::chrono::seconds(10));
    EXPECT_EQ(ours.status, theirs.status) << theirs.err;
    if (!in.binutils_words) continue;
    // binutils may warn first; its last line is the error.
    std::string last = theirs.err;
    if (!last.empty() && last.back() == '\n') last.pop_back();
    last = last.substr(last.rfind('\n') + 1);
    ASSERT_TRUE(last.starts_with("addr2line: ")) << theirs.err;
    EXPECT_TRUE(line.starts_with(last.substr(11)))
        << "ours:     " << line << "\nbinutils: " << last;
  }
}

TEST(Addr2lineCliTest, BadFileFailsBeforeReadingStdin) {
  // Addresses come from an endless stdin: the file must be checked first.
  RunResult r =
      RunShell("yes 0x1000 | '" + std::string(ADDR2LINE_DRIVER) + "' -e /nonexistent/binary",
               TimeLimit(kTimeLimit));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err, "ringprof addr2line: '/nonexistent/binary': No such file\n");
}

// DWARF that libdw cannot decode: the addresses still print as binutils
// prints them (the symbol table's name, ??:?), then one error line; the
// exit code is 1 where binutils says nothing and exits 0.
TEST(Addr2lineCliTest, UndecodableDwarfIsAnErrorLine) {
  auto [off, size] = testing::SectionFileRange(WORKLOAD_DWARF5, ".debug_info");
  if (size == 0) GTEST_SKIP() << "readelf is not available";
  testing::TempDir dir;
  std::vector<char> bytes = testing::ReadAll(WORKLOAD_DWARF5);
  for (uint64_t i = 0; i < size; ++i) bytes[off + i] = i < 64 ? '\xff' : static_cast<char>(i * 37);
  const std::string path = dir.path() + "/garbage-debug-info";
  testing::WriteAll(path, bytes);
  const auto syms = testing::ReadNm(WORKLOAD_DWARF5);
  const std::string addr = absl::StrFormat("0x%x", syms.at("_ZN11rp_workload6ChainAEi").addr);
  const std::vector<std::string> args = {"-f", "-e", path, addr, "0x1"};
  RunResult ours = RunTool(ADDR2LINE_DRIVER, args);
  EXPECT_EQ(ours.out, "_ZN11rp_workload6ChainAEi\n??:?\n??\n??:0\n");
  EXPECT_EQ(ours.status, 1);
  EXPECT_THAT(ours.err, ::testing::StartsWith("ringprof addr2line: " + path + ": DWARF error: "));
  EXPECT_THAT(ours.err, ::testing::EndsWith("(2 of 2 addresses)\n"));
  EXPECT_EQ(std::count(ours.err.begin(), ours.err.end(), '\n'), 1) << ours.err;
  if (testing::HaveTool("addr2line")) {
    RunResult theirs = RunTool("addr2line", args);
    EXPECT_EQ(ours.out, theirs.out);
  }
}

// A well-formed ELF without debug info is not an error: binutils' ?? and exit 0.
TEST(Addr2lineCliTest, NoDebugInfoIsNotAnError) {
  if (!testing::HaveTool("objcopy")) GTEST_SKIP() << "objcopy is not available";
  testing::TempDir dir;
  const std::string stripped = dir.path() + "/stripped";
  RunResult strip = RunCommand({"objcopy", "--strip-debug", WORKLOAD_DWARF5, stripped});
  ASSERT_TRUE(strip.ok()) << strip.err;
  const auto syms = testing::ReadNm(WORKLOAD_DWARF5);
  const std::string chain_a = absl::StrFormat("0x%x", syms.at("_ZN11rp_workload6ChainAEi").addr);
  const std::vector<std::string> args = {"-a", "-f", "-e", stripped, chain_a, "0x1"};
  RunResult ours = RunTool(ADDR2LINE_DRIVER, args);
  EXPECT_EQ(ours.status, 0);
  EXPECT_EQ(ours.err, "");
  EXPECT_THAT(ours.out, ::testing::HasSubstr("_ZN11rp_workload6ChainAEi\n??:?\n"));
  if (testing::HaveTool("addr2line")) {
    RunResult theirs = RunTool("addr2line", args);
    EXPECT_EQ(ours.out, theirs.out);
    EXPECT_EQ(theirs.status, 0);
  }
  // And the unstripped file: exit 0, silent stderr, a real line.
  RunResult good = RunTool(ADDR2LINE_DRIVER, {"-e", WORKLOAD_DWARF5, chain_a});
  EXPECT_EQ(good.status, 0);
  EXPECT_EQ(good.err, "");
  EXPECT_THAT(good.out, ::testing::MatchesRegex(".*workload\\.cc:[0-9]+\n"));
}

}  // namespace
}  // namespace ringprof::symbolizer
