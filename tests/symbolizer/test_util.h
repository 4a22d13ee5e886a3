// Shared helpers for the symbolizer tests: running tools, reading the
// workload's MARK lines and symbol addresses (through nm, independent of
// the code under test).
#ifndef RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_
#define RINGPROF_TESTS_SYMBOLIZER_TEST_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace ringprof::symbolizer::testing {

// Runs a shell command and returns its stdout, or nullopt if it failed.
inline std::optional<std::string> RunCommand(const std::string& cmd) {
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  if (pclose(pipe) != 0) return std::nullopt;
  return out;
}

inline bool HaveTool(const std::string& tool) {
  return RunCommand("command -v " + tool + " >/dev/null 2>&1").has_value();
}

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
  std::optional<std::string> out = RunCommand("nm -S --defined-only '" + binary + "'");
  if (!out) return syms;
  std::istringstream in(*out);
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
