// Tests of the table's own helpers: Find, MarkEntryPoint, and the ELF facts
// the collector reads to place an entry point (e_entry, PT_LOAD segments).
#include "unwind/unwind_table.h"

#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "unwind/elf_image.h"

namespace ringprof::unwind {
namespace {

UnwindRow Row(uint64_t pc, CfaBase base, int32_t offset = 8) {
  UnwindRow r;
  r.pc = pc;
  r.cfa_base = base;
  r.cfa_offset = base == CfaBase::kSp || base == CfaBase::kFp ? offset : 0;
  return r;
}

CfaBase At(const UnwindTable& t, uint64_t pc) {
  const UnwindRow* r = t.Find(pc);
  return r == nullptr ? CfaBase::kNoInfo : r->cfa_base;
}

void ExpectSortedAndUnique(const UnwindTable& t) {
  for (size_t i = 1; i < t.rows.size(); ++i) {
    EXPECT_LT(t.rows[i - 1].pc, t.rows[i].pc) << "row " << i;
  }
}

TEST(UnwindTable, FindGivesTheRowInForce) {
  UnwindTable t;
  t.rows = {Row(0x100, CfaBase::kSp), Row(0x110, CfaBase::kNoInfo)};
  EXPECT_EQ(t.Find(0xff), nullptr);
  EXPECT_EQ(t.Find(0x100)->pc, 0x100u);
  EXPECT_EQ(t.Find(0x10f)->pc, 0x100u);
  EXPECT_EQ(t.Find(0x5000)->pc, 0x110u);
}

// ld.so: _start has no FDE; the gap it sits in runs to the next function.
TEST(UnwindTable, EntryInAGapEndsTheStackOnlyOverTheEntryCode) {
  UnwindTable t;
  t.rows = {Row(0x100, CfaBase::kSp), Row(0x180, CfaBase::kNoInfo), Row(0x400, CfaBase::kSp),
            Row(0x480, CfaBase::kNoInfo)};
  MarkEntryPoint(t, 0x200, 64);
  ExpectSortedAndUnique(t);
  EXPECT_EQ(At(t, 0x1ff), CfaBase::kNoInfo);
  EXPECT_EQ(At(t, 0x200), CfaBase::kUndefined);
  EXPECT_EQ(At(t, 0x207), CfaBase::kUndefined);  // the return address of its first call
  EXPECT_EQ(At(t, 0x23f), CfaBase::kUndefined);
  EXPECT_EQ(At(t, 0x240), CfaBase::kNoInfo);  // the rest of the gap is still unknown
  EXPECT_EQ(At(t, 0x3ff), CfaBase::kNoInfo);
  EXPECT_EQ(At(t, 0x400), CfaBase::kSp);
  EXPECT_EQ(t.rows.size(), 6u);
}

TEST(UnwindTable, EntryCodeStopsAtTheNextFunction) {
  UnwindTable t;
  t.rows = {Row(0x100, CfaBase::kSp), Row(0x180, CfaBase::kNoInfo), Row(0x210, CfaBase::kSp)};
  MarkEntryPoint(t, 0x200, 64);
  ExpectSortedAndUnique(t);
  EXPECT_EQ(At(t, 0x20f), CfaBase::kUndefined);
  EXPECT_EQ(At(t, 0x210), CfaBase::kSp);
  EXPECT_EQ(t.rows.size(), 4u);
}

TEST(UnwindTable, EntryOnAGapRowReplacesIt) {
  UnwindTable t;
  t.rows = {Row(0x100, CfaBase::kSp), Row(0x200, CfaBase::kNoInfo), Row(0x220, CfaBase::kNoInfo),
            Row(0x240, CfaBase::kSp)};
  MarkEntryPoint(t, 0x200, 64);
  ExpectSortedAndUnique(t);
  EXPECT_EQ(At(t, 0x200), CfaBase::kUndefined);
  EXPECT_EQ(At(t, 0x230), CfaBase::kUndefined);
  EXPECT_EQ(At(t, 0x240), CfaBase::kSp);
  EXPECT_EQ(t.rows.size(), 3u);
}

TEST(UnwindTable, EntryBeforeEveryRowAndAfterEveryRow) {
  UnwindTable before;
  before.rows = {Row(0x1000, CfaBase::kSp)};
  MarkEntryPoint(before, 0x10, 64);
  ExpectSortedAndUnique(before);
  EXPECT_EQ(At(before, 0x10), CfaBase::kUndefined);
  EXPECT_EQ(At(before, 0x50), CfaBase::kNoInfo);
  EXPECT_EQ(At(before, 0x1000), CfaBase::kSp);

  UnwindTable after;
  after.rows = {Row(0x100, CfaBase::kSp), Row(0x110, CfaBase::kNoInfo)};
  MarkEntryPoint(after, 0x200, 64);
  ExpectSortedAndUnique(after);
  EXPECT_EQ(At(after, 0x200), CfaBase::kUndefined);
  EXPECT_EQ(At(after, 0x240), CfaBase::kNoInfo);

  UnwindTable empty;
  MarkEntryPoint(empty, 0x200, 64);
  EXPECT_EQ(At(empty, 0x210), CfaBase::kUndefined);
  EXPECT_EQ(At(empty, 0x240), CfaBase::kNoInfo);
}

// glibc's crt1 _start has an FDE: its own rules are kept.
TEST(UnwindTable, EntryThatTheTableDescribesIsLeftAlone) {
  UnwindTable t;
  t.rows = {Row(0x200, CfaBase::kUndefined), Row(0x204, CfaBase::kSp),
            Row(0x230, CfaBase::kNoInfo)};
  const std::vector<UnwindRow> rows = t.rows;
  MarkEntryPoint(t, 0x200, 64);
  EXPECT_EQ(t.rows, rows);
  MarkEntryPoint(t, 0x210, 64);
  EXPECT_EQ(t.rows, rows);
}

TEST(ElfImage, EntryPointAndSegmentsOfThisTest) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  absl::StatusOr<uint64_t> entry = ReadEntryPoint(self);
  ASSERT_TRUE(entry.ok()) << entry.status();
  absl::StatusOr<std::vector<LoadSegment>> segs = ReadLoadSegments(self);
  ASSERT_TRUE(segs.ok()) << segs.status();
  // The entry lies in a loaded segment, and file offset <-> vaddr agree.
  bool found = false;
  for (const LoadSegment& s : *segs) {
    if (*entry >= s.vaddr && *entry - s.vaddr < s.filesz) {
      found = true;
      std::optional<uint64_t> v = FileOffsetToVaddr(*segs, s.offset + (*entry - s.vaddr));
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(*v, *entry);
    }
  }
  EXPECT_TRUE(found) << std::hex << *entry;
  EXPECT_FALSE(FileOffsetToVaddr(*segs, uint64_t{1} << 60).has_value());
  EXPECT_FALSE(ReadEntryPoint("/nonexistent/binary").ok());
  EXPECT_FALSE(ReadEntryPoint("/proc/self/status").ok());
}

}  // namespace
}  // namespace ringprof::unwind
