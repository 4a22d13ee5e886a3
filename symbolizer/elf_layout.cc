#include "symbolizer/elf_layout.h"

#include <elf.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace ringprof::symbolizer {
namespace {

absl::Status NotRecognized(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("file format not recognized (", why, ")"));
}

absl::Status Truncated(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("file truncated (", what, ")"));
}

// Fixed-width fields of one image in its byte order. Callers check ranges
// first; a read past the end gives 0 rather than touching memory.
class Fields {
 public:
  Fields(absl::Span<const uint8_t> image, bool big_endian)
      : image_(image), big_endian_(big_endian) {}

  uint64_t Read(uint64_t offset, size_t width) const {
    if (offset > image_.size() || image_.size() - offset < width) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) {
      const uint64_t byte = image_[offset + (big_endian_ ? i : width - 1 - i)];
      v = (v << 8) | byte;
    }
    return v;
  }

 private:
  absl::Span<const uint8_t> image_;
  bool big_endian_;
};

// Where each field sits, for one class. Offsets and widths come from
// <elf.h> so the two classes cannot drift apart.
struct ClassLayout {
  size_t ehdr_size, phdr_size, shdr_size;
  size_t e_type, e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
  size_t off_width;  // e_phoff, e_shoff, sh_offset, sh_size
  size_t sh_name, sh_type, sh_offset, sh_size, sh_link, sh_info;
};

template <typename E, typename S, typename P>
constexpr ClassLayout LayoutOf() {
  return {sizeof(E),
          sizeof(P),
          sizeof(S),
          offsetof(E, e_type),
          offsetof(E, e_phoff),
          offsetof(E, e_shoff),
          offsetof(E, e_phentsize),
          offsetof(E, e_phnum),
          offsetof(E, e_shentsize),
          offsetof(E, e_shnum),
          offsetof(E, e_shstrndx),
          sizeof(E::e_shoff),
          offsetof(S, sh_name),
          offsetof(S, sh_type),
          offsetof(S, sh_offset),
          offsetof(S, sh_size),
          offsetof(S, sh_link),
          offsetof(S, sh_info)};
}
constexpr ClassLayout kElf32 = LayoutOf<Elf32_Ehdr, Elf32_Shdr, Elf32_Phdr>();
constexpr ClassLayout kElf64 = LayoutOf<Elf64_Ehdr, Elf64_Shdr, Elf64_Phdr>();
static_assert(kElf64.shdr_size == 64 && kElf32.shdr_size == 40 && kElf64.off_width == 8);

