// The .eh_frame converter against libdw's own CFI answers.
//
// The oracle: for an address, ask libdw (dwarf_cfi_addrframe) for the frame
// and reduce it to (CFA rule, RA location, RBP rule); ask the converted
// table (UnwindTable::Find) the same question; they must agree. FDE ranges
// come from `readelf --debug-dump=frames`, an independent decoder, and every
// byte address of every range is checked (a superset of the instruction
// addresses), plus the first address after each range.
#include "unwind/eh_frame.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "base/scoped_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/subprocess.h"
#include "tests/unwind/eh_frame_synth.h"

namespace ringprof::unwind {
namespace {

using ringprof::testing::HaveTool;
using ringprof::testing::RunCommand;
using ringprof::testing::RunResult;

constexpr char kLibc[] = "/usr/lib/x86_64-linux-gnu/libc.so.6";
constexpr char kLibstdcxx[] = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
constexpr char kLdSo[] = "/lib64/ld-linux-x86-64.so.2";

// What an unwinder needs to know at one PC, in a form both sides reduce to.
struct Rule {
  CfaBase kind = CfaBase::kNoInfo;
  int64_t cfa_offset = 0;
  bool fp_saved = false;
  int64_t fp_offset = 0;
  bool operator==(const Rule&) const = default;
};

std::string ToString(const Rule& r) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "{kind=%d cfa_off=%lld fp_saved=%d fp_off=%lld}",
                static_cast<int>(r.kind), static_cast<long long>(r.cfa_offset), r.fp_saved,
                static_cast<long long>(r.fp_offset));
  return buf;
}

Rule FromRow(const UnwindRow* row) {
  Rule r;
  if (row == nullptr) return r;
  r.kind = row->cfa_base;
  if (r.kind == CfaBase::kSp || r.kind == CfaBase::kFp) {
    EXPECT_EQ(row->ra_offset, -8);
    r.cfa_offset = row->cfa_offset;
    r.fp_saved = row->fp_saved;
    r.fp_offset = row->fp_saved ? row->fp_offset : 0;
  }
  return r;
}

// "Saved at CFA + n" in libdw's location form, or nullopt for anything else.
std::optional<int64_t> CfaSlot(const Dwarf_Op* ops, size_t nops) {
  if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa) return 0;
  if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
    return static_cast<int64_t>(ops[1].number);
  }
  return std::nullopt;
}

// Evaluates a CFA expression of the small stack-machine subset ld uses for
// PLT entries, with RSP = rsp and RIP = pc; nullopt for anything else.
std::optional<int64_t> EvalCfa(const Dwarf_Op* ops, size_t nops, int64_t rsp, uint64_t pc) {
  std::vector<int64_t> st;
  auto pop2 = [&](int64_t* a, int64_t* b) {
    if (st.size() < 2) return false;
    *b = st.back();
    st.pop_back();
    *a = st.back();
    st.pop_back();
    return true;
  };
  for (size_t i = 0; i < nops; ++i) {
    const Dwarf_Op& op = ops[i];
    int64_t a = 0;
    int64_t b = 0;
    if (op.atom == DW_OP_breg0 + 7) {
      st.push_back(rsp + static_cast<int64_t>(op.number));
    } else if (op.atom == DW_OP_breg0 + 16) {
      st.push_back(static_cast<int64_t>(pc) + static_cast<int64_t>(op.number));
    } else if (op.atom >= DW_OP_lit0 && op.atom <= DW_OP_lit31) {
      st.push_back(op.atom - DW_OP_lit0);
    } else if (op.atom == DW_OP_and && pop2(&a, &b)) {
      st.push_back(a & b);
    } else if (op.atom == DW_OP_ge && pop2(&a, &b)) {
      st.push_back(a >= b ? 1 : 0);
    } else if (op.atom == DW_OP_shl && pop2(&a, &b)) {
      st.push_back(a << b);
    } else if (op.atom == DW_OP_plus && pop2(&a, &b)) {
      st.push_back(a + b);
    } else {
      return std::nullopt;
    }
  }
  if (st.size() != 1) return std::nullopt;
  return st.back();
}

