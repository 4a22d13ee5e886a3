// Test-only helpers: running go tool pprof, and finding a symbol's file
// offset in an ELF so synthetic recordings can point at real code. Running
// other tools, temporary directories and files: tests/common/.
#ifndef RINGPROF_TESTS_REPORT_TEST_TOOLS_H_
#define RINGPROF_TESTS_REPORT_TEST_TOOLS_H_

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/common/files.h"
#include "tests/common/subprocess.h"

namespace ringprof::testing {

// `go tool pprof ARGS` offline, with HOME, GOCACHE, GOPATH and PPROF_TMPDIR
// inside `dir`.
inline RunResult GoPprof(const TempDir& dir, const std::vector<std::string>& args) {
  return GoToolPprof(dir.path(), args);
}

struct SymbolRange {
  uint64_t file_offset = 0;
  uint64_t size = 0;
};

// File offset and size of function `name` in the ELF at `path`, via its
// symbol table and the PT_LOAD segment holding it.
inline std::optional<SymbolRange> FindFunction(const std::string& path, const std::string& name) {
  if (elf_version(EV_CURRENT) == EV_NONE) return std::nullopt;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<SymbolRange> result;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<GElf_Sym> found;
  for (Elf_Scn* scn = nullptr;
       elf != nullptr && (scn = elf_nextscn(elf, scn)) != nullptr && !found;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; data != nullptr && sh.sh_entsize != 0 && i < sh.sh_size / sh.sh_entsize;
         ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      const char* n = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (n != nullptr && name == n && GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
        found = sym;
        break;
      }
    }
  }
  size_t phnum = 0;
  if (found && elf_getphdrnum(elf, &phnum) == 0) {
    for (size_t i = 0; i < phnum; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_LOAD) continue;
      if (found->st_value >= ph.p_vaddr && found->st_value < ph.p_vaddr + ph.p_filesz) {
        result = SymbolRange{found->st_value - ph.p_vaddr + ph.p_offset, found->st_size};
        break;
      }
    }
  }
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  return result;
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_REPORT_TEST_TOOLS_H_
