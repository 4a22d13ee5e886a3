#include "symbolizer/symbolizer.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <vector>

#include "absl/strings/escaping.h"
#include "base/scoped_fd.h"
#include "tests/symbolizer/test_util.h"

namespace ringprof::symbolizer {
namespace {

namespace fs = std::filesystem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using testing::ReadAll;
using testing::ReadMarks;
using testing::ReadNm;
using testing::RunCommand;
using testing::RunResult;
using testing::SectionFileRange;
using testing::TempDir;
using testing::WriteAll;

class WorkloadTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    binary_ = GetParam();
    marks_ = ReadMarks(WORKLOAD_SOURCE);
    syms_ = ReadNm(binary_);
    if (syms_.empty()) GTEST_SKIP() << "nm is not available";
    ASSERT_GE(marks_.size(), 8u);
    auto elf = ElfSymbolizer::Open(binary_, options_);
    ASSERT_TRUE(elf.ok()) << elf.status();
    elf_ = std::move(*elf);
  }

  uint64_t Addr(const std::string& mangled) {
    auto it = syms_.find(mangled);
    EXPECT_NE(it, syms_.end()) << mangled;
    return it == syms_.end() ? 0 : it->second.addr;
  }

  SymbolizedAddress One(uint64_t vaddr) {
    std::vector<SymbolizedAddress> r = elf_->SymbolizeVaddrs({vaddr});
    return std::move(r.at(0));
  }

  std::string binary_;
  std::map<std::string, int> marks_;
  std::map<std::string, testing::NmSymbol> syms_;
  SymbolizerOptions options_;
  std::unique_ptr<ElfSymbolizer> elf_;
};

TEST_P(WorkloadTest, FunctionEntriesHaveNamesAndLines) {
  struct Case {
    const char* mangled;
    const char* demangled;
    const char* mark;
  };
  const Case cases[] = {
      {"_ZN11rp_workload6ChainAEi", "rp_workload::ChainA(int)", "chain_a"},
      {"_ZN11rp_workload6ChainBEi", "rp_workload::ChainB(int)", "chain_b"},
      {"_ZN11rp_workload6ChainCEi", "rp_workload::ChainC(int)", "chain_c"},
      {"_ZN11rp_workload15OuterWithInlineEi", "rp_workload::OuterWithInline(int)", "outer_def"},
      {"_ZN11rp_workload10AccumulateIlEET_PKS1_i",
       "long rp_workload::Accumulate<long>(long const*, int)", "accumulate"},
      {"_ZN11rp_workload10AccumulateIdEET_PKS1_i",
       "double rp_workload::Accumulate<double>(double const*, int)", "accumulate"},
      {"plain_c_function", "plain_c_function", "plain_c"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mangled);
    SymbolizedAddress r = One(Addr(c.mangled));
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].function, c.demangled);
    EXPECT_THAT(r.frames[0].file, EndsWith("tests/symbolizer/workload.cc"));
    // At -O2 the entry address belongs to the declaration line or to one of
    // the first body lines, depending on the compiler's prologue rows.
    EXPECT_GE(r.frames[0].line, marks_.at(c.mark));
    EXPECT_LE(r.frames[0].line, marks_.at(c.mark) + 2);
  }
}

TEST_P(WorkloadTest, DemangleOffGivesLinkageNames) {
  options_.demangle = false;
  auto elf = ElfSymbolizer::Open(binary_, options_);
  ASSERT_TRUE(elf.ok()) << elf.status();
  std::vector<SymbolizedAddress> r =
      (*elf)->SymbolizeVaddrs({Addr("_ZN11rp_workload10AccumulateIlEET_PKS1_i")});
  ASSERT_EQ(r[0].frames.size(), 1u);
  EXPECT_EQ(r[0].frames[0].function, "_ZN11rp_workload10AccumulateIlEET_PKS1_i");
  EXPECT_EQ(r[0].frames[0].linkage_name, "_ZN11rp_workload10AccumulateIlEET_PKS1_i");
}