// libdw's answer, reduced. Anything the row model cannot express is
// kUnsupported, which is what the converter must emit there. A CFA
// expression that evaluates to RSP + a constant at this pc (PLT entries) is
// the row kSp + that constant.
Rule FromLibdw(Dwarf_CFI* cfi, uint64_t pc) {
  Rule r;
  Dwarf_Frame* raw = nullptr;
  if (dwarf_cfi_addrframe(cfi, pc, &raw) != 0) return r;
  std::unique_ptr<Dwarf_Frame, decltype(&std::free)> frame(raw, &std::free);
  Rule unsupported;
  unsupported.kind = CfaBase::kUnsupported;
  Dwarf_Op mem[3];
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_register(frame.get(), 16, mem, &ops, &nops) != 0) return unsupported;
  if (nops == 0 && ops == mem) {
    r.kind = CfaBase::kUndefined;
    return r;
  }
  if (CfaSlot(ops, nops) != std::optional<int64_t>(-8)) return unsupported;
  if (dwarf_frame_cfa(frame.get(), &ops, &nops) != 0) return unsupported;
  if (nops > 1) {
    std::optional<int64_t> at0 = EvalCfa(ops, nops, 0, pc);
    std::optional<int64_t> at4096 = EvalCfa(ops, nops, 4096, pc);
    if (!at0 || !at4096 || *at4096 - *at0 != 4096) return unsupported;
    if (dwarf_frame_register(frame.get(), 6, mem, &ops, &nops) != 0 || nops != 0) {
      return unsupported;
    }
    r.kind = CfaBase::kSp;
    r.cfa_offset = *at0;
    return r;
  }
  if (nops != 1) return unsupported;
  int reg = -1;
  int64_t off = 0;
  if (ops[0].atom == DW_OP_bregx) {
    reg = static_cast<int>(ops[0].number);
    off = static_cast<int64_t>(ops[0].number2);
  } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
    reg = ops[0].atom - DW_OP_breg0;
    off = static_cast<int64_t>(ops[0].number);
  }
  if (reg == 7) {
    r.kind = CfaBase::kSp;
  } else if (reg == 6) {
    r.kind = CfaBase::kFp;
  } else {
    return unsupported;
  }
  r.cfa_offset = off;
  if (dwarf_frame_register(frame.get(), 6, mem, &ops, &nops) != 0) return unsupported;
  if (nops > 0) {
    std::optional<int64_t> slot = CfaSlot(ops, nops);
    if (!slot) return unsupported;
    r.fp_saved = true;
    r.fp_offset = *slot;
  }
  return r;
}

struct Range {
  uint64_t lo;
  uint64_t hi;
};

// FDE ranges as binutils decodes them.
std::vector<Range> ReadelfFdeRanges(const std::string& path) {
  std::vector<Range> ranges;
  std::string out = RunCommand({"readelf", "--debug-dump=frames", path}).out;
  static const std::regex kFde(R"(FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+))");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), kFde); it != std::sregex_iterator();
       ++it) {
    uint64_t lo = std::stoull((*it)[1].str(), nullptr, 16);
    uint64_t hi = std::stoull((*it)[2].str(), nullptr, 16);
    if (hi > lo) ranges.push_back({lo, hi});
  }
  return ranges;
}

// Opens `path` with libelf + libdw's .eh_frame CFI; owns both.
class CfiFile {
 public:
  explicit CfiFile(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    elf_version(EV_CURRENT);
    if (!fd_.valid()) return;
    elf_ = elf_begin(fd_.get(), ELF_C_READ_MMAP, nullptr);
    if (elf_ != nullptr) cfi_ = dwarf_getcfi_elf(elf_);
  }
  ~CfiFile() {
    if (cfi_ != nullptr) dwarf_cfi_end(cfi_);
    if (elf_ != nullptr) elf_end(elf_);
  }
  Dwarf_CFI* cfi() const { return cfi_; }

