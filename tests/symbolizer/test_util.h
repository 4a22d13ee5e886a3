// Shared helpers for the symbolizer tests: reading the workload's MARK
// lines and symbol addresses (through nm, independent of the code under
// test). Running tools and scratch directories: tests/common/.
#ifndef RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_
#define RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/common/files.h"
#include "tests/common/subprocess.h"

namespace ringprof::symbolizer::testing {

using ringprof::testing::HaveTool;
using ringprof::testing::RunCommand;
using ringprof::testing::RunResult;
using ringprof::testing::RunShell;
using ringprof::testing::TempDir;

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

}  // namespace ringprof::symbolizer::testing

#endif  // RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_
