// libFuzzer target for CheckElfLayout: any bytes give an error in one of
// the two documented forms or a layout whose tables lie inside the input.
// Accepted images then go through the libelf calls ElfFile makes (section
// headers, section data, names), which must not crash either.
#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "symbolizer/elf_layout.h"

namespace {

bool Fits(uint64_t offset, uint64_t count, uint64_t entry, uint64_t size) {
  return offset <= size && (entry == 0 || count <= (size - offset) / entry);
}

void WalkWithLibelf(const uint8_t* data, size_t size) {
  static const bool kInit = elf_version(EV_CURRENT) != EV_NONE;
  if (!kInit || size == 0) return;
  std::vector<char> copy(data, data + size);  // elf_memory may write to its image
  Elf* elf = elf_memory(copy.data(), copy.size());
  if (elf == nullptr) return;
  size_t shstrndx = 0;
  const bool names = elf_getshdrstrndx(elf, &shstrndx) == 0;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    if (names) (void)elf_strptr(elf, shstrndx, shdr.sh_name);
    if (shdr.sh_type == SHT_NOBITS) continue;
    Elf_Data* d = elf_rawdata(scn, nullptr);
    if (d != nullptr && d->d_buf != nullptr && d->d_size > 0) {
      volatile const char last = static_cast<const char*>(d->d_buf)[d->d_size - 1];
      (void)last;
    }
  }
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      (void)gelf_getphdr(elf, i, &phdr);
    }
  }
  elf_end(elf);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<ringprof::symbolizer::ElfLayout> layout =
      ringprof::symbolizer::CheckElfLayout(absl::MakeConstSpan(data, size));
  if (!layout.ok()) {
    const std::string_view m(layout.status().message().data(), layout.status().message().size());
    const bool not_recognized =
        absl::IsInvalidArgument(layout.status()) && m.starts_with("file format not recognized (");
    const bool truncated = absl::IsDataLoss(layout.status()) && m.starts_with("file truncated (");
    if (!not_recognized && !truncated) std::abort();
    return 0;
  }
  const ringprof::symbolizer::ElfLayout& l = *layout;
  if (l.shnum > 0 && !Fits(l.shoff, l.shnum, l.shentsize, size)) std::abort();
  if (l.phnum > 0 && !Fits(l.phoff, l.phnum, l.phentsize, size)) std::abort();
  if (l.shstrndx != 0 && l.shstrndx >= l.shnum) std::abort();
  WalkWithLibelf(data, size);
  return 0;
}
