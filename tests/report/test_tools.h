// Test-only helpers: running external tools (go tool pprof, xmllint),
// temporary directories, and finding a symbol's file offset in an ELF so
// synthetic recordings can point at real code.
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

namespace ringprof::testing {

inline bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh, capturing stdout and stderr.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A fresh directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ringprof-report-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  return static_cast<bool>(f);
}

// `go tool pprof ARGS` with HOME and GOCACHE inside `dir`, offline.
inline CommandResult GoPprof(const TempDir& dir, const std::string& args) {
  return RunCommand("HOME='" + dir.path() + "' GOCACHE='" + dir.path() + "/gocache' GOPATH='" +
                    dir.path() + "/gopath' GOFLAGS= GOPROXY=off PPROF_TMPDIR='" + dir.path() +
                    "' go tool pprof " + args);
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
