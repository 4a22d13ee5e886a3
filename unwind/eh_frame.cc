#include "unwind/eh_frame.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"
#include "unwind/elf_image.h"

namespace ringprof::unwind {
namespace {

// x86-64 DWARF register numbers (System V psABI, figure 3.36).
constexpr int kDwarfRbp = 6;
constexpr int kDwarfRsp = 7;
constexpr int kDwarfRa = 16;

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
struct CfiCloser {
  void operator()(Dwarf_CFI* c) const { dwarf_cfi_end(c); }
};
struct FrameFree {
  void operator()(Dwarf_Frame* f) const { std::free(f); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

std::string DwErr() { return dwarf_errmsg(-1); }

struct FdeRange {
  uint64_t lo = 0;
  uint64_t hi = 0;
};

// Reads a value of DW_EH_PE format `enc & 0x0f` from [*p, end), sign- or
// zero-extended to 64 bits. False when it does not fit or is unknown.
bool ReadEncodedValue(const uint8_t** p, const uint8_t* end, uint8_t enc, uint64_t* out) {
  auto fixed = [&](size_t n, bool is_signed) {
    if (static_cast<size_t>(end - *p) < n) return false;
    uint64_t v = 0;
    std::memcpy(&v, *p, n);  // little-endian host and target (x86-64 only)
    if (is_signed && n < 8 && (v >> (n * 8 - 1)) & 1) v |= ~uint64_t{0} << (n * 8);
    *out = v;
    *p += n;
    return true;
  };
  auto leb = [&](bool is_signed) {
    uint64_t v = 0;
    unsigned shift = 0;
    while (*p < end) {
      uint8_t b = *(*p)++;
      if (shift < 64) v |= uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if ((b & 0x80) == 0) {
        if (is_signed && shift < 64 && (b & 0x40)) v |= ~uint64_t{0} << shift;
        *out = v;
        return true;
      }
    }
    return false;
  };
  switch (enc & 0x0f) {
    case DW_EH_PE_absptr:
      return fixed(8, false);
    case DW_EH_PE_uleb128:
      return leb(false);
    case DW_EH_PE_udata2:
      return fixed(2, false);
    case DW_EH_PE_udata4:
      return fixed(4, false);
    case DW_EH_PE_udata8:
      return fixed(8, false);
    case DW_EH_PE_sleb128:
      return leb(true);
    case DW_EH_PE_sdata2:
      return fixed(2, true);
    case DW_EH_PE_sdata4:
      return fixed(4, true);
    case DW_EH_PE_sdata8:
      return fixed(8, true);
    default:
      return false;
  }
}

// The FDE pointer encoding of a CIE ('R' in a "z..." augmentation), or -1
// when the augmentation cannot be understood.
int FdePointerEncoding(const Dwarf_CIE& cie) {
  const char* aug = cie.augmentation;
  if (aug == nullptr || aug[0] == '\0') return DW_EH_PE_absptr;
  if (aug[0] != 'z') return -1;
  const uint8_t* p = cie.augmentation_data;
  if (p == nullptr && cie.augmentation_data_size != 0) return -1;
  const uint8_t* end = p + cie.augmentation_data_size;
  for (const char* c = aug + 1; *c != '\0'; ++c) {
    switch (*c) {
      case 'R':
        if (p >= end) return -1;
        return *p;
      case 'P': {
        if (p >= end) return -1;
        uint8_t penc = *p++;
        uint64_t ignored;
        if (!ReadEncodedValue(&p, end, penc, &ignored)) return -1;
        break;
      }
      case 'L':
        if (p >= end) return -1;
        ++p;
        break;
      case 'S':
      case 'B':
        break;
      default:
        return -1;
    }
  }
  return DW_EH_PE_absptr;
}

// libdw sizes each frame's register array by the largest register number a
// CFI program names (16 bytes per register, memset on every query), so a
// corrupt ULEB register of 10^8 costs gigabytes and seconds per lookup.
// Programs are checked here first: the opcode structure must decode and
// registers must be below kMaxDwarfRegister (x86-64 uses fewer than 130).
constexpr uint64_t kMaxDwarfRegister = 256;

bool ValidCfiProgram(const uint8_t* p, const uint8_t* end, uint8_t fde_encoding) {
  uint64_t v = 0;
  auto uleb = [&] { return ReadEncodedValue(&p, end, DW_EH_PE_uleb128, &v); };
  auto sleb = [&] { return ReadEncodedValue(&p, end, DW_EH_PE_sleb128, &v); };
  auto reg = [&] { return uleb() && v < kMaxDwarfRegister; };
  auto skip = [&](uint64_t n) {
    if (static_cast<uint64_t>(end - p) < n) return false;
    p += n;
    return true;
  };
  auto block = [&] { return uleb() && skip(v); };
  while (p < end) {
    uint8_t op = *p++;
    switch (op & 0xc0) {
      case 0x40:  // DW_CFA_advance_loc
      case 0xc0:  // DW_CFA_restore: register in the low 6 bits
        continue;
      case 0x80:  // DW_CFA_offset
        if (!uleb()) return false;
        continue;
    }
    bool ok = true;
    switch (op) {
      case DW_CFA_nop:
      case DW_CFA_remember_state:
      case DW_CFA_restore_state:
        break;
      case DW_CFA_set_loc:
        ok = ReadEncodedValue(&p, end, fde_encoding, &v);
        break;
      case DW_CFA_advance_loc1:
        ok = skip(1);
        break;
      case DW_CFA_advance_loc2:
        ok = skip(2);
        break;
      case DW_CFA_advance_loc4:
        ok = skip(4);
        break;
      case DW_CFA_MIPS_advance_loc8:
        ok = skip(8);
        break;
      case DW_CFA_restore_extended:
      case DW_CFA_undefined:
      case DW_CFA_same_value:
      case DW_CFA_def_cfa_register:
        ok = reg();
        break;
      case DW_CFA_offset_extended:
      case DW_CFA_def_cfa:
      case DW_CFA_val_offset:
      case DW_CFA_GNU_negative_offset_extended:
        ok = reg() && uleb();
        break;
      case DW_CFA_offset_extended_sf:
      case DW_CFA_def_cfa_sf:
      case DW_CFA_val_offset_sf:
        ok = reg() && sleb();
        break;
      case DW_CFA_register:
        ok = reg() && reg();
        break;
      case DW_CFA_def_cfa_offset:
      case DW_CFA_GNU_args_size:
        ok = uleb();
        break;
      case DW_CFA_def_cfa_offset_sf:
        ok = sleb();
        break;
      case DW_CFA_def_cfa_expression:
        ok = block();
        break;
      case DW_CFA_expression:
      case DW_CFA_val_expression:
        ok = reg() && block();
        break;
      default:
        return false;
    }
    if (!ok) return false;
  }
  return true;
}

// What an FDE needs from its CIE.
struct CieInfo {
  int fde_encoding = -1;  // -1: augmentation not understood, or bad program
  bool has_z = false;     // FDEs carry a ULEB augmentation length
};

// Walks every entry of .eh_frame and decodes each FDE's address range.
// Stops at the first malformed entry and records it in stats->problem.
std::vector<FdeRange> ReadFdeRanges(Elf* elf, Elf_Data* data, uint64_t section_addr,
                                    EhFrameStats* stats) {
  std::vector<FdeRange> fdes;
  const unsigned char* ident = reinterpret_cast<const unsigned char*>(elf_getident(elf, nullptr));
  std::unordered_map<Dwarf_Off, CieInfo> cies;
  const auto* base = static_cast<const uint8_t*>(data->d_buf);
  Dwarf_Off offset = 0;
  while (offset < data->d_size) {
    Dwarf_Off next = 0;
    Dwarf_CFI_Entry entry;
    int r = dwarf_next_cfi(ident, data, /*eh_frame_p=*/true, offset, &next, &entry);
    if (r == 1) break;
    if (r != 0 || next <= offset) {
      stats->problem = absl::StrCat("bad CFI entry at .eh_frame offset 0x", absl::Hex(offset), ": ",
                                    r != 0 ? DwErr() : "entry does not advance");
      break;
    }
    if (dwarf_cfi_cie_p(&entry)) {
      CieInfo info;
      info.fde_encoding = FdePointerEncoding(entry.cie);
      info.has_z = entry.cie.augmentation != nullptr && entry.cie.augmentation[0] == 'z';
      if (info.fde_encoding >= 0 &&
          !ValidCfiProgram(entry.cie.initial_instructions, entry.cie.initial_instructions_end,
                           static_cast<uint8_t>(info.fde_encoding))) {
        info.fde_encoding = -1;
      }
      cies[offset] = info;
    } else {
      auto it = cies.find(entry.fde.CIE_pointer);
      int enc = it == cies.end() ? -1 : it->second.fde_encoding;
      const uint8_t* p = entry.fde.start;
      uint64_t loc = 0;
      uint64_t len = 0;
      bool ok = enc >= 0 && (enc & DW_EH_PE_indirect) == 0 &&
                ((enc & 0x70) == DW_EH_PE_absptr || (enc & 0x70) == DW_EH_PE_pcrel);
      if (ok) {
        uint64_t field_addr = section_addr + static_cast<uint64_t>(p - base);
        ok = ReadEncodedValue(&p, entry.fde.end, static_cast<uint8_t>(enc), &loc) &&
             ReadEncodedValue(&p, entry.fde.end, static_cast<uint8_t>(enc & 0x0f), &len);
        if ((enc & 0x70) == DW_EH_PE_pcrel) loc += field_addr;
        uint64_t aug_len = 0;
        if (ok && it->second.has_z) {
          ok = ReadEncodedValue(&p, entry.fde.end, DW_EH_PE_uleb128, &aug_len) &&
               aug_len <= static_cast<uint64_t>(entry.fde.end - p);
          if (ok) p += aug_len;
        }
        ok = ok && ValidCfiProgram(p, entry.fde.end, static_cast<uint8_t>(enc));
      }
      if (!ok) {
        ++stats->skipped_fdes;
        if (stats->problem.empty()) {
          stats->problem = absl::StrCat("FDE at .eh_frame offset 0x", absl::Hex(offset),
                                        " skipped: unsupported encoding or malformed program");
        }
      } else if (len != 0 && loc + len > loc) {  // empty and wrapping ranges cover nothing
        fdes.push_back({loc, loc + len});
      }
    }
    offset = next;
  }
  std::sort(fdes.begin(), fdes.end(), [](const FdeRange& a, const FdeRange& b) {
    return a.lo != b.lo ? a.lo < b.lo : a.hi > b.hi;
  });
  stats->fdes = fdes.size();
  return fdes;
}

// Offset N of a register rule "saved at CFA+N" as libdw spells it:
// [DW_OP_call_frame_cfa] or [DW_OP_call_frame_cfa, DW_OP_plus_uconst N].
bool SavedAtCfaOffset(const Dwarf_Op* ops, size_t nops, int64_t* offset) {
  if (nops == 0 || ops[0].atom != DW_OP_call_frame_cfa) return false;
  if (nops == 1) {
    *offset = 0;
    return true;
  }
  if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
    *offset = static_cast<int64_t>(ops[1].number);
    return true;
  }
  return false;
}

bool FitsInt16(int64_t v) {
  return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
}

// The CFA rule ld writes for PLT entries, where each 16-byte entry pushes
// once partway through: CFA = RSP + base, plus 8 from entry offset
// `threshold` on. As DWARF: breg7 base; breg16 0; lit15; and; lit<K>; ge;
// lit3; shl; plus. It is expanded into plain rows, two per entry.
struct PltRule {
  int64_t base = 0;
  uint64_t threshold = 0;
};

std::optional<PltRule> PltRuleOf(Dwarf_Frame* frame) {
  Dwarf_Op ops_mem[3];
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  int64_t ra_offset = 0;
  if (dwarf_frame_register(frame, kDwarfRa, ops_mem, &ops, &nops) != 0 ||
      !SavedAtCfaOffset(ops, nops, &ra_offset) || ra_offset != -8) {
    return std::nullopt;
  }
  Dwarf_Op* cfa = nullptr;
  size_t cfa_nops = 0;
  if (dwarf_frame_cfa(frame, &cfa, &cfa_nops) != 0 || cfa_nops != 9) return std::nullopt;
  const bool shape =
      cfa[0].atom == DW_OP_breg0 + kDwarfRsp && cfa[1].atom == DW_OP_breg0 + kDwarfRa &&
      cfa[1].number == 0 && cfa[2].atom == DW_OP_lit15 && cfa[3].atom == DW_OP_and &&
      cfa[4].atom >= DW_OP_lit0 && cfa[4].atom <= DW_OP_lit15 && cfa[5].atom == DW_OP_ge &&
      cfa[6].atom == DW_OP_lit3 && cfa[7].atom == DW_OP_shl && cfa[8].atom == DW_OP_plus;
  if (!shape) return std::nullopt;
  // RBP is left alone in PLT code.
  if (dwarf_frame_register(frame, kDwarfRbp, ops_mem, &ops, &nops) != 0 || nops != 0) {
    return std::nullopt;
  }
  PltRule rule;
  rule.base = static_cast<int64_t>(cfa[0].number);
  rule.threshold = cfa[4].atom - DW_OP_lit0;
  if (!FitsInt16(rule.base + 8)) return std::nullopt;
  return rule;
}

// Appends the rows of `rule` over [lo, hi): per 16-byte entry, RSP+base from
// the entry start and RSP+base+8 from its threshold.
void AppendPltRows(std::vector<UnwindRow>* rows, const PltRule& rule, uint64_t lo, uint64_t hi);

// Translates libdw's answer at one PC into the row model (pc left at 0).
UnwindRow RowFromFrame(Dwarf_Frame* frame) {
  UnwindRow row;
  UnwindRow unsupported;
  unsupported.cfa_base = CfaBase::kUnsupported;

  Dwarf_Op ops_mem[3];
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_register(frame, kDwarfRa, ops_mem, &ops, &nops) != 0) return unsupported;
  if (nops == 0 && ops != nullptr) {  // RA undefined: the outermost frame
    row.cfa_base = CfaBase::kUndefined;
    return row;
  }
  int64_t ra_offset = 0;
  if (!SavedAtCfaOffset(ops, nops, &ra_offset) || ra_offset != -8) return unsupported;
  row.ra_offset = -8;

