// Test-only helpers shared by the root integration tests: running the
// ringprof binary, loading recordings as profiles, and reading stacks.
#ifndef RINGPROF_TESTS_INTEGRATION_PROFILE_TESTING_H_
#define RINGPROF_TESTS_INTEGRATION_PROFILE_TESTING_H_

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "formats/profile.h"
#include "gtest/gtest.h"
#include "report/profile_builder.h"
#include "tests/integration/subprocess.h"

namespace ringprof {

using testing::RunCommand;
using testing::RunResult;

inline const std::string kBin = RINGPROF_BIN;
inline const std::string kWorkloads = WORKLOAD_DIR;

// Why recording cannot run here, or "" when it can.
inline const std::string& CannotRecordReason() {
  static const std::string reason = [] {
    if (geteuid() != 0) return std::string("needs root (CAP_BPF + CAP_PERFMON)");
    std::string out = ::testing::TempDir() + "/probe.rpf";
    RunResult r = RunCommand({kBin, "record", "-q", "-o", out, "--", "true"});
    std::remove(out.c_str());
    if (r.status != 0) return "ringprof record does not work here: " + r.err;
    return std::string();
  }();
  return reason;
}

#define SKIP_UNLESS_RECORDING_WORKS()                                        \
  do {                                                                       \
    if (!CannotRecordReason().empty()) GTEST_SKIP() << CannotRecordReason(); \
  } while (0)

class RecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/ringprof-it-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Records `cmd` and returns the recording path; fails the test on error.
  std::string RecordCommand(const std::vector<std::string>& args, RunResult* result = nullptr) {
    std::string out = Path("rec.rpf");
    std::vector<std::string> argv = {kBin, "record", "-o", out};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunCommand(argv);
    EXPECT_EQ(r.status, 0) << r.err;
    if (result != nullptr) *result = r;
    return out;
  }

  std::string dir_;
};

// A sample's function names, leaf first (inline frames expanded).
struct Stack {
  std::vector<std::string> functions;
  int64_t count = 0;
};

inline std::vector<Stack> Stacks(const formats::Profile& p, bool user_only = false) {
  std::map<uint64_t, const formats::ProfileLocation*> locs;
  for (const auto& l : p.locations) locs[l.id] = &l;
  std::map<uint64_t, const formats::ProfileFunction*> funcs;
  for (const auto& f : p.functions) funcs[f.id] = &f;
  std::map<uint64_t, const formats::ProfileMapping*> maps;
  for (const auto& m : p.mappings) maps[m.id] = &m;
  std::vector<Stack> out;
  for (const auto& s : p.samples) {
    Stack st;
    st.count = s.values.empty() ? 0 : s.values[0];
    for (uint64_t id : s.location_ids) {
      const auto* loc = locs.at(id);
      if (user_only && loc->mapping_id != 0 && report::IsKernelMapping(*maps.at(loc->mapping_id))) {
        continue;
      }
      for (const auto& line : loc->lines) st.functions.push_back(funcs.at(line.function_id)->name);
    }
    out.push_back(std::move(st));
  }
  return out;
}

inline formats::Profile Load(const std::string& path, const std::string& comm = "") {
  report::BuildOptions bo;
  bo.comm = comm;
  absl::StatusOr<formats::Profile> p =
      report::LoadProfile(path, symbolizer::SymbolizerOptions(), bo);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : formats::Profile();
}

// True when `chain` (leaf first) appears consecutively in the stack.
inline bool HasChain(const Stack& s, const std::vector<std::string>& chain) {
  for (size_t i = 0; i + chain.size() <= s.functions.size(); ++i) {
    bool ok = true;
    for (size_t j = 0; j < chain.size() && ok; ++j) ok = s.functions[i + j] == chain[j];
    if (ok) return true;
  }
  return false;
}

inline double CpuSecondsFromSummary(const std::string& err) {
  std::smatch m;
  std::regex re("after ([0-9.]+) s of CPU time");
  if (std::regex_search(err, m, re)) return std::stod(m[1]);
  return -1;
}

}  // namespace ringprof

#endif  // RINGPROF_TESTS_INTEGRATION_PROFILE_TESTING_H_
