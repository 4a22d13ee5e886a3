// SFrame parser tests: decoded FDEs/FREs against `readelf --sframe` for
// binaries the build makes, the flat table against the format's own lookup
// at every instruction, synthetic v1/v2 sections for encodings binutils
// 2.40 never writes, and corrupted input (every truncation, bad fields,
// byte mutations) that must give errors, never crashes.
#include "unwind/sframe.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/common/subprocess.h"

namespace ringprof::unwind {
namespace {

using ringprof::testing::RunCommand;
using ringprof::testing::RunResult;
using ringprof::testing::RunShell;

// ---------------------------------------------------------------- helpers

struct RawSection {
  std::vector<uint8_t> bytes;
  uint64_t vaddr = 0;
};

// The .sframe section's bytes and address, read with libelf independently
// of the code under test.
RawSection ReadSectionBytes(const std::string& path, const char* name) {
  RawSection out;
  elf_version(EV_CURRENT);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t shstrndx = 0;
  if (elf != nullptr && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    Elf_Scn* scn = nullptr;
    while ((scn = elf_nextscn(elf, scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr) continue;
      const char* n = elf_strptr(elf, shstrndx, shdr.sh_name);
      if (n == nullptr || std::strcmp(n, name) != 0) continue;
      Elf_Data* data = elf_rawdata(scn, nullptr);
      if (data != nullptr && data->d_buf != nullptr) {
        const auto* p = static_cast<const uint8_t*>(data->d_buf);
        out.bytes.assign(p, p + data->d_size);
        out.vaddr = shdr.sh_addr;
      }
      break;
    }
  }
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  return out;
}

bool ReadelfKnowsSframe() {
  RunResult help = RunCommand({"readelf", "--help"});
  return help.ok() && absl::StrContains(help.out + help.err, "--sframe");
}

struct ReadelfFre {
  uint64_t start = 0;  // absolute pc, or offset for PCMASK
  bool sp = true;
  int64_t cfa = 0;
  bool fp_tracked = false;
  int64_t fp = 0;
};
struct ReadelfFde {
  uint64_t pc = 0;
  uint64_t size = 0;
  bool pcmask = false;
  std::vector<ReadelfFre> fres;
};
struct ReadelfDump {
  int version = 0;
  bool sorted = false;
  uint64_t num_fdes = 0;
  uint64_t num_fres = 0;
  std::vector<ReadelfFde> fdes;
};

// Parses the text of `readelf --sframe` (binutils 2.40 layout).
ReadelfDump ParseReadelf(const std::string& text) {
  ReadelfDump dump;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long a = 0, b = 0;
    int idx = 0;
    char cfa[64], fp[64], ra[64];
    if (std::sscanf(line.c_str(), " Version: SFRAME_VERSION_%d", &idx) == 1) {
      dump.version = idx;
    } else if (absl::StrContains(line, "Flags:")) {
      dump.sorted = absl::StrContains(line, "SFRAME_F_FDE_SORTED");
    } else if (std::sscanf(line.c_str(), " Num FDEs: %llu", &a) == 1) {
      dump.num_fdes = a;
    } else if (std::sscanf(line.c_str(), " Num FREs: %llu", &a) == 1) {
      dump.num_fres = a;
    } else if (std::sscanf(line.c_str(), " func idx [%d]: pc = %llx, size = %llu bytes", &idx, &a,
                           &b) == 3) {
      dump.fdes.push_back({a, b, false, {}});
    } else if (absl::StrContains(line, "STARTPC")) {
      if (!dump.fdes.empty()) dump.fdes.back().pcmask = absl::StrContains(line, "STARTPC[m]");
    } else if (std::sscanf(line.c_str(), " %llx %63s %63s %63s", &a, cfa, fp, ra) == 4 &&
               !dump.fdes.empty()) {
      ReadelfFre fre;
      fre.start = a;
      std::string c = cfa;
      fre.sp = c.rfind("sp", 0) == 0;
      fre.cfa = std::stoll(c.substr(2));
      if (std::string(fp) != "u") {
        fre.fp_tracked = true;
        fre.fp = std::stoll(std::string(fp).substr(1));  // "c-16"
      }
      dump.fdes.back().fres.push_back(fre);
    }
  }
  return dump;
}

void ExpectMatchesReadelf(const std::string& path) {
  RunResult readelf = RunCommand({"readelf", "--sframe", path});
  ASSERT_EQ(readelf.status, 0) << readelf.err;
  const std::string& text = readelf.out;
  ReadelfDump want = ParseReadelf(text);
  ASSERT_GT(want.fdes.size(), 0u) << "readelf printed no FDEs:\n" << text;
  ASSERT_EQ(want.fdes.size(), want.num_fdes);

  absl::StatusOr<SframeSection> got = ReadSframeFromElf(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, want.version);
  EXPECT_EQ(got->sorted(), want.sorted);
  EXPECT_EQ(got->header_num_fres, want.num_fres);
  EXPECT_EQ(got->fres.size(), want.num_fres);
  ASSERT_EQ(got->fdes.size(), want.fdes.size());
  for (size_t i = 0; i < want.fdes.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("FDE ", i));
    const SframeFde& fde = got->fdes[i];
    const ReadelfFde& w = want.fdes[i];
    EXPECT_EQ(fde.func_start, w.pc);
    EXPECT_EQ(fde.func_size, w.size);
    EXPECT_EQ(fde.pc_type == SframePcType::kPcMask, w.pcmask);
    ASSERT_EQ(fde.num_fres, w.fres.size());
    for (size_t j = 0; j < w.fres.size(); ++j) {
      SCOPED_TRACE(absl::StrCat("FRE ", j));
      const SframeFre& fre = got->fres[fde.first_fre + j];
      const uint64_t start = w.pcmask ? fre.start_offset : fde.func_start + fre.start_offset;
      EXPECT_EQ(start, w.fres[j].start);
      EXPECT_EQ(fre.cfa_base_sp, w.fres[j].sp);
      EXPECT_EQ(fre.cfa_offset, w.fres[j].cfa);
      EXPECT_EQ(fre.fp_tracked, w.fres[j].fp_tracked);
      if (fre.fp_tracked) {
        EXPECT_EQ(fre.fp_offset, w.fres[j].fp);
      }
      EXPECT_TRUE(fre.ra_tracked);
      EXPECT_EQ(fre.ra_offset, -8);
    }
  }
}

// The table must agree with Lookup() at `pc`.
void ExpectRowMatchesLookup(const SframeSection& s, const UnwindTable& t, uint64_t pc) {
  const UnwindRow* row = t.Find(pc);
  std::optional<SframeSection::Match> m = s.Lookup(pc);
  if (!m) {
    EXPECT_TRUE(row == nullptr || row->cfa_base == CfaBase::kNoInfo)
        << "pc 0x" << std::hex << pc << ": lookup misses but the table has a rule";
    return;
  }
  ASSERT_NE(row, nullptr) << "pc 0x" << std::hex << pc;
  if (!m->fre->ra_tracked) {
    EXPECT_EQ(row->cfa_base, CfaBase::kUndefined) << "pc 0x" << std::hex << pc;
    return;
  }
  if (row->cfa_base == CfaBase::kUnsupported) return;  // offsets too wide for the row
  EXPECT_EQ(row->cfa_base, m->fre->cfa_base_sp ? CfaBase::kSp : CfaBase::kFp)
      << "pc 0x" << std::hex << pc;
  EXPECT_EQ(row->cfa_offset, m->fre->cfa_offset) << "pc 0x" << std::hex << pc;
  EXPECT_EQ(row->fp_saved, m->fre->fp_tracked) << "pc 0x" << std::hex << pc;
  if (row->fp_saved) {
    EXPECT_EQ(row->fp_offset, m->fre->fp_offset) << "pc 0x" << std::hex << pc;
  }
  EXPECT_EQ(row->ra_offset, m->fre->ra_offset);
}

void ExpectTableMatchesLookupEverywhere(const SframeSection& s) {
  absl::StatusOr<UnwindTable> t = BuildTableFromSframe(s);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->source, TableSource::kSframe);
  ASSERT_FALSE(t->rows.empty());
  for (size_t i = 1; i < t->rows.size(); ++i) {
    ASSERT_LT(t->rows[i - 1].pc, t->rows[i].pc) << "rows not strictly sorted at " << i;
  }
  size_t checked = 0;
  for (const SframeFde& fde : s.fdes) {
    const uint64_t lo = fde.func_start > 0 ? fde.func_start - 1 : 0;
    for (uint64_t pc = lo; pc <= fde.func_start + fde.func_size; ++pc) {
      ExpectRowMatchesLookup(s, *t, pc);
      ++checked;
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(checked, 0u);
}

// ------------------------------------------------- real binaries + readelf

TEST(SframeReadelfTest, OmitFramePointerBinaryMatchesReadelf) {
  if (!ReadelfKnowsSframe()) GTEST_SKIP() << "readelf lacks --sframe (binutils < 2.40)";
  ExpectMatchesReadelf(SHAPES_SFRAME);
}

TEST(SframeReadelfTest, FramePointerBinaryMatchesReadelf) {
  if (!ReadelfKnowsSframe()) GTEST_SKIP() << "readelf lacks --sframe (binutils < 2.40)";
  ExpectMatchesReadelf(SHAPES_FP_SFRAME);
}

TEST(SframeReadelfTest, UnsortedObjectFileMatchesReadelf) {
  if (!ReadelfKnowsSframe()) GTEST_SKIP() << "readelf lacks --sframe (binutils < 2.40)";
  ExpectMatchesReadelf(SHAPES_OBJECT);
  absl::StatusOr<SframeSection> s = ReadSframeFromElf(SHAPES_OBJECT);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->sorted());
}

TEST(SframeElfTest, CoversEveryEncodingTheWorkloadNeeds) {
  absl::StatusOr<SframeSection> s = ReadSframeFromElf(SHAPES_SFRAME);
  ASSERT_TRUE(s.ok()) << s.status();
  bool fre_types[3] = {}, offset_sizes[5] = {}, fp_base = false, pcmask = false;
  for (const SframeFde& fde : s->fdes) {
    fre_types[fde.fre_type] = true;
    pcmask |= fde.pc_type == SframePcType::kPcMask;
    for (uint32_t i = 0; i < fde.num_fres; ++i) {
      const SframeFre& fre = s->fres[fde.first_fre + i];
      offset_sizes[fre.offset_size] = true;
      fp_base |= !fre.cfa_base_sp;
    }
  }
  EXPECT_TRUE(fre_types[0] && fre_types[1] && fre_types[2]) << "want 1-, 2- and 4-byte starts";
  EXPECT_TRUE(offset_sizes[1] && offset_sizes[2] && offset_sizes[4]) << "want 1/2/4-byte offsets";
  EXPECT_TRUE(fp_base) << "want an FP-based CFA (the VLA function)";
  EXPECT_TRUE(pcmask) << "want a PLT (PCMASK) FDE";
}

TEST(SframeElfTest, SegmentAndSectionAgreeAndPaddingIsIgnored) {
  RawSection raw = ReadSectionBytes(SHAPES_SFRAME, ".sframe");
  ASSERT_FALSE(raw.bytes.empty());
  absl::StatusOr<SframeSection> from_file = ReadSframeFromElf(SHAPES_SFRAME);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  // ld 2.40 makes PT_GNU_SFRAME longer than the section; the size must come
  // from the header.
  EXPECT_EQ(from_file->size, raw.bytes.size());
  EXPECT_EQ(from_file->section_vaddr, raw.vaddr);
  std::vector<uint8_t> padded = raw.bytes;
  padded.resize(padded.size() + 40, 0);
  absl::StatusOr<SframeSection> from_padded = ParseSframe(padded, raw.vaddr);
  ASSERT_TRUE(from_padded.ok()) << from_padded.status();
  EXPECT_EQ(from_padded->size, raw.bytes.size());
  ASSERT_EQ(from_padded->fdes.size(), from_file->fdes.size());
  for (size_t i = 0; i < from_file->fdes.size(); ++i) {
    EXPECT_EQ(from_padded->fdes[i].func_start, from_file->fdes[i].func_start);
  }
  EXPECT_FALSE(from_file->build_id.empty()) << "gcc links with a build-id by default";
}

TEST(SframeElfTest, TableMatchesLookupAtEveryInstruction) {
  for (const char* path : {SHAPES_SFRAME, SHAPES_FP_SFRAME, SHAPES_OBJECT}) {
    SCOPED_TRACE(path);
    absl::StatusOr<SframeSection> s = ReadSframeFromElf(path);
    ASSERT_TRUE(s.ok()) << s.status();
    ExpectTableMatchesLookupEverywhere(*s);
  }
}

TEST(SframeElfTest, PltEntriesAreExpandedPerRepetition) {
  absl::StatusOr<SframeSection> s = ReadSframeFromElf(SHAPES_SFRAME);
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<UnwindTable> t = BuildTableFromSframe(*s);
  ASSERT_TRUE(t.ok()) << t.status();
  int plt_fdes = 0;
  for (const SframeFde& fde : s->fdes) {
    if (fde.pc_type != SframePcType::kPcMask) continue;
    ++plt_fdes;
    ASSERT_EQ(fde.rep_size, 16u);
    for (uint64_t entry = fde.func_start; entry < fde.func_start + fde.func_size; entry += 16) {
      const UnwindRow* r0 = t->Find(entry);
      const UnwindRow* r11 = t->Find(entry + 11);
      ASSERT_NE(r0, nullptr);
      ASSERT_NE(r11, nullptr);
      EXPECT_EQ(r0->pc, entry);
      EXPECT_EQ(r0->cfa_base, CfaBase::kSp);
      EXPECT_EQ(r0->cfa_offset, 8);  // ld's pltN FREs: sp+8, then sp+16 from 0xb
      EXPECT_EQ(r11->pc, entry + 11);
      EXPECT_EQ(r11->cfa_offset, 16);
    }
  }
  EXPECT_EQ(plt_fdes, 1);
}

TEST(SframeElfTest, NoSframeIsNotFound) {
  absl::StatusOr<SframeSection> s = ReadSframeFromElf(SHAPES_NOSFRAME);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
}

TEST(SframeElfTest, MissingFileAndNonElfAreErrors) {
  EXPECT_EQ(ReadSframeFromElf("/nonexistent/file").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadSframeFromElf("/proc/self/status").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------------ synthetic sections

// A test-only encoder for sections binutils 2.40 cannot produce (v2,
// PCREL, unsorted FDEs, odd repetition sizes). FREs are written in reverse
// FDE order, since the FRE sub-section need not follow FDE order.
struct TestFre {
  uint32_t start;
  bool sp;
  std::vector<int32_t> offsets;
  int offset_size;  // 1, 2, 4
};
struct TestFde {
  int32_t start_rel;
  uint32_t size;
  int fre_type;  // 0, 1, 2
  bool pcmask;
  uint8_t rep_size;
  std::vector<TestFre> fres;
};

template <typename T>
void Put(std::vector<uint8_t>& out, size_t off, T v) {
  if (out.size() < off + sizeof(T)) out.resize(off + sizeof(T));
  std::memcpy(out.data() + off, &v, sizeof(T));
}

std::vector<uint8_t> Encode(int version, uint8_t flags, const std::vector<TestFde>& fdes,
                            uint8_t auxhdr_len = 0) {
  const size_t fde_size = version == 1 ? 17 : 20;
  std::vector<uint8_t> fre_bytes;
  std::vector<uint32_t> fre_off(fdes.size());
  uint32_t num_fres = 0;
  for (size_t i = fdes.size(); i-- > 0;) {
    fre_off[i] = static_cast<uint32_t>(fre_bytes.size());
    for (const TestFre& f : fdes[i].fres) {
      const int as = fdes[i].fre_type == 0 ? 1 : fdes[i].fre_type == 1 ? 2 : 4;
      for (int b = 0; b < as; ++b) fre_bytes.push_back(static_cast<uint8_t>(f.start >> (8 * b)));
      const int code = f.offset_size == 1 ? 0 : f.offset_size == 2 ? 1 : 2;
      fre_bytes.push_back(
          static_cast<uint8_t>((f.sp ? 1 : 0) | (f.offsets.size() << 1) | (code << 5)));
      for (int32_t o : f.offsets) {
        for (int b = 0; b < f.offset_size; ++b) {
          fre_bytes.push_back(static_cast<uint8_t>(static_cast<uint32_t>(o) >> (8 * b)));
        }
      }
      ++num_fres;
    }
  }
  std::vector<uint8_t> out(28 + auxhdr_len, 0);
  Put<uint16_t>(out, 0, 0xDEE2);
  out[2] = static_cast<uint8_t>(version);
  out[3] = flags;
  out[4] = 3;
  out[5] = 0;
  out[6] = static_cast<uint8_t>(-8);
  out[7] = auxhdr_len;
  Put<uint32_t>(out, 8, static_cast<uint32_t>(fdes.size()));
  Put<uint32_t>(out, 12, num_fres);
  Put<uint32_t>(out, 16, static_cast<uint32_t>(fre_bytes.size()));
  Put<uint32_t>(out, 20, 0);
  Put<uint32_t>(out, 24, static_cast<uint32_t>(fdes.size() * fde_size));
  const size_t base = 28 + auxhdr_len;
  for (size_t i = 0; i < fdes.size(); ++i) {
    const size_t o = base + i * fde_size;
    Put<int32_t>(out, o, fdes[i].start_rel);
    Put<uint32_t>(out, o + 4, fdes[i].size);
    Put<uint32_t>(out, o + 8, fre_off[i]);
    Put<uint32_t>(out, o + 12, static_cast<uint32_t>(fdes[i].fres.size()));
    Put<uint8_t>(out, o + 16, static_cast<uint8_t>(fdes[i].fre_type | (fdes[i].pcmask << 4)));
    if (version == 2) {
      Put<uint8_t>(out, o + 17, fdes[i].rep_size);
      Put<uint16_t>(out, o + 18, 0);
    }
  }
  out.insert(out.end(), fre_bytes.begin(), fre_bytes.end());
  return out;
}

constexpr uint64_t kVaddr = 0x10000;

std::vector<TestFde> MixedFdes() {
  return {
      // Unsorted on purpose: the third starts first.
      {0x2000,
       0x40,
       0,
       false,
       0,
       {{0, true, {8}, 1}, {1, true, {16}, 1}, {4, false, {16, -16}, 1}}},
      {0x1000, 0x20, 0, true, 16, {{0, true, {8}, 1}, {11, true, {16}, 1}}},
      {-0x8000,
       0x30000,
       2,
       false,
       0,
       {{0, true, {8}, 1}, {0x101, true, {40000}, 4}, {0x20000, true, {1000, -24}, 2}}},
      {0x3000, 0x300, 1, false, 0, {{0x10, true, {8}, 1}, {0x200, true, {24}, 1}}},
  };
}

TEST(SframeSyntheticTest, V2UnsortedMixedEncodings) {
  std::vector<uint8_t> bytes = Encode(2, 0, MixedFdes());
  absl::StatusOr<SframeSection> s = ParseSframe(bytes, kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->version, 2);
  EXPECT_FALSE(s->sorted());
  EXPECT_EQ(s->size, bytes.size());
  ASSERT_EQ(s->fdes.size(), 4u);
  EXPECT_EQ(s->fdes[0].func_start, kVaddr + 0x2000);
  EXPECT_EQ(s->fdes[1].pc_type, SframePcType::kPcMask);
  EXPECT_EQ(s->fdes[1].rep_size, 16u);
  EXPECT_EQ(s->fdes[2].func_start, kVaddr - 0x8000);
  const SframeFre& far = s->fres[s->fdes[2].first_fre + 2];
  EXPECT_EQ(far.start_offset, 0x20000u);
  EXPECT_EQ(far.cfa_offset, 1000);
  EXPECT_TRUE(far.fp_tracked);
  EXPECT_EQ(far.fp_offset, -24);
  EXPECT_EQ(s->fres[s->fdes[2].first_fre + 1].cfa_offset, 40000);
  // Lookup by hand: inside the FP-saving row of the first FDE.
  auto m = s->Lookup(kVaddr + 0x2000 + 9);
  ASSERT_TRUE(m.has_value());
  EXPECT_FALSE(m->fre->cfa_base_sp);
  EXPECT_EQ(m->fre->fp_offset, -16);
  // Before the first FRE of the fourth FDE: no rule.
  EXPECT_FALSE(s->Lookup(kVaddr + 0x3000 + 4).has_value());
  // PCMASK: offset 0x1d is 0xd in the second block -> sp+16.
  m = s->Lookup(kVaddr + 0x1000 + 0x1d);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->fre->cfa_offset, 16);
  ExpectTableMatchesLookupEverywhere(*s);
}

TEST(SframeSyntheticTest, V1AndV2SortedGiveTheSameTable) {
  std::vector<TestFde> fdes = MixedFdes();
  std::sort(fdes.begin(), fdes.end(),
            [](const TestFde& a, const TestFde& b) { return a.start_rel < b.start_rel; });
  absl::StatusOr<SframeSection> v1 = ParseSframe(Encode(1, kSframeFlagFdeSorted, fdes), kVaddr);
  absl::StatusOr<SframeSection> v2 = ParseSframe(Encode(2, kSframeFlagFdeSorted, fdes), kVaddr);
  ASSERT_TRUE(v1.ok()) << v1.status();
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_TRUE(v1->sorted());
  auto t1 = BuildTableFromSframe(*v1);
  auto t2 = BuildTableFromSframe(*v2);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(t1->rows, t2->rows);
  ExpectTableMatchesLookupEverywhere(*v1);
}

TEST(SframeSyntheticTest, V2RepSizeIsHonoured) {
  std::vector<TestFde> fdes = {{0, 96, 0, true, 32, {{0, true, {8}, 1}, {20, true, {16}, 1}}}};
  absl::StatusOr<SframeSection> s = ParseSframe(Encode(2, 0, fdes), kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  auto t = BuildTableFromSframe(*s);
  ASSERT_TRUE(t.ok());
  // Three 32-byte blocks, two rows each, plus the end marker.
  ASSERT_EQ(t->rows.size(), 7u);
  EXPECT_EQ(t->rows[3].pc, kVaddr + 32 + 20);
  EXPECT_EQ(t->rows[3].cfa_offset, 16);
  EXPECT_EQ(t->rows[6].cfa_base, CfaBase::kNoInfo);
  ExpectTableMatchesLookupEverywhere(*s);
}

TEST(SframeSyntheticTest, PcrelStartsAreRelativeToTheField) {
  std::vector<TestFde> fdes = {{0x100, 0x10, 0, false, 0, {{0, true, {8}, 1}}},
                               {0x100, 0x10, 0, false, 0, {{0, true, {8}, 1}}}};
  absl::StatusOr<SframeSection> s =
      ParseSframe(Encode(2, kSframeFlagFuncStartPcrel | kSframeFlagFdeSorted, fdes), kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->fdes[0].func_start, kVaddr + 28 + 0x100);
  EXPECT_EQ(s->fdes[1].func_start, kVaddr + 28 + 20 + 0x100);
  ExpectTableMatchesLookupEverywhere(*s);
}

TEST(SframeSyntheticTest, AuxHeaderShiftsOffsets) {
  absl::StatusOr<SframeSection> s = ParseSframe(Encode(2, 0, MixedFdes(), 5), kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->fdes.size(), 4u);
  ExpectTableMatchesLookupEverywhere(*s);
}

TEST(SframeSyntheticTest, GapsAndAdjacencyGiveNoInfoRowsOnlyInGaps) {
  std::vector<TestFde> fdes = {{0, 0x10, 0, false, 0, {{0, true, {8}, 1}}},
                               {0x10, 0x10, 0, false, 0, {{0, true, {8}, 1}}},
                               {0x40, 0x10, 0, false, 0, {{0, true, {8}, 1}}}};
  auto s = ParseSframe(Encode(2, kSframeFlagFdeSorted, fdes), kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  auto t = BuildTableFromSframe(*s);
  ASSERT_TRUE(t.ok());
  std::vector<uint64_t> pcs;
  for (const UnwindRow& r : t->rows) pcs.push_back(r.pc - kVaddr);
  EXPECT_EQ(pcs, (std::vector<uint64_t>{0, 0x10, 0x20, 0x40, 0x50}));
  EXPECT_EQ(t->rows[2].cfa_base, CfaBase::kNoInfo);
  EXPECT_EQ(t->rows[4].cfa_base, CfaBase::kNoInfo);
}

TEST(SframeSyntheticTest, HugePcmaskIsCappedNotExpanded) {
  std::vector<TestFde> fdes = {{0, 0xfff00000u, 0, true, 16, {{0, true, {8}, 1}}}};
  auto s = ParseSframe(Encode(2, 0, fdes), kVaddr);
  ASSERT_TRUE(s.ok()) << s.status();
  auto t = BuildTableFromSframe(*s);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0].cfa_base, CfaBase::kUnsupported);
  EXPECT_EQ(t->rows[1].cfa_base, CfaBase::kNoInfo);
}

// The fuzz seeds checked in under fuzz_corpus/sframe are valid sections.
TEST(SframeSeedTest, CheckedInSeedsParse) {
  RunResult ls = RunShell(absl::StrCat("ls ", SFRAME_SEED_DIR, "/*.sframe"));
  ASSERT_EQ(ls.status, 0) << ls.err;
  std::istringstream in(ls.out);
  std::string path;
  int seeds = 0;
  while (std::getline(in, path)) {
    FILE* f = std::fopen(path.c_str(), "rb");
    ASSERT_NE(f, nullptr) << path;
    std::vector<uint8_t> bytes(1 << 16);
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
    std::fclose(f);
    absl::StatusOr<SframeSection> s = ParseSframe(bytes, 0x400000);
    ASSERT_TRUE(s.ok()) << path << ": " << s.status();
    EXPECT_EQ(s->size, bytes.size()) << path;
    ExpectTableMatchesLookupEverywhere(*s);
    ++seeds;
  }
  EXPECT_GE(seeds, 4);
}

// ------------------------------------------------------------- corruption

std::vector<uint8_t> SmallRealSection() {
  return ReadSectionBytes(SHAPES_FP_SFRAME, ".sframe").bytes;
}

// Function starts are negative offsets from the section: parse at the
// section's real address so that the unmodified bytes are valid.
uint64_t SmallRealVaddr() { return ReadSectionBytes(SHAPES_FP_SFRAME, ".sframe").vaddr; }

TEST(SframeCorruptTest, EveryTruncationIsAnError) {
  std::vector<uint8_t> bytes = SmallRealSection();
  const uint64_t vaddr = SmallRealVaddr();
  ASSERT_GT(bytes.size(), 28u);
  ASSERT_TRUE(ParseSframe(bytes, vaddr).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<SframeSection> s =
        ParseSframe(absl::Span<const uint8_t>(bytes.data(), n), vaddr);
    EXPECT_FALSE(s.ok()) << "truncated to " << n << " bytes";
    if (!s.ok()) {
      EXPECT_TRUE(absl::StrContains(s.status().message(), "offset")) << s.status();
    }
  }
}

absl::Status ParseWith(std::vector<uint8_t> bytes, size_t off, std::vector<uint8_t> patch) {
  std::memcpy(bytes.data() + off, patch.data(), patch.size());
  return ParseSframe(bytes, SmallRealVaddr()).status();
}

TEST(SframeCorruptTest, BadHeaderFields) {
  std::vector<uint8_t> b = SmallRealSection();
  ASSERT_GT(b.size(), 28u);
  absl::Status st = ParseWith(b, 0, {0xE2, 0xDF});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(st.message(), "magic")) << st;
  for (uint8_t v : {0, 4, 200}) {
    st = ParseWith(b, 2, {v});
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_TRUE(absl::StrContains(st.message(), "version")) << st;
  }
  st = ParseWith(b, 2, {3});
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented) << st;
  st = ParseWith(b, 4, {2});
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented) << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "AArch64")) << st;
  EXPECT_FALSE(ParseWith(b, 7, {255}).ok());                      // auxhdr_len
  EXPECT_FALSE(ParseWith(b, 8, {0xff, 0xff, 0xff, 0xff}).ok());   // num_fdes
  EXPECT_FALSE(ParseWith(b, 12, {0xff, 0xff, 0xff, 0x7f}).ok());  // num_fres
  EXPECT_FALSE(ParseWith(b, 16, {0xff, 0xff, 0xff, 0xff}).ok());  // fre_len
  EXPECT_FALSE(ParseWith(b, 20, {0x00, 0x00, 0x01, 0x00}).ok());  // fdeoff
  EXPECT_FALSE(ParseWith(b, 24, {0xff, 0xff, 0xff, 0xff}).ok());  // freoff
}