  if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1) return unsupported;
  int64_t reg = -1;
  int64_t cfa_offset = 0;
  if (ops[0].atom == DW_OP_bregx) {
    reg = static_cast<int64_t>(ops[0].number);
    cfa_offset = static_cast<int64_t>(ops[0].number2);
  } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
    reg = ops[0].atom - DW_OP_breg0;
    cfa_offset = static_cast<int64_t>(ops[0].number);
  }
  if (reg == kDwarfRsp) {
    row.cfa_base = CfaBase::kSp;
  } else if (reg == kDwarfRbp) {
    row.cfa_base = CfaBase::kFp;
  } else {
    return unsupported;
  }
  if (cfa_offset < std::numeric_limits<int32_t>::min() ||
      cfa_offset > std::numeric_limits<int32_t>::max()) {
    return unsupported;
  }
  row.cfa_offset = static_cast<int32_t>(cfa_offset);

  if (dwarf_frame_register(frame, kDwarfRbp, ops_mem, &ops, &nops) != 0) return unsupported;
  if (nops != 0) {  // nops == 0: same value or undefined, RBP stays as it is
    int64_t fp_offset = 0;
    if (!SavedAtCfaOffset(ops, nops, &fp_offset) || !FitsInt16(fp_offset)) return unsupported;
    row.fp_saved = true;
    row.fp_offset = static_cast<int16_t>(fp_offset);
  }
  return row;
}

