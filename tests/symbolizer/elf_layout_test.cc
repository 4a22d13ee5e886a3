// CheckElfLayout on synthetic ELF images (both classes, both byte orders)
// with one header field broken at a time, and on cut copies of a real one.
#include "symbolizer/elf_layout.h"

#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace ringprof::symbolizer {
namespace {

using ::testing::HasSubstr;

// Field offsets for one class, from <elf.h>, written out here rather than
// shared with the code under test.
struct Offsets {
  size_t ehdr, phdr, shdr, word;
  size_t e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
  size_t sh_name, sh_type, sh_offset, sh_size, sh_link, sh_info;
  size_t p_type, p_offset;
};
const Offsets k32 = {sizeof(Elf32_Ehdr),
                     sizeof(Elf32_Phdr),
                     sizeof(Elf32_Shdr),
                     4,
                     offsetof(Elf32_Ehdr, e_phoff),
                     offsetof(Elf32_Ehdr, e_shoff),
                     offsetof(Elf32_Ehdr, e_phentsize),
                     offsetof(Elf32_Ehdr, e_phnum),
                     offsetof(Elf32_Ehdr, e_shentsize),
                     offsetof(Elf32_Ehdr, e_shnum),
                     offsetof(Elf32_Ehdr, e_shstrndx),
                     offsetof(Elf32_Shdr, sh_name),
                     offsetof(Elf32_Shdr, sh_type),
                     offsetof(Elf32_Shdr, sh_offset),
                     offsetof(Elf32_Shdr, sh_size),
                     offsetof(Elf32_Shdr, sh_link),
                     offsetof(Elf32_Shdr, sh_info),
                     offsetof(Elf32_Phdr, p_type),
                     offsetof(Elf32_Phdr, p_offset)};
const Offsets k64 = {sizeof(Elf64_Ehdr),
                     sizeof(Elf64_Phdr),
                     sizeof(Elf64_Shdr),
                     8,
                     offsetof(Elf64_Ehdr, e_phoff),
                     offsetof(Elf64_Ehdr, e_shoff),
                     offsetof(Elf64_Ehdr, e_phentsize),
                     offsetof(Elf64_Ehdr, e_phnum),
                     offsetof(Elf64_Ehdr, e_shentsize),
                     offsetof(Elf64_Ehdr, e_shnum),
                     offsetof(Elf64_Ehdr, e_shstrndx),
                     offsetof(Elf64_Shdr, sh_name),
                     offsetof(Elf64_Shdr, sh_type),
                     offsetof(Elf64_Shdr, sh_offset),
                     offsetof(Elf64_Shdr, sh_size),
                     offsetof(Elf64_Shdr, sh_link),
                     offsetof(Elf64_Shdr, sh_info),
                     offsetof(Elf64_Phdr, p_type),
                     offsetof(Elf64_Phdr, p_offset)};

// A small well-formed ELF: header, one PT_LOAD, .text (16 bytes), .bss
// (NOBITS), .shstrtab, then the section header table [null, .text, .bss,
// .shstrtab].
class SyntheticElf {
 public:
  static constexpr uint64_t kText = 1, kBss = 2, kNames = 3, kSections = 4;

  SyntheticElf(bool is_64, bool big_endian) : o_(is_64 ? k64 : k32), big_endian_(big_endian) {
    bytes_.assign(o_.ehdr + o_.phdr, 0);
    std::memcpy(bytes_.data(), ELFMAG, SELFMAG);
    bytes_[EI_CLASS] = is_64 ? ELFCLASS64 : ELFCLASS32;
    bytes_[EI_DATA] = big_endian ? ELFDATA2MSB : ELFDATA2LSB;
    bytes_[EI_VERSION] = EV_CURRENT;
    Put(offsetof(Elf64_Ehdr, e_type), ET_EXEC, 2);
    Put(o_.e_phoff, o_.ehdr, o_.word);
    Put(o_.e_phentsize, o_.phdr, 2);
    Put(o_.e_phnum, 1, 2);
    Put(o_.ehdr + o_.p_type, PT_LOAD, 4);
    text_off_ = bytes_.size();
    bytes_.resize(bytes_.size() + 16, 0x90);
    names_off_ = bytes_.size();
    const char kNamesText[] = "\0.text\0.bss\0.shstrtab";
    bytes_.insert(bytes_.end(), kNamesText, kNamesText + sizeof(kNamesText));
    while (bytes_.size() % 8 != 0) bytes_.push_back(0);
    shoff_ = bytes_.size();
    bytes_.resize(bytes_.size() + kSections * o_.shdr, 0);
    Put(o_.e_shoff, shoff_, o_.word);
    Put(o_.e_shentsize, o_.shdr, 2);
    Put(o_.e_shnum, kSections, 2);
    Put(o_.e_shstrndx, kNames, 2);
    Section(kText, 1, SHT_PROGBITS, text_off_, 16);
    Section(kBss, 7, SHT_NOBITS, 0x7fff0000, 0x10000);
    Section(kNames, 12, SHT_STRTAB, names_off_, sizeof(kNamesText));
  }

