#include "symbolizer/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "symbolizer/elf_layout.h"

namespace ringprof::symbolizer {
namespace {

absl::Status ElfError(absl::string_view what) {
  return absl::DataLossError(absl::StrCat(what, ": ", elf_errmsg(-1)));
}

// Scans one block of notes for a GNU build-id.
bool FindBuildIdNote(Elf_Data* data, std::string* out) {
  if (data == nullptr || data->d_buf == nullptr) return false;
  GElf_Nhdr nhdr;
  size_t name_off = 0, desc_off = 0, off = 0;
  while (off < data->d_size && (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
    const char* base = static_cast<const char*>(data->d_buf);
    if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
        std::memcmp(base + name_off, "GNU", 4) == 0 && nhdr.n_descsz > 0) {
      out->assign(base + desc_off, nhdr.n_descsz);
      return true;
    }
  }
  return false;
}

Elf_Scn* FindSection(Elf* elf, const char* wanted) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (name != nullptr && std::strcmp(name, wanted) == 0) return scn;
  }
  return nullptr;
}

const char* FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unknown type";
}

struct Unmap {
  size_t size;
  void operator()(const uint8_t* p) const { ::munmap(const_cast<uint8_t*>(p), size); }
};

// Runs CheckElfLayout over the whole file, mapped read-only for the check.
// Errors are prefixed with the path.
absl::Status CheckLayout(int fd, uint64_t size, const std::string& path) {
  std::unique_ptr<const uint8_t, Unmap> map(nullptr, Unmap{size});
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return LastErrnoStatus(absl::StrCat("mapping ", path));
    map.reset(static_cast<const uint8_t*>(p));
  }
  absl::StatusOr<ElfLayout> layout = CheckElfLayout(absl::MakeConstSpan(map.get(), size));
  if (layout.ok()) return absl::OkStatus();
  return absl::Status(layout.status().code(), absl::StrCat(path, ": ", layout.status().message()));
}

}  // namespace

absl::StatusOr<ElfFile> ElfFile::Open(const std::string& path) {
  static const bool kInit = elf_version(EV_CURRENT) != EV_NONE;
  if (!kInit) return absl::InternalError("libelf: elf_version(EV_CURRENT) failed");
  // O_NONBLOCK: opening a FIFO without a writer must not wait for one.
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("'", path, "': No such file"));
    return LastErrnoStatus(path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return LastErrnoStatus(absl::StrCat("fstat ", path));
  if (S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("'", path, "' is a directory"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not an ordinary file (", FileTypeName(st.st_mode), ")"));
  }
  RETURN_IF_ERROR(CheckLayout(fd.get(), static_cast<uint64_t>(st.st_size), path));
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (elf == nullptr) return ElfError(absl::StrCat(path, ": reading the ELF header"));
  if (elf_kind(elf.get()) != ELF_K_ELF) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": file format not recognized"));
  }
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf.get(), &ehdr) == nullptr) {
    return ElfError(absl::StrCat(path, ": reading the ELF header"));
  }
  return ElfFile(path, std::move(fd), std::move(elf));
}

absl::StatusOr<std::string> ElfFile::BuildId() const {
  std::string id;
  for (Elf_Scn* scn = elf_nextscn(elf(), nullptr); scn != nullptr; scn = elf_nextscn(elf(), scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_NOTE) continue;
    if (FindBuildIdNote(elf_getdata(scn, nullptr), &id)) return id;
  }
  // No section headers (or no note section): try PT_NOTE segments.
  size_t phnum = 0;
  if (elf_getphdrnum(elf(), &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr phdr;
      if (gelf_getphdr(elf(), i, &phdr) == nullptr || phdr.p_type != PT_NOTE) continue;
      Elf_Data* data = elf_getdata_rawchunk(elf(), phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
      if (FindBuildIdNote(data, &id)) return id;
    }
  }
  return absl::NotFoundError(absl::StrCat("no GNU build-id note in ", path_));
}

std::string ElfFile::DebugLink() const {
  Elf_Scn* scn = FindSection(elf(), ".gnu_debuglink");
  if (scn == nullptr) return "";
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (data == nullptr || data->d_buf == nullptr || data->d_size == 0) return "";
  const char* p = static_cast<const char*>(data->d_buf);
  return std::string(p, strnlen(p, data->d_size));
}

bool ElfFile::HasDebugInfo() const {
  Elf_Scn* scn = FindSection(elf(), ".debug_info");
  if (scn == nullptr) return false;
  GElf_Shdr shdr;
  return gelf_getshdr(scn, &shdr) != nullptr && shdr.sh_type != SHT_NOBITS && shdr.sh_size > 0;
}

std::vector<GElf_Phdr> ElfFile::LoadSegments() const {
  std::vector<GElf_Phdr> out;
  size_t phnum = 0;
  if (elf_getphdrnum(elf(), &phnum) != 0) return out;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf(), i, &phdr) != nullptr && phdr.p_type == PT_LOAD) out.push_back(phdr);
  }
  return out;
}

SymbolTable SymbolTable::Read(const ElfFile& file) {
  SymbolTable table;
  struct Found {
    uint64_t addr, size;
    const char* name;
    bool global;
  };
  for (const Elf64_Word wanted : {SHT_SYMTAB, SHT_DYNSYM}) {
    std::vector<Found> found;
    for (Elf_Scn* scn = elf_nextscn(file.elf(), nullptr); scn != nullptr;
         scn = elf_nextscn(file.elf(), scn)) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != wanted) continue;
      if (shdr.sh_entsize == 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      if (data == nullptr) continue;
      const size_t count = data->d_size / shdr.sh_entsize;
      for (size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (gelf_getsym(data, i, &sym) == nullptr) break;
        const int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
        const char* name = elf_strptr(file.elf(), shdr.sh_link, sym.st_name);
        if (name == nullptr || *name == '\0') continue;
        uint64_t size = sym.st_size;
        if (size == 0 && sym.st_shndx < SHN_LORESERVE) {
          // Hand-written code often has no size: bound it by its section.
          GElf_Shdr home;
          Elf_Scn* home_scn = elf_getscn(file.elf(), sym.st_shndx);
          if (home_scn != nullptr && gelf_getshdr(home_scn, &home) != nullptr &&
              sym.st_value >= home.sh_addr && sym.st_value < home.sh_addr + home.sh_size) {
            size = home.sh_addr + home.sh_size - sym.st_value;
          }
        }
        found.push_back({sym.st_value, size, name, GELF_ST_BIND(sym.st_info) != STB_LOCAL});
      }
    }
    if (found.empty()) continue;
    // Aliases at one address: global names win, then the first seen.
    std::stable_sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
      if (a.addr != b.addr) return a.addr < b.addr;
      return a.global && !b.global;
    });
    for (const Found& f : found) {
      if (!table.syms_.empty() && table.syms_.back().addr == f.addr) continue;
      table.syms_.push_back({f.addr, f.size, f.name});
    }
    break;
  }
  return table;
}

const char* SymbolTable::Lookup(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (it == syms_.begin()) return nullptr;
  --it;
  if (it->size != 0 && addr - it->addr >= it->size) return nullptr;
  return it->name;
}

}  // namespace ringprof::symbolizer
