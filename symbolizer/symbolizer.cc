#include "symbolizer/symbolizer.h"

#include <sys/stat.h>

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/memfd.h"
#include "base/status_macros.h"
#include "symbolizer/dwarf_index.h"
#include "symbolizer/elf_file.h"

namespace ringprof::symbolizer {
namespace {

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string JoinPath(absl::string_view root, absl::string_view path) {
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return absl::StrCat(root, "/", path);
}

// Where separate debug info (or the file itself) lives by build-id.
std::vector<std::string> BuildIdCandidates(absl::string_view build_id_raw, absl::string_view root,
                                           bool with_plain) {
  std::vector<std::string> out;
  if (build_id_raw.empty()) return out;
  const std::string hex = absl::BytesToHexString(build_id_raw);
  const std::string rel = absl::StrCat(".build-id/", hex.substr(0, 2), "/", hex.substr(2));
  out.push_back(JoinPath(root, rel + ".debug"));
  if (with_plain) out.push_back(JoinPath(root, rel));
  return out;
}

// Checks that `path` is a readable ELF whose build-id is `build_id_raw`
// (any build-id matches an empty one). Returns why not, for the message.
std::optional<std::string> Mismatch(const std::string& path, absl::string_view build_id_raw) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "missing";
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (build_id_raw.empty()) return std::nullopt;
  absl::StatusOr<std::string> id = ReadBuildId(path);
  if (!id.ok()) return std::string(id.status().message());
  if (*id != build_id_raw) return absl::StrCat("build-id ", absl::BytesToHexString(*id));
  return std::nullopt;
}

class DwarfElfSymbolizer final : public ElfSymbolizer {
 public:
  DwarfElfSymbolizer(ElfFile main, const SymbolizerOptions& options)
      : main_(std::move(main)), options_(options) {}

  absl::Status Init() {
    if (absl::StatusOr<std::string> id = main_.BuildId(); id.ok()) {
      build_id_raw_ = *id;
      build_id_hex_ = absl::BytesToHexString(*id);
    }
    loads_ = main_.LoadSegments();
    const ElfFile* dwarf_file = &main_;
    std::vector<std::string> tried;
    if (!main_.HasDebugInfo()) debug_ = FindDebugFile(&tried);
    // A stripped library keeps .dynsym only; its debug file has the rest.
    symtab_ = SymbolTable::Read(main_, debug_.has_value() ? &*debug_ : nullptr);
    if (!main_.HasDebugInfo()) {
      if (!debug_.has_value()) {
        dwarf_status_ = absl::NotFoundError(absl::StrCat(
            "no DWARF in ", main_.path(), "; looked for separate debug info at: ",
            tried.empty() ? "(no build-id or debuglink)" : absl::StrJoin(tried, ", ")));
        dwarf_missing_ = true;
        return absl::OkStatus();
      }
      dwarf_file = &*debug_;
    }
    dwarf_path_ = dwarf_file->path();
    dwarf_.reset(dwarf_begin_elf(dwarf_file->elf(), DWARF_C_READ, nullptr));
    if (dwarf_ == nullptr) {
      dwarf_status_ = DwarfDecodeError(absl::StrCat("opening DWARF: ", dwarf_errmsg(-1)));
      return absl::OkStatus();
    }
    absl::StatusOr<std::unique_ptr<DwarfIndex>> index =
        DwarfIndex::Create(dwarf_.get(), options_.demangle);
    if (!index.ok()) {
      dwarf_status_ = DwarfDecodeError(index.status().message());
      return absl::OkStatus();
    }
    index_ = std::move(*index);
    return absl::OkStatus();
  }

  const std::string& build_id_hex() const override { return build_id_hex_; }
  bool is_32bit() const override { return gelf_getclass(main_.elf()) == ELFCLASS32; }

  absl::StatusOr<uint64_t> FileOffsetToVaddr(uint64_t file_offset) const override {
    for (const GElf_Phdr& p : loads_) {
      if (file_offset >= p.p_offset && file_offset - p.p_offset < p.p_filesz) {
        return file_offset - p.p_offset + p.p_vaddr;
      }
    }
    return absl::OutOfRangeError(absl::StrFormat("file offset 0x%x is in no PT_LOAD segment of %s",
                                                 file_offset, main_.path()));
  }

  std::vector<SymbolizedAddress> SymbolizeVaddrs(absl::Span<const uint64_t> vaddrs) override {
    std::vector<SymbolizedAddress> out(vaddrs.size());
    for (size_t i = 0; i < vaddrs.size(); ++i) SymbolizeOne(vaddrs[i], out[i]);
    return out;
  }