TEST_P(WorkloadTest, InlineChainOfAlwaysInlineLeaf) {
  const testing::NmSymbol outer = syms_.at("_ZN11rp_workload15OuterWithInlineEi");
  ASSERT_GT(outer.size, 0u);
  std::vector<uint64_t> addrs;
  for (uint64_t a = outer.addr; a < outer.addr + outer.size; ++a) addrs.push_back(a);
  std::vector<SymbolizedAddress> results = elf_->SymbolizeVaddrs(addrs);
  int inlined = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const SymbolizedAddress& r = results[i];
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_FALSE(r.frames.empty());
    EXPECT_EQ(r.frames.back().function, "rp_workload::OuterWithInline(int)");
    if (r.frames.size() == 2) {
      ++inlined;
      EXPECT_EQ(r.frames[0].function, "rp_workload::InlinedLeaf(int)");
      EXPECT_EQ(r.frames[0].line, marks_.at("leaf_body"));
      EXPECT_THAT(r.frames[1].file, EndsWith("workload.cc"));
      EXPECT_EQ(r.frames[1].line, marks_.at("outer_call"));
      if (inlined == 1) {
        // inlines=false: one frame, the physical function at the call site.
        SymbolizerOptions no_inline;
        no_inline.inlines = false;
        auto flat = ElfSymbolizer::Open(binary_, no_inline);
        ASSERT_TRUE(flat.ok());
        std::vector<SymbolizedAddress> f = (*flat)->SymbolizeVaddrs({addrs[i]});
        ASSERT_EQ(f[0].frames.size(), 1u);
        EXPECT_EQ(f[0].frames[0].function, "rp_workload::OuterWithInline(int)");
        EXPECT_EQ(f[0].frames[0].line, marks_.at("outer_call"));
      }
    } else {
      EXPECT_EQ(r.frames.size(), 1u);
    }
  }
  EXPECT_GT(inlined, 0) << "no address of OuterWithInline has InlinedLeaf inlined";
}

TEST_P(WorkloadTest, FileOffsetToVaddrUsesLoadSegments) {
  uint64_t text_vaddr = 0;
  auto [text_off, text_size] = SectionFileRange(binary_, ".text", &text_vaddr);
  ASSERT_GT(text_size, 0u);
  for (uint64_t delta : {uint64_t{0}, text_size / 2, text_size - 1}) {
    absl::StatusOr<uint64_t> v = elf_->FileOffsetToVaddr(text_off + delta);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(*v, text_vaddr + delta);
  }
  EXPECT_FALSE(elf_->FileOffsetToVaddr(uint64_t{1} << 40).ok());
}

TEST_P(WorkloadTest, BuildIdMatchesReadelf) {
  RunResult readelf = RunCommand({"readelf", "-n", binary_});
  if (!readelf.ok()) GTEST_SKIP() << "readelf is not available";
  const std::string& notes = readelf.out;
  const size_t pos = notes.find("Build ID: ");
  ASSERT_NE(pos, std::string::npos);
  std::string hex = notes.substr(pos + 10);
  hex = hex.substr(0, hex.find_first_of(" \n"));
  absl::StatusOr<std::string> raw = ReadBuildId(binary_);
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(absl::BytesToHexString(*raw), hex);
  EXPECT_EQ(elf_->build_id_hex(), hex);
}

TEST_P(WorkloadTest, AddressesOutsideCodeGiveErrors) {
  std::vector<SymbolizedAddress> r = elf_->SymbolizeVaddrs({0x1, uint64_t{1} << 40});
  ASSERT_EQ(r.size(), 2u);
  for (const SymbolizedAddress& a : r) {
    EXPECT_TRUE(a.frames.empty());
    EXPECT_TRUE(absl::IsNotFound(a.status)) << a.status;
  }
}

TEST_P(WorkloadTest, SymbolizerCachesAndMapsFileOffsets) {
  absl::StatusOr<std::string> id = ReadBuildId(binary_);
  ASSERT_TRUE(id.ok());
  const uint64_t chain_a = Addr("_ZN11rp_workload6ChainAEi");
  uint64_t text_vaddr = 0;
  auto [text_off, text_size] = SectionFileRange(binary_, ".text", &text_vaddr);
  const uint64_t offset = chain_a - text_vaddr + text_off;
  Symbolizer symbolizer(options_);
  for (int round = 0; round < 2; ++round) {
    std::vector<SymbolizedAddress> r =
        symbolizer.SymbolizeFileOffsets(*id, binary_, {offset, uint64_t{1} << 40});
    ASSERT_EQ(r.size(), 2u);
    ASSERT_TRUE(r[0].status.ok()) << r[0].status;
    EXPECT_EQ(r[0].frames.at(0).function, "rp_workload::ChainA(int)");
    EXPECT_FALSE(r[1].status.ok());
  }
  // A file that is nowhere: every address gets an error saying what was tried.
  std::vector<SymbolizedAddress> missing =
      symbolizer.SymbolizeFileOffsets(std::string(20, '\x42'), "/nonexistent/libfoo.so", {1, 2});
  ASSERT_EQ(missing.size(), 2u);
  for (const SymbolizedAddress& m : missing) {
    EXPECT_TRUE(absl::IsNotFound(m.status)) << m.status;
    EXPECT_THAT(m.status.message(), HasSubstr("/nonexistent/libfoo.so"));
    EXPECT_THAT(m.status.message(), HasSubstr(".build-id/42/"));
  }
}