 private:
  ScopedFd fd_;
  Elf* elf_ = nullptr;
  Dwarf_CFI* cfi_ = nullptr;
};

struct Comparison {
  size_t checked = 0;
  size_t mismatches = 0;
  size_t fp_rows_seen = 0;
};

// Compares at every `stride`-th byte of every FDE range, and just past each.
Comparison CompareWithLibdw(const std::string& path, const UnwindTable& table, uint64_t stride) {
  Comparison c;
  CfiFile file(path);
  EXPECT_NE(file.cfi(), nullptr) << dwarf_errmsg(-1);
  if (file.cfi() == nullptr) return c;
  std::vector<Range> ranges = ReadelfFdeRanges(path);
  EXPECT_GT(ranges.size(), 0u) << "readelf found no FDEs in " << path;
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.lo < b.lo; });
  auto check = [&](uint64_t pc) {
    Rule want = FromLibdw(file.cfi(), pc);
    Rule got = FromRow(table.Find(pc));
    ++c.checked;
    if (got.kind == CfaBase::kFp) ++c.fp_rows_seen;
    if (!(want == got)) {
      if (++c.mismatches <= 10) {
        ADD_FAILURE() << path << " at 0x" << std::hex << pc << ": libdw " << ToString(want)
                      << ", table " << ToString(got);
      }
    }
  };
  for (const Range& r : ranges) {
    for (uint64_t pc = r.lo; pc < r.hi; pc += stride) check(pc);
    check(r.hi);  // the gap after the function, or the next function's start
  }
  return c;
}

class EhFrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveTool("readelf")) GTEST_SKIP() << "readelf (binutils) is not installed";
  }
};

TEST_F(EhFrameTest, WorkloadMatchesLibdwAtEveryAddress) {
  EhFrameStats stats;
  absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(EH_WORKLOAD, &stats);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->source, TableSource::kEhFrame);
  EXPECT_TRUE(stats.problem.empty()) << stats.problem;
  EXPECT_FALSE(table->build_id.empty());
  Comparison c = CompareWithLibdw(EH_WORKLOAD, *table, 1);
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_GT(c.checked, 1000u);
  // The VLA and alloca functions must put the CFA on RBP somewhere.
  EXPECT_GT(c.fp_rows_seen, 0u);
  // Its .plt (calls into libc) is described by ld's PLT expression, which
  // became rows (checked above against the evaluated expression).
  EXPECT_GE(stats.plt_ranges, 1u);
  std::printf("workload: %zu FDEs, %zu rows, %zu addresses checked, %.3f ms\n", stats.fdes,
              stats.rows, c.checked, stats.build_seconds * 1e3);
}

// Addresses of a defined function symbol, via nm.
std::optional<Range> SymbolRange(const std::string& path, const std::string& name) {
  std::string out = RunCommand({"nm", "-S", "--defined-only", path}).out;
  std::regex re("([0-9a-f]+) ([0-9a-f]+) [tT] " + name + "\n");
  std::smatch m;
  if (!std::regex_search(out, m, re)) return std::nullopt;
  uint64_t lo = std::stoull(m[1].str(), nullptr, 16);
  return Range{lo, lo + std::stoull(m[2].str(), nullptr, 16)};
}