bool SameRule(const UnwindRow& a, const UnwindRow& b) {
  UnwindRow x = a;
  x.pc = b.pc;
  return x == b;
}

// Appends a row, keeping rows sorted, unique by pc, and merged when equal.
void AppendRow(std::vector<UnwindRow>* rows, const UnwindRow& row) {
  if (!rows->empty() && rows->back().pc == row.pc) rows->pop_back();
  if (!rows->empty() && SameRule(rows->back(), row)) return;
  rows->push_back(row);
}

void AppendPltRows(std::vector<UnwindRow>* rows, const PltRule& rule, uint64_t lo, uint64_t hi) {
  for (uint64_t entry = lo & ~uint64_t{15}; entry < hi; entry += 16) {
    const uint64_t pushed = entry + rule.threshold;
    UnwindRow row;
    row.cfa_base = CfaBase::kSp;
    row.pc = std::max(entry, lo);
    row.cfa_offset = static_cast<int32_t>(rule.base + (row.pc >= pushed ? 8 : 0));
    AppendRow(rows, row);
    if (pushed > row.pc && pushed < hi) {
      row.pc = pushed;
      row.cfa_offset = static_cast<int32_t>(rule.base + 8);
      AppendRow(rows, row);
    }
  }
}

absl::StatusOr<UnwindTable> BuildFromElf(Elf* elf, EhFrameStats* stats) {
  auto started = std::chrono::steady_clock::now();
  if (elf_kind(elf) != ELF_K_ELF) return absl::InvalidArgumentError("not an ELF file");
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("bad ELF header: ", elf_errmsg(-1)));
  }
  if (ehdr.e_machine != EM_X86_64 || ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
      ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported ELF machine ", ehdr.e_machine, ": only x86-64 is handled"));
  }
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("no section names: ", elf_errmsg(-1)));
  }
  Elf_Scn* eh_scn = nullptr;
  GElf_Shdr eh_shdr;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name != nullptr && std::strcmp(name, ".eh_frame") == 0) {
      eh_scn = scn;
      eh_shdr = shdr;
      break;
    }
  }
  if (eh_scn == nullptr || eh_shdr.sh_type == SHT_NOBITS || eh_shdr.sh_size == 0) {
    return absl::NotFoundError("no .eh_frame section");
  }
  Elf_Data* data = elf_getdata(eh_scn, nullptr);
  if (data == nullptr || data->d_buf == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(".eh_frame at file offset 0x",
                                                   absl::Hex(eh_shdr.sh_offset),
                                                   " is unreadable: ", elf_errmsg(-1)));
  }

  EhFrameStats local;
  EhFrameStats* st = stats != nullptr ? stats : &local;
  *st = EhFrameStats{};
  std::vector<FdeRange> fdes = ReadFdeRanges(elf, data, eh_shdr.sh_addr, st);
  if (fdes.empty()) {
    if (!st->problem.empty()) return absl::InvalidArgumentError(st->problem);
    return absl::NotFoundError(".eh_frame describes no functions");
  }
  std::unique_ptr<Dwarf_CFI, CfiCloser> cfi(dwarf_getcfi_elf(elf));
  if (!cfi) return absl::InvalidArgumentError(absl::StrCat("libdw cannot read CFI: ", DwErr()));

  UnwindTable table;
  table.source = TableSource::kEhFrame;
  std::vector<UnwindRow>& rows = table.rows;
  rows.reserve(fdes.size() * 4);
  uint64_t covered = 0;  // end of the address space described so far
  for (const FdeRange& fde : fdes) {
    uint64_t pc = std::max(fde.lo, covered);
    if (pc >= fde.hi) continue;
    if (pc > covered && !rows.empty()) {
      UnwindRow gap;
      gap.pc = covered;
      AppendRow(&rows, gap);
    }
    while (pc < fde.hi) {
      Dwarf_Frame* raw = nullptr;
      ++st->cfi_queries;
      if (dwarf_cfi_addrframe(cfi.get(), pc, &raw) != 0) {
        // Our decoding and libdw's lookup disagree (overlapping or corrupt
        // FDEs): say nothing about the rest of this range.
        if (st->problem.empty()) {
          st->problem =
              absl::StrCat("libdw has no CFI at 0x", absl::Hex(pc), " inside an FDE: ", DwErr());
        }
        UnwindRow row;
        row.pc = pc;
        row.cfa_base = CfaBase::kUnsupported;
        AppendRow(&rows, row);
        break;
      }
      std::unique_ptr<Dwarf_Frame, FrameFree> frame(raw);
      Dwarf_Addr start = 0;
      Dwarf_Addr end = 0;
      bool signal = false;
      dwarf_frame_info(frame.get(), &start, &end, &signal);
      const uint64_t next = end > pc ? std::min<uint64_t>(end, fde.hi) : fde.hi;
      if (std::optional<PltRule> plt = PltRuleOf(frame.get())) {
        AppendPltRows(&rows, *plt, pc, next);
        ++st->plt_ranges;
      } else {
        UnwindRow row = RowFromFrame(frame.get());
        row.pc = pc;
        AppendRow(&rows, row);
      }
      pc = next;
    }
    covered = fde.hi;
  }
  UnwindRow tail;
  tail.pc = covered;
  AppendRow(&rows, tail);

  st->rows = rows.size();
  for (const UnwindRow& r : rows) {
    if (r.cfa_base == CfaBase::kUnsupported) ++st->unsupported_rows;
    if (r.cfa_base == CfaBase::kUndefined) ++st->undefined_rows;
  }
  st->build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return table;
}

}  // namespace