TEST(SframeCorruptTest, BadFdeAndFreFields) {
  std::vector<uint8_t> b = SmallRealSection();
  ASSERT_GT(b.size(), 28u);
  absl::StatusOr<SframeSection> good = ParseSframe(b, SmallRealVaddr());
  ASSERT_TRUE(good.ok());
  const SframeFde& fde = good->fdes.back();
  const size_t f = fde.byte_offset;
  EXPECT_FALSE(ParseWith(b, f + 8, {0xff, 0xff, 0xff, 0x0f}).ok());   // start_fre_off
  EXPECT_FALSE(ParseWith(b, f + 12, {0xff, 0xff, 0xff, 0xff}).ok());  // num_fres
  EXPECT_FALSE(ParseWith(b, f + 16, {0x0f}).ok());                    // FRE type 15
  // An FRE whose offset size code is 3.
  const SframeFre& fre = good->fres[fde.first_fre];
  const size_t addr_size = fde.fre_type == 0 ? 1 : fde.fre_type == 1 ? 2 : 4;
  const size_t info_at = fre.byte_offset + addr_size;
  absl::Status st = ParseWith(b, info_at, {static_cast<uint8_t>(b[info_at] | 0x60)});
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(absl::StrContains(st.message(), "size code")) << st;
  // An FRE with no offsets at all.
  EXPECT_FALSE(ParseWith(b, info_at, {static_cast<uint8_t>(b[info_at] & ~0x1e)}).ok());
  // The SORTED flag on FDEs that are out of order.
  if (good->fdes.size() >= 2) {
    std::vector<uint8_t> swapped = b;
    const size_t a0 = good->fdes[0].byte_offset;
    Put<int32_t>(swapped, a0, 0x7fffffff);
    EXPECT_FALSE(ParseSframe(swapped, SmallRealVaddr()).ok());
  }
}

