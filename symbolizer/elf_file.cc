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
#include "symbolizer/symbol_names.h"

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

namespace {

// One symbol as read, before aliases are merged.
struct RawSymbol {
  uint64_t addr;
  uint64_t size;         // 0: a label
  uint64_t section_end;  // end of its section; 0 when unknown
  std::string_view name;
  SymbolBinding binding;
  bool old_version;  // .gnu.version's hidden bit (a non-default version)
};

// Appends the function symbols and code labels of the sections of `type`
// (SHT_SYMTAB or SHT_DYNSYM). Returns whether such a section exists.
bool ReadSymbols(const ElfFile& file, Elf64_Word type, std::vector<RawSymbol>* out) {
  bool found = false;
  for (Elf_Scn* scn = elf_nextscn(file.elf(), nullptr); scn != nullptr;
       scn = elf_nextscn(file.elf(), scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != type) continue;
    if (shdr.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr) continue;
    found = true;
    // .dynsym's names carry no version; .gnu.version (one half-word per
    // symbol) says which are hidden, non-default versions ("cfree@GLIBC_2.2.5").
    Elf_Data* versym = nullptr;
    for (Elf_Scn* v = elf_nextscn(file.elf(), nullptr); v != nullptr && type == SHT_DYNSYM;
         v = elf_nextscn(file.elf(), v)) {
      GElf_Shdr vshdr;
      if (gelf_getshdr(v, &vshdr) != nullptr && vshdr.sh_type == SHT_GNU_versym &&
          vshdr.sh_link == elf_ndxscn(scn)) {
        versym = elf_getdata(v, nullptr);
        break;
      }
    }
    const size_t count = data->d_size / shdr.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, i, &sym) == nullptr) break;
      const int sym_type = GELF_ST_TYPE(sym.st_info);
      if (sym_type != STT_FUNC && sym_type != STT_GNU_IFUNC && sym_type != STT_NOTYPE) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
      const char* name = elf_strptr(file.elf(), shdr.sh_link, sym.st_name);
      if (name == nullptr || *name == '\0') continue;
      // ARM/AArch64 mapping symbols ($x, $d) and assembler-local labels
      // name no function.
      if (name[0] == '$' || (name[0] == '.' && name[1] == 'L')) continue;
      GElf_Shdr home;
      bool have_home = false;
      if (sym.st_shndx < SHN_LORESERVE) {
        Elf_Scn* home_scn = elf_getscn(file.elf(), sym.st_shndx);
        have_home = home_scn != nullptr && gelf_getshdr(home_scn, &home) != nullptr;
      }
      // A STT_NOTYPE symbol is a code label only in an executable section.
      if (sym_type == STT_NOTYPE && (!have_home || (home.sh_flags & SHF_EXECINSTR) == 0)) continue;
      uint64_t section_end = 0;
      if (have_home && sym.st_value >= home.sh_addr && sym.st_value - home.sh_addr < home.sh_size) {
        section_end = home.sh_addr + home.sh_size;
      }
      // A label must have a section to bound it.
      if (sym.st_size == 0 && section_end == 0) continue;
      SymbolBinding binding = SymbolBinding::kGlobal;
      if (GELF_ST_BIND(sym.st_info) == STB_LOCAL) binding = SymbolBinding::kLocal;
      if (GELF_ST_BIND(sym.st_info) == STB_WEAK) binding = SymbolBinding::kWeak;
      bool old_version = false;
      GElf_Versym ver;
      if (versym != nullptr && versym->d_buf != nullptr &&
          gelf_getversym(versym, static_cast<int>(i), &ver) != nullptr) {
        old_version = (ver & 0x8000) != 0;
      }
      // .symtab spells versions out: "f@VER" is an old one, "f@@VER" the default.
      if (const char* at = std::strchr(name, '@'); at != nullptr && at[1] != '@')
        old_version = true;
      out->push_back({sym.st_value, sym.st_size, section_end, name, binding, old_version});
    }
  }
  return found;
}

}  // namespace

