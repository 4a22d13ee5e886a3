// Read-only views of an ELF file through libelf: owned handles, program
// headers, the symbol table, GNU notes. Used by the symbolizer and by
// FindElf; nothing here writes.
#ifndef RINGPROF_SYMBOLIZER_ELF_FILE_H_
#define RINGPROF_SYMBOLIZER_ELF_FILE_H_

#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "base/scoped_fd.h"

namespace ringprof::symbolizer {

struct ElfEnd {
  void operator()(Elf* elf) const { elf_end(elf); }
};
struct DwarfEnd {
  void operator()(Dwarf* dwarf) const { dwarf_end(dwarf); }
};
using ElfPtr = std::unique_ptr<Elf, ElfEnd>;
using DwarfPtr = std::unique_ptr<Dwarf, DwarfEnd>;

// An open ELF file (fd + libelf handle, mmapped read-only).
class ElfFile {
 public:
  // Refuses, in binutils' words and with the path in the message, what is
  // not a readable ELF: NotFound "'P': No such file"; FailedPrecondition
  // "'P' is a directory" or "'P' is not an ordinary file (a FIFO)" (never
  // waits on a FIFO or device); the CheckElfLayout errors (elf_layout.h) as
  // "P: file format not recognized (...)" and "P: file truncated (...)".
  static absl::StatusOr<ElfFile> Open(const std::string& path);

  Elf* elf() const { return elf_.get(); }
  const std::string& path() const { return path_; }
  // Raw bytes of the NT_GNU_BUILD_ID note; NotFound when there is none.
  absl::StatusOr<std::string> BuildId() const;
  // The file name in .gnu_debuglink, or "".
  std::string DebugLink() const;
  // True when .debug_info exists with contents (not SHT_NOBITS).
  bool HasDebugInfo() const;
  // PT_LOAD program headers.
  std::vector<GElf_Phdr> LoadSegments() const;

 private:
  ElfFile(std::string path, ScopedFd fd, ElfPtr elf)
      : path_(std::move(path)), fd_(std::move(fd)), elf_(std::move(elf)) {}
  std::string path_;
  ScopedFd fd_;  // declared before elf_: the handle is ended first
  ElfPtr elf_;
};

// Function symbols and code labels of one ELF, for naming addresses that
// DWARF does not cover, and for choosing among a function's aliases.
// Names point into the files' mapped string tables, so the ElfFiles must
// outlive the table.
//
// Symbols at one address are one entry, named by ChooseAlias
// (symbol_names.h). A symbol with a size covers [value, value + size); the
// innermost one holding an address names it. A symbol without a size
// (hand-written code: ld.so's `_start`, a size-0 STT_FUNC, a STT_NOTYPE
// label in an executable section) covers an address only when no sized
// symbol does, from its value up to the next symbol or the end of its
// section, whichever comes first; one that lies inside a sized symbol is
// never used.
class SymbolTable {
 public:
  // Reads .symtab and .dynsym of `file`, and the .symtab of `debug` (its
  // separate debug file, when there is one) if `file` has no .symtab:
  // Debian's stripped libraries keep .dynsym only, while their debug files
  // hold every local and hidden alias.
  static SymbolTable Read(const ElfFile& file, const ElfFile* debug = nullptr);

  struct Hit {
    std::string_view name;  // the chosen alias, without a version suffix
    bool label = false;     // a symbol without a size, extended as above
  };
  std::optional<Hit> Lookup(uint64_t addr) const;

  // When `name` (a DWARF linkage name such as `__GI___libc_malloc`) is one
  // of the names of exactly one entry: that entry's chosen name. Else
  // nullopt, also for a name that several entries bear (static functions
  // of different files).
  std::optional<std::string_view> ChosenName(std::string_view name) const;

  // Distinct symbol addresses.
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t addr;
    std::string_view name;  // chosen
  };
  struct Range {
    uint64_t start, end;  // [start, end)
    uint32_t entry;
  };
  std::vector<Entry> entries_;
  std::vector<Range> sized_;   // sorted, disjoint: the innermost symbol per stretch
  std::vector<Range> labels_;  // sorted, disjoint
  // Every name (version suffix stripped) -> its entry, or -1 when several
  // entries bear it.
  absl::flat_hash_map<std::string_view, int32_t> by_name_;
};

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_ELF_FILE_H_