// Flips every byte to a few values: whatever still parses must build a
// sorted table that agrees with the lookup at each row start.
TEST(SframeCorruptTest, ByteMutationsNeverCrash) {
  std::vector<uint8_t> b = SmallRealSection();
  const uint64_t vaddr = SmallRealVaddr();
  ASSERT_GT(b.size(), 28u);
  size_t parsed = 0, rejected = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    for (uint8_t v : {uint8_t{0x00}, uint8_t{0x01}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff},
                      static_cast<uint8_t>(b[i] ^ 0x10)}) {
      std::vector<uint8_t> m = b;
      m[i] = v;
      absl::StatusOr<SframeSection> s = ParseSframe(m, vaddr);
      if (!s.ok()) {
        ++rejected;
        continue;
      }
      ++parsed;
      absl::StatusOr<UnwindTable> t = BuildTableFromSframe(*s);
      ASSERT_TRUE(t.ok()) << t.status();
      for (size_t r = 0; r < t->rows.size(); ++r) {
        if (r > 0) {
          ASSERT_LT(t->rows[r - 1].pc, t->rows[r].pc) << "byte " << i;
        }
        if (t->rows[r].cfa_base == CfaBase::kUnsupported) continue;
        ExpectRowMatchesLookup(*s, *t, t->rows[r].pc);
      }
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(parsed, 0u);
  EXPECT_GT(rejected, 0u);
}

}  // namespace
}  // namespace ringprof::unwind