 private:
  void SymbolizeOne(uint64_t vaddr, SymbolizedAddress& result) {
    absl::Status status = dwarf_status_;
    if (index_ != nullptr) {
      status = index_->Symbolize(vaddr, options_.inlines, &result.frames);
      if (absl::IsDataLoss(status)) status = DwarfDecodeError(status.message());
      if (status.ok()) {
        NameFromSymbols(vaddr, result.frames);
        return;
      }
    }
    result.frames.clear();
    std::optional<SymbolTable::Hit> hit = symtab_.Lookup(vaddr);
    if (hit.has_value()) {
      SetSymbolName(hit->name, result.frames.emplace_back());
      // No DWARF at all, or none for this address: the symbol is the answer.
      if (dwarf_missing_ || absl::IsNotFound(status)) return;
      result.status = status;
      return;
    }
    if (absl::IsNotFound(status) || dwarf_missing_) {
      result.status = absl::NotFoundError(
          absl::StrFormat("0x%x: no symbol or DWARF covers it in %s%s", vaddr, main_.path(),
                          dwarf_missing_ ? absl::StrCat(" (", dwarf_status_.message(), ")") : ""));
    } else {
      result.status = status;
    }
  }

  // Fills in or replaces DWARF's names from the symbol table.
  void NameFromSymbols(uint64_t vaddr, std::vector<SourceFrame>& frames) const {
    SourceFrame& outer = frames.back();
    std::optional<SymbolTable::Hit> hit = symtab_.Lookup(vaddr);
    if (outer.linkage_name.empty()) {
      // The physical function's DWARF name lacks a linkage name (static
      // functions, clones) or is missing: the symbol table has the full
      // mangled name, as binutils and llvm-symbolizer use. A label is used
      // only where DWARF names no function at all.
      if (hit.has_value() && (!hit->label || outer.function.empty())) {
        SetSymbolName(hit->name, outer);
      }
    }
    if (!options_.public_names) return;
    // DWARF's linkage name may be an internal alias (glibc's hidden
    // `__GI___libc_malloc`): show the name the symbol table chooses for
    // the same symbol, inlined copies included.
    for (SourceFrame& f : frames) {
      if (f.linkage_name.empty()) continue;
      std::optional<std::string_view> chosen = symtab_.ChosenName(f.linkage_name);
      if (chosen.has_value() && *chosen != f.linkage_name) SetSymbolName(*chosen, f);
    }
  }

  // DWARF libdw cannot decode: "<file>: DWARF error: <what>".
  absl::Status DwarfDecodeError(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(dwarf_path_, ": DWARF error: ", what));
  }

  void SetSymbolName(std::string_view name, SourceFrame& frame) const {
    frame.linkage_name = std::string(name);
    frame.function = options_.demangle ? Demangle(frame.linkage_name) : frame.linkage_name;
  }

  std::optional<ElfFile> FindDebugFile(std::vector<std::string>* tried) const {
    std::vector<std::string> candidates =
        BuildIdCandidates(build_id_raw_, options_.debug_dir, /*with_plain=*/false);
    for (const std::string& root : options_.symfs) {
      for (std::string& c : BuildIdCandidates(build_id_raw_, root, true)) {
        candidates.push_back(std::move(c));
      }
      for (std::string& c :
           BuildIdCandidates(build_id_raw_, JoinPath(root, options_.debug_dir), false)) {
        candidates.push_back(std::move(c));
      }
    }
    const std::string link = main_.DebugLink();
    if (!link.empty()) {
      const std::string& path = main_.path();
      const size_t slash = path.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
      candidates.push_back(JoinPath(dir, link));
      candidates.push_back(JoinPath(dir, ".debug/" + link));
      candidates.push_back(JoinPath(JoinPath(options_.debug_dir, dir), link));
    }
    for (const std::string& c : candidates) {
      if (c == main_.path()) continue;
      tried->push_back(c);
      if (!IsRegularFile(c)) continue;
      absl::StatusOr<ElfFile> file = ElfFile::Open(c);
      if (!file.ok()) {
        tried->back() = std::string(file.status().message());  // names the file and the fault
        continue;
      }
      if (!file->HasDebugInfo()) continue;
      if (!build_id_raw_.empty()) {
        absl::StatusOr<std::string> id = file->BuildId();
        if (!id.ok() || *id != build_id_raw_) continue;
      }
      return std::move(*file);
    }
    return std::nullopt;
  }

