#include "unwind/elf_image.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof::unwind {
namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

// Scans one note data block for NT_GNU_BUILD_ID.
bool FindBuildIdNote(Elf_Data* data, std::string* out) {
  size_t offset = 0;
  GElf_Nhdr nhdr;
  size_t name_off = 0;
  size_t desc_off = 0;
  while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0) {
    if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
        std::string_view(static_cast<const char*>(data->d_buf) + name_off, 3) == "GNU") {
      out->assign(static_cast<const char*>(data->d_buf) + desc_off, nhdr.n_descsz);
      return true;
    }
  }
  return false;
}

// An ELF file opened read-only; the fd outlives the Elf handle's use.
struct OpenedElf {
  ScopedFd fd;
  std::unique_ptr<Elf, ElfCloser> elf;
};

absl::StatusOr<OpenedElf> OpenElf(const std::string& path) {
  elf_version(EV_CURRENT);
  OpenedElf o;
  o.fd = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!o.fd.valid()) return LastErrnoStatus(absl::StrCat("opening ", path));
  o.elf.reset(elf_begin(o.fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!o.elf || elf_kind(o.elf.get()) != ELF_K_ELF) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not an ELF file"));
  }
  return o;
}

}  // namespace

absl::StatusOr<std::vector<LoadSegment>> ReadLoadSegments(const std::string& path) {
  ASSIGN_OR_RETURN(OpenedElf opened, OpenElf(path));
  Elf* elf = opened.elf.get();
  std::vector<LoadSegment> out;
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_LOAD) {
        continue;
      }
      out.push_back({phdr.p_offset, phdr.p_vaddr, phdr.p_filesz, (phdr.p_flags & PF_X) != 0});
    }
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " has no PT_LOAD segment"));
  return out;
}

absl::StatusOr<uint64_t> ReadEntryPoint(const std::string& path) {
  ASSIGN_OR_RETURN(OpenedElf opened, OpenElf(path));
  GElf_Ehdr ehdr;
  if (gelf_getehdr(opened.elf.get(), &ehdr) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no ELF header"));
  }
  return ehdr.e_entry;
}

std::optional<uint64_t> FileOffsetToVaddr(const std::vector<LoadSegment>& segments,
                                          uint64_t offset) {
  for (const LoadSegment& s : segments) {
    if (offset >= s.offset && offset - s.offset < s.filesz) return s.vaddr + (offset - s.offset);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> ReadGnuBuildId(const std::string& path) {
  ASSIGN_OR_RETURN(OpenedElf opened, OpenElf(path));
  Elf* elf = opened.elf.get();
  std::string id;
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr || phdr.p_type != PT_NOTE) {
        continue;
      }
      Elf_Data* data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
      if (data != nullptr && FindBuildIdNote(data, &id)) return id;
    }
  }
  // Separate debuginfo files may have no program headers: try sections.
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_NOTE) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data != nullptr && FindBuildIdNote(data, &id)) return id;
  }
  return absl::NotFoundError(absl::StrCat(path, " has no GNU build-id note"));
}

}  // namespace ringprof::unwind