INSTANTIATE_TEST_SUITE_P(Dwarf, WorkloadTest, ::testing::Values(WORKLOAD_DWARF5, WORKLOAD_DWARF4),
                         [](const auto& info) {
                           return std::string(info.param).find("dwarf4") != std::string::npos
                                      ? "Dwarf4"
                                      : "Dwarf5";
                         });

TEST(FindElfTest, SearchOrder) {
  TempDir dir;
  const std::string a = dir.path() + "/a.out";
  const std::string b = dir.path() + "/b.out";
  fs::copy_file(WORKLOAD_DWARF5, a);
  fs::copy_file(WORKLOAD_DWARF4, b);
  absl::StatusOr<std::string> id_a = ReadBuildId(a);
  absl::StatusOr<std::string> id_b = ReadBuildId(b);
  ASSERT_TRUE(id_a.ok() && id_b.ok());
  ASSERT_NE(*id_a, *id_b);
  SymbolizerOptions options;
  options.debug_dir = dir.path() + "/debug";

  // 1. The recorded path, when its build-id matches (or none was recorded).
  EXPECT_EQ(FindElf(*id_a, a, options).value_or(""), a);
  EXPECT_EQ(FindElf("", a, options).value_or(""), a);

  // 2. The debug directory by build-id, when the recorded path is stale.
  const std::string hex_b = absl::BytesToHexString(*id_b);
  const std::string by_id =
      options.debug_dir + "/.build-id/" + hex_b.substr(0, 2) + "/" + hex_b.substr(2) + ".debug";
  absl::StatusOr<std::string> miss = FindElf(*id_b, a, options);
  ASSERT_FALSE(miss.ok());
  EXPECT_THAT(miss.status().message(), HasSubstr(a));
  EXPECT_THAT(miss.status().message(), HasSubstr(by_id));
  fs::create_directories(fs::path(by_id).parent_path());
  fs::copy_file(b, by_id);
  EXPECT_EQ(FindElf(*id_b, a, options).value_or(""), by_id);

  // 3. symfs roots: <symfs>/<recorded path>.
  const std::string symfs = dir.path() + "/symfs";
  const std::string recorded = "/usr/lib/libwork.so";
  fs::create_directories(symfs + "/usr/lib");
  fs::copy_file(a, symfs + recorded);
  options.symfs.push_back(symfs);
  EXPECT_EQ(FindElf(*id_a, recorded, options).value_or(""), symfs + recorded);
  // ... and a mismatching one there is refused.
  absl::StatusOr<std::string> wrong = FindElf(std::string(20, '\x01'), recorded, options);
  EXPECT_FALSE(wrong.ok());
}

