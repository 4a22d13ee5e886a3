// Shared helpers for the symbolizer tests: reading the workload's MARK
// lines and symbol addresses (through nm, independent of the code under
// test), damaged copies of an ELF. Running tools (with a time limit: a
// command that blocks must not hang the test), scratch directories and
// files: tests/common/.
#ifndef RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_
#define RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_

#include <elf.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/files.h"
#include "tests/common/subprocess.h"

namespace ringprof::symbolizer::testing {

using ringprof::testing::HaveTool;
using ringprof::testing::RunCommand;
using ringprof::testing::RunResult;
using ringprof::testing::RunShell;
using ringprof::testing::TempDir;
using ringprof::testing::TimeLimit;

// Line numbers of "MARK:<name>" tags in the workload source.
inline std::map<std::string, int> ReadMarks(const std::string& source) {
  std::map<std::string, int> marks;
  std::ifstream in(source);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    size_t pos = line.find("MARK:");
    if (pos == std::string::npos) continue;
    std::string name = line.substr(pos + 5);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
    marks[name] = n;
  }
  return marks;
}

struct NmSymbol {
  uint64_t addr = 0;
  uint64_t size = 0;
};

// Defined symbols by mangled name, from `nm -S`.
inline std::map<std::string, NmSymbol> ReadNm(const std::string& binary) {
  std::map<std::string, NmSymbol> syms;
  RunResult nm = RunCommand({"nm", "-S", "--defined-only", binary});
  if (!nm.ok()) return syms;
  std::istringstream in(nm.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string addr, size, type, name;
    fields >> addr >> size >> type >> name;
    if (name.empty()) continue;  // no size column
    syms[name] = {std::stoull(addr, nullptr, 16), std::stoull(size, nullptr, 16)};
  }
  return syms;
}

// A file's bytes, to damage and write back (tests/common/files.h reads and
// writes them).
inline std::vector<char> ReadAll(const std::string& path) {
  const std::string bytes = ringprof::testing::Slurp(path);
  return std::vector<char>(bytes.begin(), bytes.end());
}
inline void WriteAll(const std::string& path, const std::vector<char>& bytes) {
  ringprof::testing::WriteFile(path, std::string(bytes.begin(), bytes.end()));
}

// Offset and size of a section, from readelf (independent of the code under test).
inline std::pair<uint64_t, uint64_t> SectionFileRange(const std::string& binary,
                                                      const std::string& name,
                                                      uint64_t* vaddr = nullptr) {
  RunResult readelf = RunCommand({"readelf", "-SW", binary});
  if (!readelf.ok()) return {0, 0};
  std::istringstream in(readelf.out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + name + " ") == std::string::npos) continue;
    std::istringstream f(line.substr(line.find(name)));
    std::string sname, type, addr, off, size;
    f >> sname >> type >> addr >> off >> size;
    if (sname != name) continue;
    if (vaddr) *vaddr = std::stoull(addr, nullptr, 16);
    return {std::stoull(off, nullptr, 16), std::stoull(size, nullptr, 16)};
  }
  return {0, 0};
}

// Where the section header of `name` sits in a little-endian ELF64 image
// (the workloads), read with <elf.h>'s structs; 0 when it is not found.
inline uint64_t SectionHeaderOffset(const std::vector<char>& bytes, const std::string& name) {
  Elf64_Ehdr eh;
  if (bytes.size() < sizeof(eh)) return 0;
  std::memcpy(&eh, bytes.data(), sizeof(eh));
  auto shdr = [&](size_t i) {
    Elf64_Shdr sh{};
    const uint64_t at = eh.e_shoff + i * sizeof(sh);
    if (at + sizeof(sh) <= bytes.size()) std::memcpy(&sh, bytes.data() + at, sizeof(sh));
    return sh;
  };
  const Elf64_Shdr names = shdr(eh.e_shstrndx);
  for (size_t i = 1; i < eh.e_shnum; ++i) {
    const uint64_t at = names.sh_offset + shdr(i).sh_name;
    if (at < bytes.size() && name == std::string(bytes.data() + at)) {
      return eh.e_shoff + i * sizeof(Elf64_Shdr);
    }
  }
  return 0;
}

