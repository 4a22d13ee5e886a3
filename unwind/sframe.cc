#include "unwind/sframe.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"
#include "unwind/elf_image.h"

namespace ringprof::unwind {
namespace {

constexpr size_t kFdeSizeV1 = 17;
constexpr size_t kFdeSizeV2 = 20;

// Little-endian reads at offsets the caller has already bounds-checked.
template <typename T>
T Load(absl::Span<const uint8_t> b, size_t off) {
  T v;
  std::memcpy(&v, b.data() + off, sizeof(T));
  return v;
}

int32_t LoadSigned(absl::Span<const uint8_t> b, size_t off, size_t size) {
  switch (size) {
    case 1:
      return Load<int8_t>(b, off);
    case 2:
      return Load<int16_t>(b, off);
    default:
      return Load<int32_t>(b, off);
  }
}

uint32_t LoadUnsigned(absl::Span<const uint8_t> b, size_t off, size_t size) {
  switch (size) {
    case 1:
      return Load<uint8_t>(b, off);
    case 2:
      return Load<uint16_t>(b, off);
    default:
      return Load<uint32_t>(b, off);
  }
}

absl::Status Malformed(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("SFrame: ", Sv(what), " (at byte offset ", offset, ")"));
}

const char* AbiName(uint8_t abi) {
  switch (abi) {
    case 1:
      return "AArch64 big-endian";
    case 2:
      return "AArch64 little-endian";
    case 3:
      return "AMD64";
    case 4:
      return "s390x";
    default:
      return "unknown";
  }
}

// Decodes the FREs of one FDE into section->fres. FREs must lie inside the
// FRE sub-section [fre_begin, fre_end) and start at strictly increasing
// offsets (so that the lookup and the table agree on which one wins).
absl::Status DecodeFres(absl::Span<const uint8_t> bytes, size_t fre_begin, size_t fre_end,
                        SframeFde& fde, SframeSection& section) {
  static constexpr size_t kAddrSize[] = {1, 2, 4};
  const size_t addr_size = kAddrSize[fde.fre_type];
  size_t off = fre_begin + fde.start_fre_off;
  if (fde.start_fre_off > fre_end - fre_begin) {
    return Malformed(fde.byte_offset, absl::StrCat("FDE's first FRE offset ", fde.start_fre_off,
                                                   " is past the FRE sub-section of ",
                                                   fre_end - fre_begin, " bytes"));
  }
  fde.first_fre = static_cast<uint32_t>(section.fres.size());
  for (uint32_t i = 0; i < fde.num_fres; ++i) {
    SframeFre fre;
    fre.byte_offset = off;
    if (fre_end - off < addr_size + 1) return Malformed(off, "FRE runs past the FRE sub-section");
    fre.start_offset = LoadUnsigned(bytes, off, addr_size);
    const uint8_t info = bytes[off + addr_size];
    off += addr_size + 1;
    fre.cfa_base_sp = (info & 0x1) != 0;
    fre.num_offsets = (info >> 1) & 0xf;
    const uint8_t size_code = (info >> 5) & 0x3;
    fre.mangled_ra = (info & 0x80) != 0;
    if (size_code == 3) return Malformed(fre.byte_offset, "FRE has offset size code 3 (invalid)");
    fre.offset_size = static_cast<uint8_t>(1u << size_code);
    if (fre.num_offsets == 0) return Malformed(fre.byte_offset, "FRE has no CFA offset");
    if (fre_end - off < size_t{fre.num_offsets} * fre.offset_size) {
      return Malformed(fre.byte_offset, "FRE offsets run past the FRE sub-section");
    }
    int32_t offsets[15];
    for (uint8_t k = 0; k < fre.num_offsets; ++k) {
      offsets[k] = LoadSigned(bytes, off, fre.offset_size);
      off += fre.offset_size;
    }
    // Offsets are stored in the order CFA, RA, FP; RA (and FP) are left
    // out when the header gives them as fixed. On AMD64 RA is fixed at -8.
    fre.cfa_offset = offsets[0];
    uint8_t next = 1;
    if (section.cfa_fixed_ra_offset != 0) {
      fre.ra_tracked = true;
      // SFrame's fixed offsets are signed bytes: the sign is meant.
      fre.ra_offset = section.cfa_fixed_ra_offset;  // NOLINT(bugprone-signed-char-misuse)
    } else if (next < fre.num_offsets) {
      fre.ra_tracked = true;
      fre.ra_offset = offsets[next++];
    }
    if (next < fre.num_offsets) {
      fre.fp_tracked = true;
      fre.fp_offset = offsets[next++];
    } else if (section.cfa_fixed_fp_offset != 0) {
      fre.fp_tracked = true;
      fre.fp_offset = section.cfa_fixed_fp_offset;  // NOLINT(bugprone-signed-char-misuse)
    }
    if (next != fre.num_offsets) {
      return Malformed(fre.byte_offset, absl::StrCat("FRE has ", fre.num_offsets,
                                                     " offsets; AMD64 allows at most ", next));
    }
    if (i > 0 && fre.start_offset <= section.fres.back().start_offset) {
      return Malformed(fre.byte_offset, "FRE start offsets are not increasing");
    }
    section.fres.push_back(fre);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SframeSection> ParseSframe(absl::Span<const uint8_t> bytes, uint64_t section_vaddr) {
  if (bytes.size() < kSframeHeaderSize) {
    return Malformed(
        0, absl::StrCat("header needs ", kSframeHeaderSize, " bytes, input has ", bytes.size()));
  }
  SframeSection s;
  s.section_vaddr = section_vaddr;
  const uint16_t magic = Load<uint16_t>(bytes, 0);
  if (magic != kSframeMagic) {
    return Malformed(0, absl::StrCat("bad magic 0x", absl::Hex(magic), ", want 0xdee2"));
  }
  s.version = bytes[2];
  s.flags = bytes[3];
  s.abi_arch = bytes[4];
  s.cfa_fixed_fp_offset = static_cast<int8_t>(bytes[5]);
  s.cfa_fixed_ra_offset = static_cast<int8_t>(bytes[6]);
  s.auxhdr_len = bytes[7];
  if (s.version == 3) {
    return absl::UnimplementedError("SFrame: version 3 is not supported (only versions 1 and 2)");
  }
  if (s.version != 1 && s.version != 2) {
    return Malformed(2, absl::StrCat("unknown version ", s.version, " (supported: 1, 2)"));
  }
  if (s.abi_arch != kSframeAbiAmd64LittleEndian) {
    return absl::UnimplementedError(absl::StrCat("SFrame: ABI ", s.abi_arch, " (",
                                                 AbiName(s.abi_arch),
                                                 ") is not supported; only AMD64 is"));
  }
  const uint32_t num_fdes = Load<uint32_t>(bytes, 8);
  s.header_num_fres = Load<uint32_t>(bytes, 12);
  const uint32_t fre_len = Load<uint32_t>(bytes, 16);
  const uint32_t fdeoff = Load<uint32_t>(bytes, 20);
  const uint32_t freoff = Load<uint32_t>(bytes, 24);

  // All sums below are of 32-bit values in 64-bit arithmetic: no overflow.
  const uint64_t header_end = kSframeHeaderSize + uint64_t{s.auxhdr_len};
  const size_t fde_size = s.version == 1 ? kFdeSizeV1 : kFdeSizeV2;
  const uint64_t fde_begin = header_end + fdeoff;
  const uint64_t fde_end = fde_begin + uint64_t{num_fdes} * fde_size;
  const uint64_t fre_begin = header_end + freoff;
  const uint64_t fre_end = fre_begin + fre_len;
  if (header_end > bytes.size()) return Malformed(7, "auxiliary header runs past the input");
  if (fde_end > bytes.size()) {
    return Malformed(8, absl::StrCat(num_fdes, " FDEs at offset ", fde_begin,
                                     " run past the end of the ", bytes.size(), "-byte input"));
  }
  if (fre_end > bytes.size()) {
    return Malformed(16, absl::StrCat("FRE sub-section [", fre_begin, ", ", fre_end,
                                      ") runs past the end of the ", bytes.size(), "-byte input"));
  }
  // The smallest valid FRE is 3 bytes (start, info, one offset).
  if (uint64_t{s.header_num_fres} * 3 > fre_len) {
    return Malformed(12,
                     absl::StrCat(s.header_num_fres, " FREs cannot fit in ", fre_len, " bytes"));
  }
  s.size = static_cast<size_t>(std::max(fde_end, fre_end));

  s.fdes.reserve(num_fdes);
  s.fres.reserve(s.header_num_fres);
  uint64_t total_fres = 0;
  for (uint32_t i = 0; i < num_fdes; ++i) {
    SframeFde fde;
    const size_t off = static_cast<size_t>(fde_begin + uint64_t{i} * fde_size);
    fde.byte_offset = off;
    const int32_t start_rel = Load<int32_t>(bytes, off);
    fde.func_size = Load<uint32_t>(bytes, off + 4);
    fde.start_fre_off = Load<uint32_t>(bytes, off + 8);
    fde.num_fres = Load<uint32_t>(bytes, off + 12);
    const uint8_t info = bytes[off + 16];
    fde.fre_type = info & 0xf;
    fde.pc_type = ((info >> 4) & 0x1) ? SframePcType::kPcMask : SframePcType::kPcInc;
    if (fde.fre_type > 2) {
      return Malformed(off + 16, absl::StrCat("FDE has unknown FRE type ", fde.fre_type));
    }
    if (fde.pc_type == SframePcType::kPcMask) {
      fde.rep_size = s.version == 1 ? kSframeV1PcmaskRepSize : bytes[off + 17];
      if (fde.rep_size == 0) return Malformed(off + 17, "PCMASK FDE has repetition size 0");
    }
    // Function starts are relative to the section (v1, v2) or, with the
    // PCREL flag, to the FDE's own start field.
    const uint64_t base =
        (s.flags & kSframeFlagFuncStartPcrel) ? section_vaddr + off : section_vaddr;
    if (start_rel < 0 && base < static_cast<uint64_t>(-int64_t{start_rel})) {
      return Malformed(off, "function start is below address 0");
    }
    fde.func_start = base + static_cast<uint64_t>(int64_t{start_rel});
    if (fde.func_start + fde.func_size < fde.func_start) {
      return Malformed(off + 4, "function range wraps around the address space");
    }
    total_fres += fde.num_fres;
    if (total_fres > s.header_num_fres) {
      return Malformed(off + 12,
                       absl::StrCat("FDEs claim more FREs than the header's ", s.header_num_fres));
    }
    if (s.sorted() && i > 0 && fde.func_start < s.fdes.back().func_start) {
      return Malformed(off, "FDEs are not sorted though the header says they are");
    }
    RETURN_IF_ERROR(DecodeFres(bytes, fre_begin, fre_end, fde, s));
    s.fdes.push_back(fde);
  }
  return s;
}

std::optional<SframeSection::Match> SframeSection::Lookup(uint64_t pc) const {
  const SframeFde* fde = nullptr;
  if (sorted()) {
    auto it = std::upper_bound(fdes.begin(), fdes.end(), pc,
                               [](uint64_t p, const SframeFde& f) { return p < f.func_start; });
    if (it != fdes.begin()) fde = &*(it - 1);
  } else {
    for (const SframeFde& f : fdes) {
      if (f.func_start <= pc && (fde == nullptr || f.func_start >= fde->func_start)) fde = &f;
    }
  }
  if (fde == nullptr || pc - fde->func_start >= fde->func_size) return std::nullopt;
  uint64_t ip_off = pc - fde->func_start;
  if (fde->pc_type == SframePcType::kPcMask) ip_off %= fde->rep_size;
  const SframeFre* found = nullptr;
  for (uint32_t i = 0; i < fde->num_fres; ++i) {
    const SframeFre& fre = fres[fde->first_fre + i];
    if (fre.start_offset > ip_off) break;
    found = &fre;
  }
  if (found == nullptr) return std::nullopt;
  return Match{fde, found};
}

namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

UnwindRow RowFromFre(uint64_t pc, const SframeFre& fre) {
  UnwindRow row;
  row.pc = pc;
  if (!fre.ra_tracked) {
    row.cfa_base = CfaBase::kUndefined;  // no return address: outermost frame
    return row;
  }
  auto fits16 = [](int32_t v) { return v >= INT16_MIN && v <= INT16_MAX; };
  if (!fits16(fre.ra_offset) || (fre.fp_tracked && !fits16(fre.fp_offset))) {
    row.cfa_base = CfaBase::kUnsupported;
    return row;
  }
  row.cfa_base = fre.cfa_base_sp ? CfaBase::kSp : CfaBase::kFp;
  row.cfa_offset = fre.cfa_offset;
  row.ra_offset = static_cast<int16_t>(fre.ra_offset);
  row.fp_saved = fre.fp_tracked;
  row.fp_offset = fre.fp_tracked ? static_cast<int16_t>(fre.fp_offset) : 0;
  return row;
}

UnwindRow MarkerRow(uint64_t pc, CfaBase base) {
  UnwindRow row;
  row.pc = pc;
  row.cfa_base = base;
  return row;
}

// Emits the rows of one block of FREs (a whole PCINC function, or one
// repetition of a PCMASK function) that starts at `base`, for PCs below
// `limit`. FREs at or past `span` never match and are skipped.
void EmitBlock(const SframeSection& s, const SframeFde& fde, uint64_t base, uint64_t span,
               uint64_t limit, std::vector<UnwindRow>& rows) {
  if (base >= limit) return;
  if (fde.num_fres == 0 || s.fres[fde.first_fre].start_offset > 0) {
    rows.push_back(MarkerRow(base, CfaBase::kNoInfo));
  }
  for (uint32_t i = 0; i < fde.num_fres; ++i) {
    const SframeFre& fre = s.fres[fde.first_fre + i];
    if (fre.start_offset >= span) break;
    const uint64_t pc = base + fre.start_offset;
    if (pc >= limit) break;
    rows.push_back(RowFromFre(pc, fre));
  }
}

}  // namespace

absl::StatusOr<UnwindTable> BuildTableFromSframe(const SframeSection& s) {
  UnwindTable table;
  table.source = TableSource::kSframe;
  table.build_id = s.build_id;

  // FDEs by start; on equal starts the later one in the file wins, as in
  // Lookup, so only the last of each run is kept.
  std::vector<uint32_t> order(s.fdes.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return s.fdes[a].func_start < s.fdes[b].func_start;
  });
  std::vector<uint32_t> kept;
  kept.reserve(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    if (k + 1 < order.size() && s.fdes[order[k + 1]].func_start == s.fdes[order[k]].func_start) {
      continue;
    }
    kept.push_back(order[k]);
  }

  table.rows.reserve(s.fres.size() + 2 * kept.size());
  size_t pcmask_rows = 0;
  for (size_t k = 0; k < kept.size(); ++k) {
    const SframeFde& fde = s.fdes[kept[k]];
    const uint64_t start = fde.func_start;
    const uint64_t end = start + fde.func_size;  // no wrap: checked by the parser
    const bool has_next = k + 1 < kept.size();
    const uint64_t next_start = has_next ? s.fdes[kept[k + 1]].func_start : UINT64_MAX;
    const uint64_t limit = std::min(end, next_start);

    if (fde.pc_type == SframePcType::kPcInc) {
      EmitBlock(s, fde, start, UINT64_MAX, limit, table.rows);
    } else {
      const uint64_t reps = (uint64_t{fde.func_size} + fde.rep_size - 1) / fde.rep_size;
      const uint64_t expanded = reps * (fde.num_fres + 1);
      if (reps > kMaxPcmaskRepetitions || pcmask_rows + expanded > kMaxPcmaskExpandedRows) {
        // Too big to expand: let the unwinder fall back to frame pointers.
        if (start < limit) table.rows.push_back(MarkerRow(start, CfaBase::kUnsupported));
      } else {
        pcmask_rows += expanded;
        for (uint64_t r = 0; r < reps; ++r) {
          EmitBlock(s, fde, start + r * fde.rep_size, fde.rep_size, limit, table.rows);
        }
      }
    }
    if (end < next_start && (table.rows.empty() || table.rows.back().pc < end)) {
      table.rows.push_back(MarkerRow(end, CfaBase::kNoInfo));
    }
  }
  return table;
}

absl::StatusOr<SframeSection> ReadSframeFromElf(const std::string& path) {
  elf_version(EV_CURRENT);
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus(absl::StrCat("opening ", path));
  std::unique_ptr<Elf, ElfCloser> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an ELF file"));
  }
  size_t file_size = 0;
  const char* raw = elf_rawfile(elf.get(), &file_size);
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot map the file: ", elf_errmsg(-1)));
  }
  const auto* image = reinterpret_cast<const uint8_t*>(raw);
  auto slice = [&](uint64_t offset, uint64_t size,
                   std::string_view what) -> absl::StatusOr<absl::Span<const uint8_t>> {
    if (offset > file_size || size > file_size - offset) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", Sv(what), " [", offset, ", +",
                                                     size, ") is past the end of the file"));
    }
    return absl::Span<const uint8_t>(image + offset, size);
  };

  absl::StatusOr<SframeSection> parsed = absl::NotFoundError(
      absl::StrCat(path, " has no SFrame data (no PT_GNU_SFRAME segment, no .sframe section)"));
  bool found = false;
  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) == 0) {
    for (size_t i = 0; i < phnum && !found; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdr) == nullptr ||
          phdr.p_type != kPtGnuSframe) {
        continue;
      }
      ASSIGN_OR_RETURN(auto bytes, slice(phdr.p_offset, phdr.p_filesz, "PT_GNU_SFRAME"));
      parsed = ParseSframe(bytes, phdr.p_vaddr);
      found = true;
    }
  }
  size_t shstrndx = 0;
  if (!found && elf_getshdrstrndx(elf.get(), &shstrndx) == 0) {
    Elf_Scn* scn = nullptr;
    while (!found && (scn = elf_nextscn(elf.get(), scn)) != nullptr) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type == SHT_NOBITS) continue;
      const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
      if (name == nullptr || std::string_view(name) != ".sframe") continue;
      ASSIGN_OR_RETURN(auto bytes, slice(shdr.sh_offset, shdr.sh_size, ".sframe"));
      parsed = ParseSframe(bytes, shdr.sh_addr);
      found = true;
    }
  }
  if (!parsed.ok()) {
    if (!found) return parsed.status();
    return absl::Status(parsed.status().code(),
                        absl::StrCat(path, ": ", parsed.status().message()));
  }
  absl::StatusOr<std::string> build_id = ReadGnuBuildId(path);
  if (build_id.ok()) parsed->build_id = *std::move(build_id);
  return parsed;
}

}  // namespace ringprof::unwind