TEST(SeparateDebugInfoTest, FoundByBuildIdUnderDebugDir) {
  if (!testing::HaveTool("objcopy")) GTEST_SKIP() << "objcopy is not available";
  TempDir dir;
  const std::string stripped = dir.path() + "/work.stripped";
  const std::string debug = dir.path() + "/work.debug";
  RunResult keep = RunCommand({"objcopy", "--only-keep-debug", WORKLOAD_DWARF5, debug});
  ASSERT_TRUE(keep.ok()) << keep.err;
  RunResult strip = RunCommand({"objcopy", "--strip-debug", WORKLOAD_DWARF5, stripped});
  ASSERT_TRUE(strip.ok()) << strip.err;
  absl::StatusOr<std::string> id = ReadBuildId(stripped);
  ASSERT_TRUE(id.ok());
  const std::string hex = absl::BytesToHexString(*id);
  const uint64_t chain_b = ReadNm(WORKLOAD_DWARF5).at("_ZN11rp_workload6ChainBEi").addr;

  SymbolizerOptions options;
  options.debug_dir = dir.path() + "/debug";
  {
    // Not installed yet: the symbol table still names the function.
    auto elf = ElfSymbolizer::Open(stripped, options);
    ASSERT_TRUE(elf.ok()) << elf.status();
    std::vector<SymbolizedAddress> r = (*elf)->SymbolizeVaddrs({chain_b});
    ASSERT_TRUE(r[0].status.ok()) << r[0].status;
    ASSERT_EQ(r[0].frames.size(), 1u);
    EXPECT_EQ(r[0].frames[0].function, "rp_workload::ChainB(int)");
    EXPECT_EQ(r[0].frames[0].line, 0);
  }
  const std::string target =
      options.debug_dir + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
  fs::create_directories(fs::path(target).parent_path());
  fs::copy_file(debug, target);
  auto elf = ElfSymbolizer::Open(stripped, options);
  ASSERT_TRUE(elf.ok()) << elf.status();
  std::vector<SymbolizedAddress> r = (*elf)->SymbolizeVaddrs({chain_b});
  ASSERT_TRUE(r[0].status.ok()) << r[0].status;
  EXPECT_EQ(r[0].frames.at(0).function, "rp_workload::ChainB(int)");
  const int chain_b_line = ReadMarks(WORKLOAD_SOURCE).at("chain_b");
  EXPECT_GE(r[0].frames.at(0).line, chain_b_line);
  EXPECT_LE(r[0].frames.at(0).line, chain_b_line + 2);
}

// Damaged inputs must give statuses, never crashes.
TEST(CorruptInputTest, TruncatedFile) {
  TempDir dir;
  std::vector<char> bytes = ReadAll(WORKLOAD_DWARF5);
  const uint64_t chain_a = ReadNm(WORKLOAD_DWARF5).at("_ZN11rp_workload6ChainAEi").addr;
  for (size_t keep : {size_t{0}, size_t{16}, size_t{64}, bytes.size() / 3, bytes.size() - 100}) {
    SCOPED_TRACE(keep);
    const std::string path = dir.path() + "/trunc" + std::to_string(keep);
    WriteAll(path, std::vector<char>(bytes.begin(), bytes.begin() + keep));
    // Every cut loses the section header table at the end: refused, with
    // binutils' words, rather than opened as an ELF that knows nothing.
    auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
    ASSERT_FALSE(elf.ok());
    EXPECT_THAT(elf.status().message(),
                ::testing::AnyOf(HasSubstr(": file truncated ("),
                                 HasSubstr(": file format not recognized (")));
    (void)chain_a;
  }
}

TEST(CorruptInputTest, BadFilesAreRefusedWithoutBlocking) {
  TempDir dir;
  for (const testing::BadInput& in : testing::MakeBadInputs(WORKLOAD_DWARF5, dir.path())) {
    SCOPED_TRACE(in.name);
    // Open runs on another thread so that a FIFO that blocks fails the test
    // instead of hanging it; a writer is then opened to release it.
    auto opened = std::async(std::launch::async,
                             [&] { return ElfSymbolizer::Open(in.path, SymbolizerOptions{}); });
    if (opened.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      ADD_FAILURE() << "Open blocked on " << in.path;
      ScopedFd writer(::open(in.path.c_str(), O_WRONLY));
      continue;
    }
    absl::StatusOr<std::unique_ptr<ElfSymbolizer>> elf = opened.get();
    ASSERT_FALSE(elf.ok());
    if (in.exact) {
      EXPECT_EQ(elf.status().message(), in.message);
    } else {
      EXPECT_THAT(std::string(elf.status().message()), ::testing::StartsWith(in.message));
    }
    EXPECT_FALSE(ReadBuildId(in.path).ok());
  }
}