// Files that are not a usable ELF, made from a good one (a 64-bit
// little-endian executable): what ElfFile::Open must refuse.
struct BadInput {
  std::string name;
  std::string path;
  // What the symbolizer says, which the CLI prints after its prefix (and
  // after "Warning: " when `warning`, as binutils does).
  std::string message;
  bool exact = false;    // `message` is all of it, not just how it starts
  bool warning = false;  // binutils words this one as a warning
  // binutils' line (after "addr2line: ") starts ours; otherwise binutils
  // says something else (it calls most truncations "file format not
  // recognized" and prints nothing for an empty file).
  bool binutils_words = false;
};

inline std::vector<BadInput> MakeBadInputs(const std::string& good_elf, const std::string& dir) {
  const std::vector<char> good = ReadAll(good_elf);
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof(eh));
  auto write = [&](const std::string& name, std::vector<char> bytes) {
    const std::string path = dir + "/" + name;
    WriteAll(path, bytes);
    return path;
  };
  auto cut = [&](size_t keep) { return std::vector<char>(good.begin(), good.begin() + keep); };
  std::vector<BadInput> out;
  const std::string missing = dir + "/missing";
  out.push_back({"missing", missing, "'" + missing + "': No such file", true, false, true});
  const std::string directory = dir + "/a-directory";
  std::filesystem::create_directories(directory);
  out.push_back({"directory", directory, "'" + directory + "' is a directory", true, true, true});
  const std::string fifo = dir + "/a-fifo";
  if (::mkfifo(fifo.c_str(), 0600) == 0) {
    out.push_back(
        {"fifo", fifo, "'" + fifo + "' is not an ordinary file (a FIFO)", true, true, true});
  }
  std::string p = write("empty", {});
  out.push_back({"empty", p, p + ": file format not recognized (empty file)", true});
  p = write("cut-in-elf-header", cut(40));
  out.push_back({"cut-in-elf-header", p,
                 p + ": file truncated (40 bytes, shorter than the 64-byte ELF header)", true});
  p = write("cut-in-program-headers", cut(eh.e_phoff + 20));
  out.push_back({"cut-in-program-headers", p, p + ": file truncated (program header table ("});
  const auto [text_off, text_size] = SectionFileRange(good_elf, ".text");
  if (text_size > 0) {
    p = write("cut-in-text", cut(text_off + text_size / 2));
    out.push_back({"cut-in-text", p,
                   p + ": file format not recognized (section header table at offset 0x", false,
                   false, true});
  }
  p = write("cut-in-section-headers", cut(good.size() - 100));
  out.push_back({"cut-in-section-headers", p, p + ": file truncated (section header table ("});
  std::vector<char> noise(4096);
  uint32_t x = 12345;
  for (char& c : noise) c = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
  noise[0] = 0;
  p = write("random-bytes", noise);
  out.push_back({"random-bytes", p, p + ": file format not recognized (no ELF magic number)", true,
                 false, true});
  std::vector<char> huge = good;
  const uint64_t huge_shoff = 0x7fffffffffff0000;
  std::memcpy(huge.data() + offsetof(Elf64_Ehdr, e_shoff), &huge_shoff, 8);
  p = write("huge-e_shoff", huge);
  out.push_back({"huge-e_shoff", p,
                 p +
                     ": file format not recognized (section header table at offset "
                     "0x7fffffffffff0000 is past the end of the file, " +
                     std::to_string(good.size()) + " bytes)",
                 true, false, true});
  if (const uint64_t at = SectionHeaderOffset(good, ".symtab"); at != 0) {
    std::vector<char> moved = good;
    const uint64_t past = good.size() + 4096;
    std::memcpy(moved.data() + at + offsetof(Elf64_Shdr, sh_offset), &past, 8);
    p = write("symtab-past-the-end", moved);
    out.push_back(
        {"symtab-past-the-end", p, p + ": file truncated (section [", false, false, true});
  }
  return out;
}

}  // namespace ringprof::symbolizer::testing

#endif  // RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_