SymbolTable SymbolTable::Read(const ElfFile& file, const ElfFile* debug) {
  std::vector<RawSymbol> raw;
  const bool have_symtab = ReadSymbols(file, SHT_SYMTAB, &raw);
  if (!have_symtab && debug != nullptr) ReadSymbols(*debug, SHT_SYMTAB, &raw);
  ReadSymbols(file, SHT_DYNSYM, &raw);
  // By address, keeping the order of the tables within one address; the
  // same name twice at one address (.symtab and .dynsym, or two versions)
  // is one name.
  std::stable_sort(raw.begin(), raw.end(),
                   [](const RawSymbol& a, const RawSymbol& b) { return a.addr < b.addr; });

  SymbolTable table;
  struct Group {
    uint64_t addr, size, section_end;
  };
  std::vector<Group> groups;
  std::vector<AliasCandidate> candidates;
  std::vector<std::string_view> names;  // version stripped, one per candidate
  std::vector<uint64_t> sizes;          // one per candidate
  for (size_t i = 0; i < raw.size();) {
    size_t j = i;
    candidates.clear();
    names.clear();
    sizes.clear();
    uint64_t section_end = 0;
    for (; j < raw.size() && raw[j].addr == raw[i].addr; ++j) {
      const std::string_view bare = StripSymbolVersion(raw[j].name);
      if (auto seen = std::find(names.begin(), names.end(), bare); seen != names.end()) {
        // One name in two tables, or in two versions: old only if both are.
        AliasCandidate& c = candidates[seen - names.begin()];
        c.old_version = c.old_version && raw[j].old_version;
        continue;
      }
      names.push_back(bare);
      sizes.push_back(raw[j].size);
      candidates.push_back({bare, raw[j].binding, raw[j].size > 0, raw[j].old_version});
      if (raw[j].section_end != 0)
        section_end =
            section_end == 0 ? raw[j].section_end : std::min(section_end, raw[j].section_end);
    }
    const size_t best = ChooseAlias(candidates);
    const auto entry = static_cast<int32_t>(table.entries_.size());
    table.entries_.push_back({raw[i].addr, names[best]});
    groups.push_back({raw[i].addr, sizes[best], section_end});
    for (std::string_view n : names) {
      auto [it, inserted] = table.by_name_.try_emplace(n, entry);
      if (!inserted && it->second != entry) it->second = -1;
    }
    i = j;
  }

  // Sized symbols: the innermost one per stretch of addresses (the one that
  // starts last), with a stack of the symbols that enclose the cursor.
  struct Open {
    uint64_t end;
    uint32_t entry;
  };
  std::vector<Open> stack;
  uint64_t cursor = 0;
  auto emit = [&](uint64_t end, uint32_t entry) {
    if (cursor < end) {
      table.sized_.push_back({cursor, end, entry});
      cursor = end;
    }
  };
  for (uint32_t e = 0; e < groups.size(); ++e) {
    const Group& g = groups[e];
    if (g.size == 0) continue;
    while (!stack.empty() && stack.back().end <= g.addr) {
      emit(stack.back().end, stack.back().entry);
      stack.pop_back();
    }
    if (!stack.empty()) emit(g.addr, stack.back().entry);
    cursor = std::max(cursor, g.addr);
    const uint64_t end = g.addr + g.size < g.addr ? UINT64_MAX : g.addr + g.size;
    stack.push_back({end, e});
  }
  while (!stack.empty()) {
    emit(stack.back().end, stack.back().entry);
    stack.pop_back();
  }

  // Labels: from their address to the next symbol or their section's end,
  // unless a sized symbol holds them.
  for (uint32_t e = 0; e < groups.size(); ++e) {
    const Group& g = groups[e];
    if (g.size != 0 || g.section_end == 0) continue;
    auto in = std::upper_bound(table.sized_.begin(), table.sized_.end(), g.addr,
                               [](uint64_t a, const Range& r) { return a < r.start; });
    if (in != table.sized_.begin() && g.addr < std::prev(in)->end) continue;
    uint64_t end = g.section_end;
    if (e + 1 < groups.size()) end = std::min(end, groups[e + 1].addr);
    if (end > g.addr) table.labels_.push_back({g.addr, end, e});
  }
  return table;
}

std::optional<SymbolTable::Hit> SymbolTable::Lookup(uint64_t addr) const {
  auto find = [addr](const std::vector<Range>& ranges) -> const Range* {
    auto it = std::upper_bound(ranges.begin(), ranges.end(), addr,
                               [](uint64_t a, const Range& r) { return a < r.start; });
    if (it == ranges.begin() || addr >= std::prev(it)->end) return nullptr;
    return &*std::prev(it);
  };
  if (const Range* r = find(sized_)) return Hit{entries_[r->entry].name, false};
  if (const Range* r = find(labels_)) return Hit{entries_[r->entry].name, true};
  return std::nullopt;
}

std::optional<std::string_view> SymbolTable::ChosenName(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end() || it->second < 0) return std::nullopt;
  return entries_[it->second].name;
}

}  // namespace ringprof::symbolizer