  void Put(uint64_t offset, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) {
      const size_t shift = 8 * (big_endian_ ? width - 1 - i : i);
      bytes_.at(offset + i) = static_cast<uint8_t>(value >> shift);
    }
  }
  void PutShdr(uint64_t index, size_t field, uint64_t value) {
    const size_t width =
        (field == o_.sh_offset || field == o_.sh_size) ? o_.word : 4;  // sh_name/type/link/info
    Put(shoff_ + index * o_.shdr + field, value, width);
  }

  std::vector<uint8_t>& bytes() { return bytes_; }
  absl::StatusOr<ElfLayout> Check() const { return CheckElfLayout(bytes_); }
  const Offsets& o() const { return o_; }
  uint64_t shoff() const { return shoff_; }
  uint64_t text_off() const { return text_off_; }

 private:
  void Section(uint64_t index, uint64_t name, uint64_t type, uint64_t offset, uint64_t size) {
    PutShdr(index, o_.sh_name, name);
    PutShdr(index, o_.sh_type, type);
    PutShdr(index, o_.sh_offset, offset);
    PutShdr(index, o_.sh_size, size);
  }

  const Offsets& o_;
  bool big_endian_;
  std::vector<uint8_t> bytes_;
  uint64_t text_off_ = 0, names_off_ = 0, shoff_ = 0;
};

struct Variant {
  bool is_64, big_endian;
};

class ElfLayoutTest : public ::testing::TestWithParam<Variant> {
 protected:
  SyntheticElf elf_{GetParam().is_64, GetParam().big_endian};
};

// The error's code and a piece of its message.
void ExpectError(const absl::StatusOr<ElfLayout>& r, absl::StatusCode code,
                 const std::string& text) {
  ASSERT_FALSE(r.ok()) << "accepted; expected: " << text;
  EXPECT_EQ(r.status().code(), code) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr(text));
}
constexpr absl::StatusCode kNotRecognized = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kTruncated = absl::StatusCode::kDataLoss;

TEST_P(ElfLayoutTest, WellFormedImageIsAccepted) {
  absl::StatusOr<ElfLayout> r = elf_.Check();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->is_64, GetParam().is_64);
  EXPECT_EQ(r->big_endian, GetParam().big_endian);
  EXPECT_EQ(r->type, ET_EXEC);
  EXPECT_EQ(r->phnum, 1u);
  EXPECT_EQ(r->shnum, SyntheticElf::kSections);
  EXPECT_EQ(r->shstrndx, SyntheticElf::kNames);
  EXPECT_EQ(r->shoff, elf_.shoff());
}

TEST_P(ElfLayoutTest, EveryCutIsRefused) {
  const std::vector<uint8_t> whole = elf_.bytes();
  for (size_t keep = 0; keep < whole.size(); ++keep) {
    SCOPED_TRACE(keep);
    absl::StatusOr<ElfLayout> r = CheckElfLayout(absl::MakeConstSpan(whole.data(), keep));
    EXPECT_FALSE(r.ok());
  }
  const Offsets& o = elf_.o();
  auto cut = [&](size_t keep) { return CheckElfLayout(absl::MakeConstSpan(whole.data(), keep)); };
  ExpectError(cut(0), kNotRecognized, "file format not recognized (empty file)");
  ExpectError(cut(3), kTruncated, "file truncated (3 bytes, inside the ELF magic number)");
  ExpectError(cut(10), kTruncated, "inside the ELF identification");
  ExpectError(cut(o.ehdr - 1), kTruncated, "-byte ELF header");
  ExpectError(cut(o.ehdr + 4), kTruncated, "file truncated (program header table (1 entries");
  ExpectError(cut(elf_.text_off() + 8), kNotRecognized,
              "section header table at offset 0x" + absl::StrFormat("%x", elf_.shoff()) +
                  " is past the end of the file");
  ExpectError(cut(whole.size() - 1), kTruncated, "file truncated (section header table (4 entries");
}

