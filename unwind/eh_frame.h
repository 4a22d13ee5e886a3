// Unwind tables from .eh_frame, for binaries without .sframe (Debian's libc,
// libstdc++, ld.so, anything clang 14 builds).
//
// Why libdw: .eh_frame is a bytecode (CIE initial instructions + FDE
// programs, remember/restore state, expressions) whose meaning at a given PC
// is what libdw's CFI interpreter says. The converter asks libdw for the rule
// at each row boundary and turns it into the compact row model of
// unwind_table.h, so the BPF unwinder never interprets DWARF.
//
// How:
//   1. Enumerate the FDEs of .eh_frame with dwarf_next_cfi and decode each
//      one's [initial_location, +address_range) with its CIE's 'R' pointer
//      encoding (absptr or pcrel; others are counted as skipped).
//   2. For each FDE, in address order, ask dwarf_cfi_addrframe for the frame
//      at the FDE start; dwarf_frame_info gives the PC range over which that
//      row holds, so the next query jumps to the row's end. One query per CFA
//      program row, not per instruction.
//   3. Translate each frame (x86-64 DWARF numbering: 6 = RBP, 7 = RSP,
//      16 = RA) into an UnwindRow, merge consecutive identical rows, and put a
//      kNoInfo row in every gap between FDEs and after the last one.
//
// Rules that the row model cannot carry (an expression CFA such as signal
// trampolines, a CFA on another register, RA not at CFA-8, RBP kept in a
// register or computed) become kUnsupported rows, so the unwinder falls
// back to frame pointers there rather than guessing. The one expression ld
// writes for PLT entries (RSP+8, or RSP+16 once the entry has pushed) is
// recognised and expanded into two plain rows per 16-byte entry.
//
// Corrupt input: libdw and this file validate every length and offset; a
// bad entry stops the enumeration at its offset. If no FDE could be read the
// result is an error naming the offset; otherwise the rows read so far are
// kept and EhFrameStats::problem says what was cut. Nothing here crashes on
// bad bytes (tests/unwind/fuzz_eh_frame.cc).
#ifndef RINGPROF_UNWIND_EH_FRAME_H_
#define RINGPROF_UNWIND_EH_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "unwind/unwind_table.h"

namespace ringprof::unwind {

// What one conversion saw; for reports and benchmarks.
struct EhFrameStats {
  size_t fdes = 0;              // FDEs whose address range was decoded
  size_t skipped_fdes = 0;      // FDEs with an unknown encoding or a malformed program
  size_t cfi_queries = 0;       // dwarf_cfi_addrframe calls
  size_t rows = 0;              // rows in the final table
  size_t unsupported_rows = 0;  // rows with cfa_base kUnsupported
  size_t undefined_rows = 0;    // rows with cfa_base kUndefined
  size_t plt_ranges = 0;        // PLT expression ranges expanded into rows
  double build_seconds = 0;     // wall time of the whole conversion
  // Empty when the whole of .eh_frame was read; otherwise the first problem
  // (e.g. "bad CFI entry at .eh_frame offset 0x1234: invalid DWARF"). The
  // table then holds the rows of the FDEs before it.
  std::string problem;
};

// Builds the table of the ELF file at `elf_path` (x86-64 only). build_id is
// the file's GNU build-id when it has one.
// NotFound: no .eh_frame (or it is SHT_NOBITS, as in debuginfo files).
// InvalidArgument: not ELF, not x86-64, or .eh_frame unreadable from the start.
absl::StatusOr<UnwindTable> BuildTableFromEhFrame(const std::string& elf_path,
                                                  EhFrameStats* stats = nullptr);

// The same for an ELF image held in memory (the fuzz target's entry point).
// build_id is left empty.
absl::StatusOr<UnwindTable> BuildTableFromEhFrameImage(absl::Span<const uint8_t> image,
                                                       EhFrameStats* stats = nullptr);

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_EH_FRAME_H_
