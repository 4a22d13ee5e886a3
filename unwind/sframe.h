// SFrame (the "Simple Frame" format that GNU as emits with --gsframe) read
// from an ELF file and turned into the compact UnwindTable the BPF unwinder
// uses.
//
// Why a parser of our own: no library on the machine decodes SFrame
// (libsframe is not packaged), and the collector must decode the section
// itself anyway, because a BPF program cannot read .sframe pages from the
// target's memory (they are never resident).
//
// The work is split in three steps so that each can be tested alone:
//   1. ParseSframe: a pure function over the section bytes. It checks every
//      count and offset against the bytes it was given and returns an error
//      naming the byte offset instead of reading past the end. It decodes
//      every FDE and FRE into plain structs.
//   2. SframeSection::Lookup: the format's own lookup (FDE by function start,
//      then the last FRE that starts at or before the PC), written straight
//      from the specification. Tests use it as the reference for step 3.
//   3. BuildTableFromSframe: flattens the FDEs and FREs into sorted
//      UnwindRows, expanding PLT-style (PCMASK) FDEs and adding explicit
//      kNoInfo rows in the gaps between functions.
//
// Supported: versions 1 and 2 (binutils 2.40 writes v1, 2.41+ writes v2),
// little-endian AMD64 only. Version 3 (binutils 2026, not on this machine)
// is rejected with Unimplemented rather than guessed at, as are other ABIs. See
// /work/shared/notes/SFRAME.md for the layout and the quirks of binutils 2.40.
#ifndef RINGPROF_UNWIND_SFRAME_H_
#define RINGPROF_UNWIND_SFRAME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "unwind/unwind_table.h"

namespace ringprof::unwind {

// Constants of the on-disk format.
inline constexpr uint16_t kSframeMagic = 0xDEE2;
inline constexpr uint8_t kSframeFlagFdeSorted = 0x1;
inline constexpr uint8_t kSframeFlagFramePointer = 0x2;
inline constexpr uint8_t kSframeFlagFuncStartPcrel = 0x4;
inline constexpr uint8_t kSframeAbiAmd64LittleEndian = 3;
// Program header type of the segment that covers .sframe (missing from
// Debian 12's elf.h).
inline constexpr uint32_t kPtGnuSframe = 0x6474e554;
// The fixed header, before the auxiliary header.
inline constexpr size_t kSframeHeaderSize = 28;
// binutils 2.40 (v1) has no repetition size in the FDE; PCMASK FDEs there
// describe 16-byte PLT entries.
inline constexpr uint32_t kSframeV1PcmaskRepSize = 16;
// A PCMASK FDE is expanded into rows once per repetition. Past this many
// repetitions (a PLT of 64Ki entries) the rest of the function gets a single
// kUnsupported row, so that a corrupted size cannot blow the table up.
inline constexpr uint32_t kMaxPcmaskRepetitions = 1u << 16;
// A cap on all rows made by PCMASK expansion in one table, for the same
// reason; FDEs past it get a kUnsupported row.
inline constexpr size_t kMaxPcmaskExpandedRows = 1u << 20;

// One frame row entry, decoded. Offsets are relative to the CFA.
struct SframeFre {
  uint32_t start_offset = 0;  // from the function start (or the block start, PCMASK)
  bool cfa_base_sp = true;    // CFA = SP + cfa_offset, else FP + cfa_offset
  int32_t cfa_offset = 0;
  bool ra_tracked = false;  // from the header's fixed RA offset or the FRE
  int32_t ra_offset = 0;
  bool fp_tracked = false;  // FP saved at CFA + fp_offset
  int32_t fp_offset = 0;
  bool mangled_ra = false;  // AArch64 only; kept for completeness
  uint8_t num_offsets = 0;  // as stored
  uint8_t offset_size = 1;  // 1, 2 or 4 bytes, as stored
  size_t byte_offset = 0;   // where the FRE starts in the section
};

enum class SframePcType : uint8_t { kPcInc = 0, kPcMask = 1 };

// One function descriptor entry, decoded.
struct SframeFde {
  uint64_t func_start = 0;  // ELF virtual address
  uint32_t func_size = 0;
  SframePcType pc_type = SframePcType::kPcInc;
  uint8_t fre_type = 0;        // 0: 1-byte, 1: 2-byte, 2: 4-byte FRE start offsets
  uint32_t rep_size = 0;       // PCMASK block size (16 in v1), 0 for PCINC
  uint32_t start_fre_off = 0;  // as stored: from the start of the FRE sub-section
  uint32_t first_fre = 0;      // index into SframeSection::fres
  uint32_t num_fres = 0;
  size_t byte_offset = 0;  // where the FDE starts in the section
};

struct SframeSection {
  uint8_t version = 0;
  uint8_t flags = 0;
  uint8_t abi_arch = 0;
  int8_t cfa_fixed_fp_offset = 0;
  int8_t cfa_fixed_ra_offset = 0;
  uint8_t auxhdr_len = 0;
  uint32_t header_num_fres = 0;  // the header's count
  uint64_t section_vaddr = 0;
  // Bytes the header says the section spans. A PT_GNU_SFRAME segment from
  // ld 2.40 may be longer (zero padding); the rest is ignored.
  size_t size = 0;
  std::string build_id;         // raw bytes; filled by ReadSframeFromElf when known
  std::vector<SframeFde> fdes;  // in file order
  std::vector<SframeFre> fres;  // FDE i owns fres[first_fre, first_fre + num_fres)

  bool sorted() const { return (flags & kSframeFlagFdeSorted) != 0; }

  struct Match {
    const SframeFde* fde;
    const SframeFre* fre;
  };
  // The FRE in force at `pc` by the format's lookup: the FDE with the
  // largest start <= pc (binary search when sorted, a linear scan
  // otherwise; on equal starts the later FDE wins), pc inside it, then the
  // last FRE whose start <= pc - start (modulo rep_size for PCMASK).
  // nullopt when no FDE covers pc or no FRE starts early enough.
  std::optional<Match> Lookup(uint64_t pc) const;
};

// Decodes an SFrame section. `bytes` may run past the section's end (the
// p_memsz quirk); `section_vaddr` is the section's ELF virtual address,
// which function starts are relative to. Errors: InvalidArgument with the
// byte offset for malformed input, Unimplemented for other versions or ABIs.
absl::StatusOr<SframeSection> ParseSframe(absl::Span<const uint8_t> bytes, uint64_t section_vaddr);

// Reads the SFrame data of an ELF file: the PT_GNU_SFRAME segment, else
// the .sframe section. NotFound when the file has neither.
absl::StatusOr<SframeSection> ReadSframeFromElf(const std::string& path);

// Flattens a parsed section into sorted rows (TableSource::kSframe):
// one row per FRE (pc = function start + FRE start), a kNoInfo row where a
// function begins before its first FRE, PCMASK FDEs repeated over their
// size (capped, see kMaxPcmaskRepetitions), and a kNoInfo row at each
// function end that no other function starts at. An FDE starting inside
// an earlier one ends that one's rows, as the lookup would.
absl::StatusOr<UnwindTable> BuildTableFromSframe(const SframeSection& section);

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_SFRAME_H_