TEST_P(ElfLayoutTest, IdentificationMustBeElf) {
  std::vector<uint8_t>& b = elf_.bytes();
  b[EI_CLASS] = 3;
  ExpectError(elf_.Check(), kNotRecognized, "unknown ELF class 3");
  b[EI_CLASS] = GetParam().is_64 ? ELFCLASS64 : ELFCLASS32;
  b[EI_DATA] = 0;
  ExpectError(elf_.Check(), kNotRecognized, "unknown ELF byte order 0");
  b[EI_DATA] = GetParam().big_endian ? ELFDATA2MSB : ELFDATA2LSB;
  b[EI_VERSION] = 2;
  ExpectError(elf_.Check(), kNotRecognized, "unknown ELF version 2");
  b[EI_VERSION] = EV_CURRENT;
  b[1] = 'e';
  ExpectError(elf_.Check(), kNotRecognized, "file format not recognized (no ELF magic number)");
}

TEST_P(ElfLayoutTest, SectionHeaderTableMustFit) {
  const Offsets& o = elf_.o();
  const uint64_t size = elf_.bytes().size();
  const uint64_t huge = GetParam().is_64 ? 0xffffffffffff0000 : 0xffff0000;
  elf_.Put(o.e_shoff, huge, o.word);
  ExpectError(elf_.Check(), kNotRecognized,
              absl::StrFormat("section header table at offset 0x%x is past the end of the file, "
                              "%u bytes",
                              huge, size));
  elf_.Put(o.e_shoff, size - o.shdr, o.word);  // the first entry fits, the table does not
  ExpectError(elf_.Check(), kTruncated, "section header table (4 entries");
  elf_.Put(o.e_shoff, 8, o.word);
  ExpectError(elf_.Check(), kNotRecognized, "overlaps the ELF header");
  elf_.Put(o.e_shoff, 0, o.word);
  ExpectError(elf_.Check(), kNotRecognized, "e_shnum is 4 but e_shoff is 0");
  elf_.Put(o.e_shnum, 0, 2);
  elf_.Put(o.e_shstrndx, 0, 2);
  EXPECT_TRUE(elf_.Check().ok()) << "no section header table at all is fine";
}

TEST_P(ElfLayoutTest, EntrySizesAndIndicesMustMatch) {
  const Offsets& o = elf_.o();
  elf_.Put(o.e_shentsize, o.shdr + 1, 2);
  ExpectError(elf_.Check(), kNotRecognized, "e_shentsize");
  elf_.Put(o.e_shentsize, o.shdr, 2);
  elf_.Put(o.e_phentsize, o.phdr - 8, 2);
  ExpectError(elf_.Check(), kNotRecognized, "e_phentsize");
  elf_.Put(o.e_phentsize, o.phdr, 2);
  elf_.Put(o.e_shstrndx, 9, 2);
  ExpectError(elf_.Check(), kNotRecognized, "section name table index 9, but only 4 sections");
  elf_.Put(o.e_shstrndx, SyntheticElf::kNames, 2);
  elf_.Put(o.e_phoff, 0x7fffffff, o.word);
  ExpectError(elf_.Check(), kNotRecognized, "program header table (1 entries of");
}

