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
#include <string>
#include <vector>

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

// Function symbols of one ELF, sorted by address. Names point into the
// file's mapped string table, so the ElfFile must outlive the table.
class SymbolTable {
 public:
  // Reads .symtab, or .dynsym when there is no .symtab.
  static SymbolTable Read(const ElfFile& file);
  // The symbol containing `addr`, or nullptr. A symbol without a size
  // extends to the end of its section.
  const char* Lookup(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t addr;
    uint64_t size;
    const char* name;
  };
  std::vector<Sym> syms_;
};

}  // namespace ringprof::symbolizer

#endif  // RINGPROF_SYMBOLIZER_ELF_FILE_H_