  // Declaration order matters for destruction: the index and the Dwarf
  // handle go before the ELF files they read.
  ElfFile main_;
  std::optional<ElfFile> debug_;
  DwarfPtr dwarf_;
  std::unique_ptr<DwarfIndex> index_;
  SymbolizerOptions options_;
  std::string dwarf_path_;  // the file the DWARF is read from
  std::string build_id_raw_;
  std::string build_id_hex_;
  std::vector<GElf_Phdr> loads_;
  SymbolTable symtab_;
  absl::Status dwarf_status_;
  bool dwarf_missing_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::Open(
    const std::string& path, const SymbolizerOptions& options) {
  ASSIGN_OR_RETURN(ElfFile file, ElfFile::Open(path));
  auto symbolizer = std::make_unique<DwarfElfSymbolizer>(std::move(file), options);
  RETURN_IF_ERROR(symbolizer->Init());
  return symbolizer;
}

absl::StatusOr<std::string> ReadBuildId(const std::string& path) {
  ASSIGN_OR_RETURN(ElfFile file, ElfFile::Open(path));
  return file.BuildId();
}

absl::StatusOr<std::string> FindElf(std::string_view build_id_raw, const std::string& recorded_path,
                                    const SymbolizerOptions& options) {
  const absl::string_view raw_id(build_id_raw.data(), build_id_raw.size());
  std::vector<std::string> tried;
  auto try_path = [&](const std::string& path) -> bool {
    std::optional<std::string> why = Mismatch(path, raw_id);
    if (!why.has_value()) return true;
    tried.push_back(absl::StrCat(path, " (", *why, ")"));
    return false;
  };
  if (!recorded_path.empty() && try_path(recorded_path)) return recorded_path;
  for (const std::string& c : BuildIdCandidates(raw_id, options.debug_dir, false)) {
    if (try_path(c)) return c;
  }
  for (const std::string& root : options.symfs) {
    if (!recorded_path.empty()) {
      const std::string c = JoinPath(root, recorded_path);
      if (try_path(c)) return c;
    }
    for (const std::string& c : BuildIdCandidates(raw_id, root, true)) {
      if (try_path(c)) return c;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("no ELF for ", recorded_path.empty() ? "(no path)" : recorded_path, " build-id ",
                   raw_id.empty() ? "(none)" : absl::BytesToHexString(raw_id),
                   "; tried: ", tried.empty() ? "nothing" : absl::StrJoin(tried, ", "),
                   "; pass --symfs or install its debug info"));
}

absl::StatusOr<std::string> Symbolizer::ImagePath(std::string_view bytes) {
  auto it = images_.find(absl::string_view(bytes.data(), bytes.size()));
  if (it != images_.end()) return it->second.second;
  ASSIGN_OR_RETURN(ScopedFd fd, MemfdWithBytes("ringprof-image", bytes));
  std::string path = FdPath(fd);
  images_.emplace(std::string(bytes), std::make_pair(std::move(fd), path));
  return path;
}

std::optional<bool> Symbolizer::Is32Bit(std::string_view build_id_raw,
                                        const std::string& recorded_path) const {
  std::string key(build_id_raw);
  key.push_back('\0');
  key += recorded_path;
  auto it = cache_.find(key);
  if (it == cache_.end() || it->second == nullptr) return std::nullopt;
  return it->second->is_32bit();
}

std::vector<SymbolizedAddress> Symbolizer::SymbolizeFileOffsets(
    std::string_view build_id_raw, const std::string& recorded_path,
    absl::Span<const uint64_t> file_offsets) {
  std::string key(build_id_raw);
  key.push_back('\0');
  key += recorded_path;
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    std::unique_ptr<ElfSymbolizer> opened;
    absl::StatusOr<std::string> path = FindElf(build_id_raw, recorded_path, options_);
    if (path.ok()) {
      absl::StatusOr<std::unique_ptr<ElfSymbolizer>> elf = ElfSymbolizer::Open(*path, options_);
      if (elf.ok()) {
        opened = std::move(*elf);
      } else {
        open_errors_[key] = elf.status();
      }
    } else {
      open_errors_[key] = path.status();
    }
    it = cache_.emplace(key, std::move(opened)).first;
  }
  std::vector<SymbolizedAddress> out(file_offsets.size());
  if (it->second == nullptr) {
    const absl::Status& error = open_errors_[key];
    for (SymbolizedAddress& r : out) r.status = error;
    CountProblem(recorded_path, error, out.size());
    return out;
  }
  ElfSymbolizer& elf = *it->second;
  std::vector<uint64_t> vaddrs;
  std::vector<size_t> slots;
  vaddrs.reserve(file_offsets.size());
  for (size_t i = 0; i < file_offsets.size(); ++i) {
    absl::StatusOr<uint64_t> vaddr = elf.FileOffsetToVaddr(file_offsets[i]);
    if (!vaddr.ok()) {
      out[i].status = vaddr.status();
      continue;
    }
    vaddrs.push_back(*vaddr);
    slots.push_back(i);
  }
  std::vector<SymbolizedAddress> done = elf.SymbolizeVaddrs(vaddrs);
  for (size_t j = 0; j < done.size(); ++j) {
    if (absl::IsDataLoss(done[j].status)) CountProblem(recorded_path, done[j].status, 1);
    out[slots[j]] = std::move(done[j]);
  }
  return out;
}

void Symbolizer::CountProblem(const std::string& path, const absl::Status& status,
                              uint64_t addresses) {
  if (addresses == 0) return;
  std::string key = path;
  key.push_back('\0');
  absl::StrAppend(&key, status.message());
  auto [it, inserted] = problem_index_.try_emplace(key, problems_.size());
  if (inserted) problems_.push_back({path, status, 0});
  problems_[it->second].addresses += addresses;
}

}  // namespace ringprof::symbolizer