// The report path: a recorded file that was replaced by garbage, cut short
// or turned into a FIFO gives unsymbolized frames and a counted reason.
TEST(CorruptInputTest, SymbolizerCountsWhyFilesFail) {
  TempDir dir;
  const std::vector<testing::BadInput> inputs = testing::MakeBadInputs(WORKLOAD_DWARF5, dir.path());
  Symbolizer symbolizer{SymbolizerOptions{}};
  for (const testing::BadInput& in : inputs) {
    SCOPED_TRACE(in.name);
    for (int round = 0; round < 2; ++round) {  // the second call is served from the cache
      auto done = std::async(std::launch::async, [&] {
        return symbolizer.SymbolizeFileOffsets("", in.path, {0x1000, 0x1010, 0x1020});
      });
      ASSERT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
      std::vector<SymbolizedAddress> r = done.get();
      ASSERT_EQ(r.size(), 3u);
      for (const SymbolizedAddress& a : r) {
        EXPECT_TRUE(a.frames.empty());
        EXPECT_FALSE(a.status.ok());
      }
    }
  }
  // One problem per file, each naming the file and costing 2 x 3 addresses.
  const std::vector<FileProblem>& problems = symbolizer.problems();
  ASSERT_EQ(problems.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(inputs[i].name);
    EXPECT_EQ(problems[i].path, inputs[i].path);
    EXPECT_EQ(problems[i].addresses, 6u);
    EXPECT_THAT(problems[i].status.message(), HasSubstr(inputs[i].path));
  }
  // Garbage where a recorded build-id was expected: the file is skipped
  // and the search says why it did not match.
  std::vector<SymbolizedAddress> r =
      symbolizer.SymbolizeFileOffsets(std::string(20, '\x42'), inputs.back().path, {1});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(absl::IsNotFound(r[0].status)) << r[0].status;
  EXPECT_THAT(r[0].status.message(), HasSubstr(inputs.back().message));
}

TEST(CorruptInputTest, ClobberedDebugInfoGivesErrorsPerAddress) {
  TempDir dir;
  auto [off, size] = SectionFileRange(WORKLOAD_DWARF5, ".debug_info");
  if (size == 0) GTEST_SKIP() << "readelf is not available";
  std::vector<char> bytes = ReadAll(WORKLOAD_DWARF5);
  ASSERT_LE(off + size, bytes.size());
  // Unit length 0xffffffff then a 64-bit length past the end of the section.
  for (size_t i = 0; i < std::min<uint64_t>(size, 64); ++i) bytes[off + i] = '\xff';
  const std::string path = dir.path() + "/clobbered";
  WriteAll(path, bytes);
  const auto syms = ReadNm(WORKLOAD_DWARF5);
  auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  std::vector<SymbolizedAddress> r =
      (*elf)->SymbolizeVaddrs({syms.at("_ZN11rp_workload6ChainAEi").addr});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.code(), absl::StatusCode::kDataLoss) << r[0].status;
  EXPECT_THAT(std::string(r[0].status.message()), ::testing::StartsWith(path + ": DWARF error: "));
  // Best effort: the symbol table is intact.
  ASSERT_EQ(r[0].frames.size(), 1u);
  EXPECT_EQ(r[0].frames[0].function, "rp_workload::ChainA(int)");

  // Through the Symbolizer the error is counted once per address.
  Symbolizer symbolizer{SymbolizerOptions{}};
  uint64_t text_vaddr = 0;
  auto [text_off, text_size] = SectionFileRange(WORKLOAD_DWARF5, ".text", &text_vaddr);
  ASSERT_GT(text_size, 0u);
  const uint64_t offset = syms.at("_ZN11rp_workload6ChainAEi").addr - text_vaddr + text_off;
  std::vector<SymbolizedAddress> via = symbolizer.SymbolizeFileOffsets("", path, {offset, offset});
  ASSERT_EQ(via.size(), 2u);
  EXPECT_EQ(via[0].frames.at(0).function, "rp_workload::ChainA(int)");
  ASSERT_EQ(symbolizer.problems().size(), 1u);
  EXPECT_EQ(symbolizer.problems()[0].addresses, 2u);
  EXPECT_THAT(symbolizer.problems()[0].status.message(), HasSubstr("DWARF error"));
}