TEST_F(EhFrameTest, VlaAndAllocaFunctionsUseRbpBasedCfa) {
  if (!HaveTool("nm")) GTEST_SKIP() << "nm (binutils) is not installed";
  absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(EH_WORKLOAD);
  ASSERT_TRUE(table.ok()) << table.status();
  for (const char* fn : {"eh_vla_sum", "eh_alloca_fill"}) {
    std::optional<Range> r = SymbolRange(EH_WORKLOAD, fn);
    ASSERT_TRUE(r.has_value()) << fn;
    bool fp = false;
    bool sp = false;
    for (uint64_t pc = r->lo; pc < r->hi; ++pc) {
      const UnwindRow* row = table->Find(pc);
      ASSERT_NE(row, nullptr);
      fp |= row->cfa_base == CfaBase::kFp;
      sp |= row->cfa_base == CfaBase::kSp;
      if (row->cfa_base == CfaBase::kFp) {
        EXPECT_TRUE(row->fp_saved) << fn;
        EXPECT_EQ(row->cfa_offset, 16) << fn;
      }
    }
    EXPECT_TRUE(fp) << fn << " never has CFA = RBP + n";
    EXPECT_TRUE(sp) << fn << " never has CFA = RSP + n (its entry)";
    // At the entry the CFA is RSP + 8 and RBP is untouched.
    const UnwindRow* entry = table->Find(r->lo);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->cfa_base, CfaBase::kSp);
    EXPECT_EQ(entry->cfa_offset, 8);
    EXPECT_FALSE(entry->fp_saved);
  }
}

TEST_F(EhFrameTest, RowsAreSortedMergedAndEndWithNoInfo) {
  for (const char* path : {EH_WORKLOAD, kLibc}) {
    absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(path);
    ASSERT_TRUE(table.ok()) << table.status();
    const std::vector<UnwindRow>& rows = table->rows;
    ASSERT_GT(rows.size(), 2u);
    for (size_t i = 1; i < rows.size(); ++i) {
      ASSERT_LT(rows[i - 1].pc, rows[i].pc) << path << " row " << i;
      UnwindRow prev = rows[i - 1];
      prev.pc = rows[i].pc;
      EXPECT_NE(prev, rows[i]) << path << ": rows " << i - 1 << " and " << i << " not merged";
    }
    EXPECT_EQ(rows.back().cfa_base, CfaBase::kNoInfo);
    EXPECT_EQ(table->Find(rows.front().pc - 1), nullptr);
  }
}

TEST_F(EhFrameTest, SystemLibrariesConvertAndMatchLibdw) {
  // Every byte of every FDE range is checked (about 1.9 million addresses
  // in all, under a second here). Timings are printed, not asserted.
  struct Lib {
    const char* path;
    uint64_t stride;
  };
  for (const Lib& lib : {Lib{kLibc, 1}, Lib{kLibstdcxx, 1}, Lib{kLdSo, 1}}) {
    if (access(lib.path, R_OK) != 0) {
      std::printf("%s is absent, not checked\n", lib.path);
      continue;
    }
    EhFrameStats stats;
    absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(lib.path, &stats);
    ASSERT_TRUE(table.ok()) << table.status();
    EXPECT_TRUE(stats.problem.empty()) << stats.problem;
    EXPECT_EQ(stats.skipped_fdes, 0u);
    EXPECT_GT(stats.rows, 1000u);
    auto t0 = std::chrono::steady_clock::now();
    Comparison c = CompareWithLibdw(lib.path, *table, lib.stride);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(c.mismatches, 0u) << lib.path;
    std::printf(
        "%s: %zu FDEs, %zu rows (%zu unsupported, %zu undefined), built in %.1f ms; %zu addresses "
        "compared in %.2f s\n",
        lib.path, stats.fdes, stats.rows, stats.unsupported_rows, stats.undefined_rows,
        stats.build_seconds * 1e3, c.checked, secs);
  }
}