// [offset, offset + count * entry) must lie inside a file of `file_size`
// bytes. A range that starts past the end says the header value is wrong
// for this file (binutils: "file format not recognized"); one that starts
// inside and runs off the end says the file was cut short.
// Section contents are always "file truncated": binutils says so when it
// needs a section that lies past the end (and only warns for the others).
absl::Status CheckRange(absl::string_view what, uint64_t offset, uint64_t count, uint64_t entry,
                        uint64_t file_size, bool always_truncated = false) {
  if (offset > file_size) {
    const std::string why = absl::StrFormat(
        "%s at offset 0x%x is past the end of the file, %u bytes", what, offset, file_size);
    return always_truncated ? Truncated(why) : NotRecognized(why);
  }
  // count * entry may overflow; compare against the room that is left.
  const uint64_t room = file_size - offset;
  if (entry != 0 && count > room / entry) {
    const unsigned __int128 end =
        static_cast<unsigned __int128>(offset) + static_cast<unsigned __int128>(count) * entry;
    const std::string end_text = end >> 64 != 0
                                     ? std::string("beyond 2^64")
                                     : absl::StrFormat("0x%x", static_cast<uint64_t>(end));
    return Truncated(absl::StrFormat("%s at 0x%x ends at %s, past the end of the file at 0x%x",
                                     what, offset, end_text, file_size));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ElfLayout> CheckElfLayout(absl::Span<const uint8_t> image) {
  const uint64_t size = image.size();
  if (size == 0) return NotRecognized("empty file");
  static constexpr uint8_t kMagic[SELFMAG] = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3};
  for (size_t i = 0; i < SELFMAG; ++i) {
    if (i == size) return Truncated(absl::StrFormat("%u bytes, inside the ELF magic number", size));
    if (image[i] != kMagic[i]) return NotRecognized("no ELF magic number");
  }
  if (size < EI_NIDENT) {
    return Truncated(absl::StrFormat("%u bytes, inside the ELF identification", size));
  }
  ElfLayout out;
  switch (image[EI_CLASS]) {
    case ELFCLASS32:
      break;
    case ELFCLASS64:
      out.is_64 = true;
      break;
    default:
      return NotRecognized(absl::StrFormat("unknown ELF class %u", image[EI_CLASS]));
  }
  switch (image[EI_DATA]) {
    case ELFDATA2LSB:
      break;
    case ELFDATA2MSB:
      out.big_endian = true;
      break;
    default:
      return NotRecognized(absl::StrFormat("unknown ELF byte order %u", image[EI_DATA]));
  }
  if (image[EI_VERSION] != EV_CURRENT) {
    return NotRecognized(absl::StrFormat("unknown ELF version %u", image[EI_VERSION]));
  }
  const ClassLayout& c = out.is_64 ? kElf64 : kElf32;
  if (size < c.ehdr_size) {
    return Truncated(
        absl::StrFormat("%u bytes, shorter than the %u-byte ELF header", size, c.ehdr_size));
  }
  out.phentsize = c.phdr_size;
  out.shentsize = c.shdr_size;
  const Fields f(image, out.big_endian);
  out.type = static_cast<uint16_t>(f.Read(c.e_type, 2));
  const uint64_t phoff = out.phoff = f.Read(c.e_phoff, c.off_width);
  const uint64_t shoff = out.shoff = f.Read(c.e_shoff, c.off_width);
  const uint64_t phentsize = f.Read(c.e_phentsize, 2);
  const uint64_t shentsize = f.Read(c.e_shentsize, 2);
  const uint64_t e_phnum = f.Read(c.e_phnum, 2);
  const uint64_t e_shnum = f.Read(c.e_shnum, 2);
  const uint64_t e_shstrndx = f.Read(c.e_shstrndx, 2);

  // Program header table.
  auto check_phdrs = [&](uint64_t phnum) -> absl::Status {
    out.phnum = phnum;
    if (phnum == 0) return absl::OkStatus();
    if (phentsize != c.phdr_size) {
      return NotRecognized(absl::StrFormat("program header entry size e_phentsize is %u, not %u",
                                           phentsize, c.phdr_size));
    }
    return CheckRange(
        absl::StrFormat("program header table (%u entries of %u bytes)", phnum, c.phdr_size), phoff,
        phnum, c.phdr_size, size);
  };
  // With PN_XNUM the count is in section 0, so it is checked after that.
  if (e_phnum != PN_XNUM) RETURN_IF_ERROR(check_phdrs(e_phnum));

  // Section header table. With extended numbering, section 0 holds the
  // real section count (sh_size), name table index (sh_link) and program
  // header count (sh_info), so it is read before the rest.
  auto shdr = [&](uint64_t index, size_t field, size_t width) {
    return f.Read(shoff + index * c.shdr_size + field, width);
  };
  if (shoff == 0 && e_shnum != 0) {
    return NotRecognized(absl::StrFormat("e_shnum is %u but e_shoff is 0", e_shnum));
  }
  if (shoff != 0) {
    if (shoff < c.ehdr_size) {
      return NotRecognized(
          absl::StrFormat("section header table at offset 0x%x overlaps the ELF header", shoff));
    }
    if (shentsize != c.shdr_size) {
      return NotRecognized(absl::StrFormat("section header entry size e_shentsize is %u, not %u",
                                           shentsize, c.shdr_size));
    }
    RETURN_IF_ERROR(CheckRange("section header table", shoff, 1, c.shdr_size, size));
    out.shnum = e_shnum != 0 ? e_shnum : shdr(0, c.sh_size, c.off_width);
    RETURN_IF_ERROR(CheckRange(
        absl::StrFormat("section header table (%u entries of %u bytes)", out.shnum, c.shdr_size),
        shoff, out.shnum, c.shdr_size, size));
    out.shstrndx = e_shstrndx != SHN_XINDEX ? e_shstrndx : shdr(0, c.sh_link, 4);
    if (out.shstrndx != SHN_UNDEF && out.shstrndx >= out.shnum) {
      return NotRecognized(absl::StrFormat("section name table index %u, but only %u sections",
                                           out.shstrndx, out.shnum));
    }
  }

  if (e_phnum == PN_XNUM) {
    RETURN_IF_ERROR(check_phdrs(out.shnum > 0 ? shdr(0, c.sh_info, 4) : e_phnum));
  }

  // Section contents. Names come from the name table when it is itself in
  // the file; a bad name offset just leaves the name out.
  uint64_t names_off = 0, names_size = 0;
  if (out.shstrndx != SHN_UNDEF && shdr(out.shstrndx, c.sh_type, 4) != SHT_NOBITS) {
    names_off = shdr(out.shstrndx, c.sh_offset, c.off_width);
    names_size = shdr(out.shstrndx, c.sh_size, c.off_width);
    if (!CheckRange("", names_off, names_size, 1, size).ok()) names_size = 0;
  }
  auto section_name = [&](uint64_t index) {
    std::string what = absl::StrFormat("section [%u]", index);
    const uint64_t name = shdr(index, c.sh_name, 4);
    if (name >= names_size) return what;
    const char* p = reinterpret_cast<const char*>(image.data() + names_off + name);
    size_t len = 0;
    while (name + len < names_size && p[len] != '\0' && len < 64) ++len;
    absl::StrAppend(&what, " ", absl::string_view(p, len));
    return what;
  };
  for (uint64_t i = 1; i < out.shnum; ++i) {
    const uint64_t type = shdr(i, c.sh_type, 4);
    if (type == SHT_NULL || type == SHT_NOBITS) continue;
    const uint64_t offset = shdr(i, c.sh_offset, c.off_width);
    const uint64_t bytes = shdr(i, c.sh_size, c.off_width);
    if (bytes == 0) continue;
    RETURN_IF_ERROR(CheckRange(absl::StrFormat("%s (%u bytes)", section_name(i), bytes), offset,
                               bytes, 1, size, /*always_truncated=*/true));
  }
  return out;
}

}  // namespace ringprof::symbolizer