absl::StatusOr<UnwindTable> BuildTableFromEhFrame(const std::string& elf_path,
                                                  EhFrameStats* stats) {
  elf_version(EV_CURRENT);
  ScopedFd fd(::open(elf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus(absl::StrCat("opening ", elf_path));
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf) {
    return absl::InvalidArgumentError(absl::StrCat(elf_path, ": ", elf_errmsg(-1)));
  }
  absl::StatusOr<UnwindTable> table = BuildFromElf(elf.get(), stats);
  if (!table.ok()) {
    return absl::Status(table.status().code(),
                        absl::StrCat(elf_path, ": ", table.status().message()));
  }
  absl::StatusOr<std::string> id = ReadGnuBuildId(elf_path);
  if (id.ok()) table->build_id = *std::move(id);
  return table;
}

absl::StatusOr<UnwindTable> BuildTableFromEhFrameImage(absl::Span<const uint8_t> image,
                                                       EhFrameStats* stats) {
  elf_version(EV_CURRENT);
  // elf_memory wants a mutable buffer; keep the caller's bytes untouched.
  std::vector<char> copy(image.begin(), image.end());
  ElfPtr elf(elf_memory(copy.data(), copy.size()));
  if (!elf) return absl::InvalidArgumentError(absl::StrCat("ELF image: ", elf_errmsg(-1)));
  return BuildFromElf(elf.get(), stats);
}

}  // namespace ringprof::unwind