TEST_F(EhFrameTest, InMemoryImageGivesTheSameRows) {
  std::ifstream in(EH_WORKLOAD, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  absl::StatusOr<UnwindTable> from_file = BuildTableFromEhFrame(EH_WORKLOAD);
  absl::StatusOr<UnwindTable> from_memory = BuildTableFromEhFrameImage(bytes);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  ASSERT_TRUE(from_memory.ok()) << from_memory.status();
  EXPECT_EQ(from_file->rows, from_memory->rows);
}

// Hand-written CFI with known answers: the rules the row model can and
// cannot carry, and a program whose register number would make libdw
// allocate gigabytes per lookup (it must be skipped with a reason).
TEST(EhFrameSyntheticTest, RulesAndRejectedPrograms) {
  ehsynth::EhFrameWriter w;
  // push %rbp; mov %rsp,%rbp; ...: CFA = RSP+16, RBP at CFA-16, then CFA = RBP+16.
  w.AddFde(0x2000, 0x20, {0x41, 0x0e, 0x10, 0x86, 0x02, 0x43, 0x0d, 0x06});
  // RA at CFA-16: not expressible.
  w.AddFde(0x2100, 0x10, {0x90, 0x02});
  // CFA from an expression (DW_OP_breg7 8; DW_OP_lit0; DW_OP_plus).
  w.AddFde(0x2200, 0x10, {0x0f, 0x04, 0x77, 0x08, 0x30, 0x22});
  // RA undefined: the outermost frame.
  w.AddFde(0x2300, 0x10, {0x07, 0x10});
  // DW_CFA_undefined with register 10^8.
  w.AddFde(0x2400, 0x10, {0x07, 0x80, 0xc2, 0xd7, 0x2f});
  // CFA on RBX (DW_CFA_def_cfa_register r3).
  w.AddFde(0x2500, 0x10, {0x0d, 0x03});
  std::vector<uint8_t> image = ehsynth::WrapEhFrame(w.bytes().data(), w.bytes().size());
  EhFrameStats stats;
  absl::StatusOr<UnwindTable> table = BuildTableFromEhFrameImage(image, &stats);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(stats.fdes, 5u);
  EXPECT_EQ(stats.skipped_fdes, 1u);
  EXPECT_THAT(stats.problem, ::testing::HasSubstr("skipped"));

  auto at = [&](uint64_t pc) { return FromRow(table->Find(pc)); };
  EXPECT_EQ(at(0x1fff), Rule{});
  EXPECT_EQ(at(0x2000), (Rule{CfaBase::kSp, 8, false, 0}));
  EXPECT_EQ(at(0x2001), (Rule{CfaBase::kSp, 16, true, -16}));
  EXPECT_EQ(at(0x2003), (Rule{CfaBase::kSp, 16, true, -16}));
  EXPECT_EQ(at(0x2004), (Rule{CfaBase::kFp, 16, true, -16}));
  EXPECT_EQ(at(0x201f), (Rule{CfaBase::kFp, 16, true, -16}));
  EXPECT_EQ(at(0x2020), Rule{});  // gap before the next FDE
  EXPECT_EQ(at(0x2100).kind, CfaBase::kUnsupported);
  EXPECT_EQ(at(0x2200).kind, CfaBase::kUnsupported);
  EXPECT_EQ(at(0x2300).kind, CfaBase::kUndefined);
  EXPECT_EQ(at(0x2400), Rule{});  // the skipped FDE describes nothing
  EXPECT_EQ(at(0x2500).kind, CfaBase::kUnsupported);
  EXPECT_EQ(at(0x2510), Rule{});
}

// --- Bad input -------------------------------------------------------------

class TempCopy {
 public:
  explicit TempCopy(const std::string& from) {
    char tmpl[] = "/tmp/ringprof_eh_frame_XXXXXX";
    int fd = mkstemp(tmpl);
    path_ = tmpl;
    ScopedFd owned(fd);
    std::ifstream in(from, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ~TempCopy() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  void Write(size_t length) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes_.data()), static_cast<std::streamsize>(length));
  }
  void Write() const { Write(bytes_.size()); }

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
};

// File offset and size of .eh_frame.
std::optional<Range> EhFrameSection(const std::string& path) {
  elf_version(EV_CURRENT);
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  Elf* elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  if (elf == nullptr) return std::nullopt;
  std::optional<Range> found;
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name != nullptr && std::string(name) == ".eh_frame") {
      found = Range{shdr.sh_offset, shdr.sh_offset + shdr.sh_size};
    }
  }
  elf_end(elf);
  return found;
}

