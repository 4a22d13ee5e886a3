// Builds small .eh_frame sections and minimal x86-64 ELF images around
// them, for the converter's tests and its fuzz target. The ELF has only
// .eh_frame (at kEhFrameAddr) and .shstrtab: no .eh_frame_hdr, so libdw
// scans the section itself.
#ifndef RINGPROF_TESTS_UNWIND_EH_FRAME_SYNTH_H_
#define RINGPROF_TESTS_UNWIND_EH_FRAME_SYNTH_H_

#include <elf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ringprof::unwind::ehsynth {

constexpr char kNames[] = "\0.eh_frame\0.shstrtab\0";
constexpr uint64_t kEhFrameAddr = 0x1000;

inline std::vector<uint8_t> WrapEhFrame(const uint8_t* data, size_t size) {
  const size_t eh_off = sizeof(Elf64_Ehdr);
  const size_t names_off = eh_off + size;
  size_t sh_off = names_off + sizeof(kNames);
  sh_off = (sh_off + 7) & ~size_t{7};
  std::vector<uint8_t> image(sh_off + 3 * sizeof(Elf64_Shdr), 0);

  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_DYN;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_shoff = sh_off;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = 3;
  eh.e_shstrndx = 2;
  std::memcpy(image.data(), &eh, sizeof(eh));
  if (size > 0) std::memcpy(image.data() + eh_off, data, size);
  std::memcpy(image.data() + names_off, kNames, sizeof(kNames));

  Elf64_Shdr sh[3]{};
  sh[1].sh_name = 1;  // ".eh_frame"
  sh[1].sh_type = SHT_PROGBITS;
  sh[1].sh_flags = SHF_ALLOC;
  sh[1].sh_addr = kEhFrameAddr;
  sh[1].sh_offset = eh_off;
  sh[1].sh_size = size;
  sh[1].sh_addralign = 1;
  sh[2].sh_name = 11;  // ".shstrtab"
  sh[2].sh_type = SHT_STRTAB;
  sh[2].sh_offset = names_off;
  sh[2].sh_size = sizeof(kNames);
  sh[2].sh_addralign = 1;
  std::memcpy(image.data() + sh_off, sh, sizeof(sh));
  return image;
}

// Writes one "zR" CIE (code align 1, data align -8, RA = r16, FDE pointers
// pcrel|sdata4, initial rule CFA = RSP+8, RA at CFA-8) followed by FDEs.
class EhFrameWriter {
 public:
  EhFrameWriter() {
    size_t start = BeginEntry();
    Put32(0);             // CIE id
    bytes_.push_back(1);  // version
    for (char c : {'z', 'R', '\0'}) bytes_.push_back(static_cast<uint8_t>(c));
    bytes_.insert(bytes_.end(), {0x01, 0x78, 0x10, 0x01, 0x1b});
    bytes_.insert(bytes_.end(), {0x0c, 0x07, 0x08, 0x90, 0x01});  // def_cfa r7+8; r16 at cfa-8
    EndEntry(start);
  }

  // An FDE for [lo, lo + size) whose program is `program` (DW_CFA bytes).
  void AddFde(uint64_t lo, uint32_t size, const std::vector<uint8_t>& program) {
    size_t start = BeginEntry();
    Put32(static_cast<uint32_t>(bytes_.size()));  // back to the CIE at offset 0
    uint64_t field_addr = kEhFrameAddr + bytes_.size();
    Put32(static_cast<uint32_t>(lo - field_addr));
    Put32(size);
    bytes_.push_back(0);  // augmentation data length
    bytes_.insert(bytes_.end(), program.begin(), program.end());
    EndEntry(start);
  }

  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  size_t BeginEntry() {
    size_t start = bytes_.size();
    Put32(0);  // length, patched by EndEntry
    return start;
  }
  void EndEntry(size_t start) {
    while ((bytes_.size() - start) % 8 != 0) bytes_.push_back(0);  // DW_CFA_nop
    uint32_t length = static_cast<uint32_t>(bytes_.size() - start - 4);
    std::memcpy(bytes_.data() + start, &length, 4);
  }
  void Put32(uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    bytes_.insert(bytes_.end(), b, b + 4);
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace ringprof::unwind::ehsynth

#endif  // RINGPROF_TESTS_UNWIND_EH_FRAME_SYNTH_H_