// A unit header libdw cannot read ends the unit list: the units before it
// still answer, and an address none of them covers is an error (it may lie
// in the unreadable rest), not "no DWARF covers it".
TEST(CorruptInputTest, UnreadableUnitHeaderAfterGoodUnits) {
  RunResult readelf = RunCommand({"readelf", "--debug-dump=info", ADDR2LINE_DRIVER});
  auto [off, size] = SectionFileRange(ADDR2LINE_DRIVER, ".debug_info");
  if (!readelf.ok() || size == 0) GTEST_SKIP() << "readelf is not available";
  const std::string& info = readelf.out;
  std::vector<uint64_t> units;
  const std::string tag = "Compilation Unit @ offset ";
  for (size_t pos = info.find(tag); pos != std::string::npos; pos = info.find(tag, pos + 1)) {
    units.push_back(std::stoull(info.substr(pos + tag.size()), nullptr, 16));
  }
  ASSERT_GE(units.size(), 3u);
  TempDir dir;
  std::vector<char> bytes = ReadAll(ADDR2LINE_DRIVER);
  for (int i = 0; i < 16; ++i) bytes[off + units[2] + i] = '\xff';
  const std::string path = dir.path() + "/bad-third-unit";
  WriteAll(path, bytes);
  auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  std::vector<SymbolizedAddress> r = (*elf)->SymbolizeVaddrs({0x1, ReadNm(path).at("main").addr});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status.code(), absl::StatusCode::kDataLoss) << r[0].status;
  EXPECT_THAT(r[0].status.message(), HasSubstr("reading DWARF unit headers after 2 units"));
  ASSERT_FALSE(r[1].frames.empty()) << r[1].status;
  EXPECT_EQ(r[1].frames.back().function, "main");
}

// A line table libdw cannot read makes the unit's addresses an error (with
// the symbol table's name), not functions without lines and no error.
TEST(CorruptInputTest, UnreadableLineTableIsAnError) {
  TempDir dir;
  auto [off, size] = SectionFileRange(WORKLOAD_DWARF5, ".debug_line");
  if (size == 0) GTEST_SKIP() << "readelf is not available";
  std::vector<char> bytes = ReadAll(WORKLOAD_DWARF5);
  for (uint64_t i = 0; i < std::min<uint64_t>(size, 64); ++i) bytes[off + i] = '\xff';
  const std::string path = dir.path() + "/bad-lines";
  WriteAll(path, bytes);
  auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
  ASSERT_TRUE(elf.ok()) << elf.status();
  std::vector<SymbolizedAddress> r =
      (*elf)->SymbolizeVaddrs({ReadNm(WORKLOAD_DWARF5).at("_ZN11rp_workload6ChainAEi").addr});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status.code(), absl::StatusCode::kDataLoss) << r[0].status;
  EXPECT_THAT(r[0].status.message(), HasSubstr("line table"));
  ASSERT_EQ(r[0].frames.size(), 1u);
  EXPECT_EQ(r[0].frames[0].function, "rp_workload::ChainA(int)");
  EXPECT_EQ(r[0].frames[0].line, 0);
}

TEST(CorruptInputTest, RandomScribblesOverDwarfSections) {
  const auto syms = ReadNm(WORKLOAD_DWARF5);
  if (syms.empty()) GTEST_SKIP() << "nm is not available";
  std::vector<uint64_t> addrs;
  for (const auto& [name, s] : syms) {
    for (uint64_t d = 0; d < s.size; d += 3) addrs.push_back(s.addr + d);
  }
  const std::vector<char> original = ReadAll(WORKLOAD_DWARF5);
  TempDir dir;
  std::mt19937_64 rng(1234);
  int errors = 0;
  for (const char* section : {".debug_info", ".debug_abbrev", ".debug_line", ".debug_rnglists",
                              ".debug_str", ".debug_line_str", ".symtab"}) {
    auto [off, size] = SectionFileRange(WORKLOAD_DWARF5, section);
    if (size == 0) continue;
    for (int round = 0; round < 12; ++round) {
      SCOPED_TRACE(std::string(section) + " round " + std::to_string(round));
      std::vector<char> bytes = original;
      const int flips = 1 + round * 4;
      for (int k = 0; k < flips; ++k) bytes[off + rng() % size] = static_cast<char>(rng());
      const std::string path = dir.path() + "/scribbled";
      WriteAll(path, bytes);
      auto elf = ElfSymbolizer::Open(path, SymbolizerOptions{});
      if (!elf.ok()) continue;
      std::vector<SymbolizedAddress> r = (*elf)->SymbolizeVaddrs(addrs);
      ASSERT_EQ(r.size(), addrs.size());
      for (const SymbolizedAddress& a : r) errors += !a.status.ok();
    }
  }
  RecordProperty("addresses_with_errors", errors);
}

}  // namespace
}  // namespace ringprof::symbolizer