void ExpectSaneTable(const UnwindTable& table) {
  for (size_t i = 1; i < table.rows.size(); ++i) {
    ASSERT_LT(table.rows[i - 1].pc, table.rows[i].pc) << "row " << i;
  }
}

TEST(EhFrameBadInputTest, ScribbledEhFrameGivesErrorOrPartialTable) {
  TempCopy copy(EH_WORKLOAD);
  std::optional<Range> eh = EhFrameSection(EH_WORKLOAD);
  ASSERT_TRUE(eh.has_value());
  const std::vector<uint8_t> pristine = copy.bytes();
  std::mt19937 rng(1234);
  size_t errors = 0;
  size_t partial = 0;
  for (int round = 0; round < 300; ++round) {
    copy.bytes() = pristine;
    std::uniform_int_distribution<uint64_t> where(eh->lo, eh->hi - 1);
    int scribbles = 1 + round % 16;
    for (int i = 0; i < scribbles; ++i) copy.bytes()[where(rng)] = static_cast<uint8_t>(rng());
    copy.Write();
    EhFrameStats stats;
    absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(copy.path(), &stats);
    if (!table.ok()) {
      ++errors;
      EXPECT_FALSE(table.status().message().empty());
      continue;
    }
    if (!stats.problem.empty()) ++partial;
    ExpectSaneTable(*table);
  }
  std::printf("300 scribbled copies: %zu errors, %zu partial tables with a reason\n", errors,
              partial);
}

TEST(EhFrameBadInputTest, SmashedFirstEntryIsAnErrorWithItsOffset) {
  TempCopy copy(EH_WORKLOAD);
  std::optional<Range> eh = EhFrameSection(EH_WORKLOAD);
  ASSERT_TRUE(eh.has_value());
  std::fill_n(copy.bytes().begin() + static_cast<std::ptrdiff_t>(eh->lo), 16, 0xff);
  copy.Write();
  absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(copy.path());
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(std::string(table.status().message()), ::testing::HasSubstr("offset 0x0"));
}

TEST(EhFrameBadInputTest, TruncatedFilesAreErrors) {
  TempCopy copy(EH_WORKLOAD);
  std::optional<Range> eh = EhFrameSection(EH_WORKLOAD);
  ASSERT_TRUE(eh.has_value());
  for (size_t length :
       {size_t{0}, size_t{4}, size_t{63}, size_t{200},
        static_cast<size_t>(eh->lo + (eh->hi - eh->lo) / 2), copy.bytes().size() - 1}) {
    copy.Write(length);
    absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(copy.path());
    EXPECT_FALSE(table.ok()) << "truncated to " << length << " bytes";
    std::vector<uint8_t> prefix(copy.bytes().begin(),
                                copy.bytes().begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_FALSE(BuildTableFromEhFrameImage(prefix).ok()) << "image of " << length << " bytes";
  }
}

TEST(EhFrameBadInputTest, NoEhFrameIsNotFound) {
  if (!HaveTool("objcopy")) GTEST_SKIP() << "objcopy (binutils) is not installed";
  TempCopy copy(EH_WORKLOAD);
  RunResult objcopy = RunCommand({"objcopy", "--remove-section=.eh_frame",
                                  "--remove-section=.eh_frame_hdr", EH_WORKLOAD, copy.path()});
  ASSERT_EQ(objcopy.status, 0) << objcopy.err;
  absl::StatusOr<UnwindTable> table = BuildTableFromEhFrame(copy.path());
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kNotFound) << table.status();
}

TEST(EhFrameBadInputTest, MissingAndNonElfFiles) {
  absl::StatusOr<UnwindTable> missing = BuildTableFromEhFrame("/nonexistent/ringprof-eh");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  TempCopy copy(EH_WORKLOAD);
  copy.bytes().assign(4096, 'x');
  copy.Write();
  absl::StatusOr<UnwindTable> text = BuildTableFromEhFrame(copy.path());
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument) << text.status();
}

}  // namespace
}  // namespace ringprof::unwind
