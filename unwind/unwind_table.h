// The compact unwind table: one per binary (keyed by build-id), built once
// from .sframe or from .eh_frame, and what the BPF unwinder reads (through
// maps, in a later encoding of these rows).
//
// A row says, for the PCs from its `pc` up to the next row's `pc`, how to
// recover the caller's frame on x86-64:
//   CFA = (SP or FP) + cfa_offset
//   RA  = *(CFA + ra_offset)                  (always CFA-8 on x86-64)
//   FP  = *(CFA + fp_offset) if fp_saved, else unchanged
//   then SP = CFA, PC = RA.
// PCs are ELF virtual addresses of the file (as in its program headers),
// not runtime addresses: the collector adds each mapping's load bias.
// Rows are sorted by pc with no duplicates. A row with cfa_base kUndefined
// marks the end of the stack (the outermost frame, e.g. _start) or code
// the table cannot describe (kUnsupported: an expression-based CFA), so the
// unwinder falls back to frame pointers there. Gaps between functions are
// explicit rows of kind kNoInfo so that a lookup never lands in the
// previous function's last row.
#ifndef RINGPROF_UNWIND_UNWIND_TABLE_H_
#define RINGPROF_UNWIND_UNWIND_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ringprof::unwind {

enum class CfaBase : uint8_t {
  kNoInfo = 0,       // no function covers this PC
  kSp = 1,           // CFA = RSP + cfa_offset
  kFp = 2,           // CFA = RBP + cfa_offset
  kUndefined = 3,    // outermost frame: stop
  kUnsupported = 4,  // a rule this table cannot express: fall back
};

struct UnwindRow {
  uint64_t pc = 0;
  CfaBase cfa_base = CfaBase::kNoInfo;
  int32_t cfa_offset = 0;
  int16_t ra_offset = -8;
  bool fp_saved = false;
  int16_t fp_offset = 0;  // valid when fp_saved
  bool operator==(const UnwindRow&) const = default;
};

enum class TableSource : uint8_t { kSframe = 1, kEhFrame = 2 };

struct UnwindTable {
  TableSource source = TableSource::kSframe;
  std::string build_id;         // raw bytes, may be empty
  std::vector<UnwindRow> rows;  // sorted by pc

  // The row in force at `pc`, or nullptr when pc is before the first row.
  const UnwindRow* Find(uint64_t pc) const;
};

// Marks the ELF entry point `entry` as the outermost frame when the table
// has no rule there: [entry, entry + length) becomes kUndefined, and the
// gap after it stays kNoInfo. A walk that returns into the entry code
// (ld.so's _start calls _dl_start and has no unwind information) has then
// reached the end of the stack, which is what it is, instead of meeting "no
// information". A table that describes the entry (glibc's crt1 _start says
// its return address is undefined) is left as it is.
inline constexpr uint64_t kEntryCodeBytes = 64;
void MarkEntryPoint(UnwindTable& table, uint64_t entry, uint64_t length = kEntryCodeBytes);

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_UNWIND_TABLE_H_
