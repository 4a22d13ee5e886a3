// Checks an ELF file's headers against the file's size before libelf sees
// it.
//
// libelf opens an ELF whose section header table or sections lie past the
// end of the file and then hands back nothing for them, so a truncated or
// scribbled file used to symbolize as "??" with exit status 0. binutils
// refuses such files ("file format not recognized", "file truncated"); this
// check lets the symbolizer refuse them too, and say which header is wrong.
//
// A pure function over the file's bytes, fuzzed by
// tests/symbolizer/fuzz_elf_layout.cc. It reads both classes and both byte
// orders, and handles extended numbering (e_shnum 0, e_shstrndx SHN_XINDEX,
// e_phnum PN_XNUM).
#ifndef RINGPROF_SYMBOLIZER_ELF_LAYOUT_H_
#define RINGPROF_SYMBOLIZER_ELF_LAYOUT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringprof::symbolizer {

// What the headers say, once they were found to fit the file.
struct ElfLayout {
  bool is_64 = false;
  bool big_endian = false;
  uint16_t type = 0;      // e_type
  uint64_t phoff = 0;     // e_phoff
  uint64_t phnum = 0;     // program headers (after PN_XNUM)
  uint64_t shoff = 0;     // e_shoff
  uint64_t shnum = 0;     // section headers (after extended numbering)
  uint64_t shstrndx = 0;  // after SHN_XINDEX
  // Entry sizes for this class (e_phentsize and e_shentsize, once checked).
  uint64_t phentsize = 0;
  uint64_t shentsize = 0;
};

// Errors name no file (the caller prefixes it) and start with binutils'
// words:
//   InvalidArgument "file format not recognized (<why>)": empty, no ELF
//     magic, an unknown class, byte order or version, a header entry size
//     that does not match the class, a section name table index out of
//     range, or a header table that starts past the end of the file.
//   DataLoss "file truncated (<what>)": the ELF header, the program header
//     table or the section header table starts inside the file but ends
//     past its end, or a section's contents (other than SHT_NOBITS) do not
//     lie wholly inside the file.
// Program segments' contents are not checked: separate debug files keep the
// program headers of the file they were split from.
absl::StatusOr<ElfLayout> CheckElfLayout(absl::Span<const uint8_t> image);

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_ELF_LAYOUT_H_