TEST_P(ElfLayoutTest, ExtendedNumberingReadsSectionZero) {
  const Offsets& o = elf_.o();
  elf_.Put(o.e_shnum, 0, 2);
  elf_.PutShdr(0, o.sh_size, SyntheticElf::kSections);
  elf_.Put(o.e_shstrndx, SHN_XINDEX, 2);
  elf_.PutShdr(0, o.sh_link, SyntheticElf::kNames);
  elf_.Put(o.e_phnum, PN_XNUM, 2);
  elf_.PutShdr(0, o.sh_info, 1);
  absl::StatusOr<ElfLayout> r = elf_.Check();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->shnum, SyntheticElf::kSections);
  EXPECT_EQ(r->shstrndx, SyntheticElf::kNames);
  EXPECT_EQ(r->phnum, 1u);

  elf_.PutShdr(0, o.sh_info, 1000);  // 1000 program headers do not fit
  ExpectError(elf_.Check(), kTruncated, "program header table (1000 entries");
  elf_.PutShdr(0, o.sh_info, 1);
  elf_.PutShdr(0, o.sh_link, 77);
  ExpectError(elf_.Check(), kNotRecognized, "section name table index 77");
  elf_.PutShdr(0, o.sh_link, SyntheticElf::kNames);
  // A count whose table size overflows 64 bits (the 64-bit class only has
  // room for such a count).
  const uint64_t count = GetParam().is_64 ? uint64_t{1} << 60 : 0xffffffff;
  elf_.PutShdr(0, o.sh_size, count);
  ExpectError(elf_.Check(), kTruncated, GetParam().is_64 ? "ends at beyond 2^64" : "ends at 0x");
}

TEST_P(ElfLayoutTest, SectionContentsMustFitExceptNobits) {
  const Offsets& o = elf_.o();
  const uint64_t size = elf_.bytes().size();
  elf_.PutShdr(SyntheticElf::kText, o.sh_offset, size + 100);
  ExpectError(elf_.Check(), kTruncated,
              "file truncated (section [1] .text (16 bytes) at offset 0x" +
                  absl::StrFormat("%x", size + 100) + " is past the end of the file");
  elf_.PutShdr(SyntheticElf::kText, o.sh_offset, size - 8);
  ExpectError(elf_.Check(), kTruncated, "file truncated (section [1] .text (16 bytes) at 0x");
  elf_.PutShdr(SyntheticElf::kText, o.sh_offset, elf_.text_off());
  // The name table itself out of the file: the message still numbers it.
  elf_.PutShdr(SyntheticElf::kNames, o.sh_size, 0x10000);
  ExpectError(elf_.Check(), kTruncated, "section [3] (65536 bytes)");
}

INSTANTIATE_TEST_SUITE_P(Classes, ElfLayoutTest,
                         ::testing::Values(Variant{true, false}, Variant{true, true},
                                           Variant{false, false}, Variant{false, true}),
                         [](const auto& info) {
                           return std::string(info.param.is_64 ? "Elf64" : "Elf32") +
                                  (info.param.big_endian ? "Msb" : "Lsb");
                         });

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

TEST(ElfLayoutRealFileTest, WorkloadIsAcceptedAndItsCutsAreNot) {
  for (const char* path : {WORKLOAD_DWARF5, WORKLOAD_DWARF4, ADDR2LINE_DRIVER}) {
    SCOPED_TRACE(path);
    const std::vector<uint8_t> bytes = ReadBytes(path);
    ASSERT_GT(bytes.size(), 4096u);
    absl::StatusOr<ElfLayout> r = CheckElfLayout(bytes);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->is_64);
    EXPECT_GT(r->shnum, 20u);
    // Every cut loses at least the section header table, which gcc and ld
    // put at the end.
    for (size_t keep = 0; keep < bytes.size(); keep += 1 + keep / 64) {
      EXPECT_FALSE(CheckElfLayout(absl::MakeConstSpan(bytes.data(), keep)).ok()) << keep;
    }
  }
}

TEST(ElfLayoutSeedTest, CheckedInSeedsPass) {
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ELF_LAYOUT_SEED_DIR)) {
    SCOPED_TRACE(entry.path().string());
    absl::StatusOr<ElfLayout> r = CheckElfLayout(ReadBytes(entry.path().string()));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->shnum, 4u);
    EXPECT_EQ(r->phnum, 1u);
    ++seeds;
  }
  EXPECT_GE(seeds, 5);
}

}  // namespace
}  // namespace ringprof::symbolizer
