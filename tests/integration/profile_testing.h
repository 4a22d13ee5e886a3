// Test-only helpers shared by the root integration tests: running the
// ringprof binary, waiting for a recording to hold samples, loading
// recordings as profiles, and reading stacks.
//
// The rules these tests keep, so that they pass on any machine, loaded or
// not: workloads are sized in CPU time or in sampling periods, never in
// wall time or in work; a test waits for a state (the target has exec'd,
// the file holds samples), never sleeps for one; every check of a share
// also requires a minimum sample count, so an empty recording fails.
#ifndef RINGPROF_TESTS_INTEGRATION_PROFILE_TESTING_H_
#define RINGPROF_TESTS_INTEGRATION_PROFILE_TESTING_H_

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "formats/profile.h"
#include "formats/recording.h"
#include "gtest/gtest.h"
#include "report/profile_builder.h"
#include "tests/common/files.h"
#include "tests/common/subprocess.h"
#include "tests/common/wait.h"

namespace ringprof {

using testing::Process;
using testing::RunCommand;
using testing::RunResult;

inline const std::string kBin = RINGPROF_BIN;
inline const std::string kWorkloads = WORKLOAD_DIR;

// Why recording cannot run here, or "" when it can.
inline const std::string& CannotRecordReason() {
  static const std::string reason = [] {
    if (geteuid() != 0) return std::string("needs root (CAP_BPF + CAP_PERFMON)");
    testing::TempDir dir("ringprof-probe");
    RunResult r = RunCommand({kBin, "record", "-q", "-o", dir.File("probe.rpf"), "--", "true"});
    if (r.status != 0) return "ringprof record does not work here: " + r.err;
    return std::string();
  }();
  return reason;
}

#define SKIP_UNLESS_RECORDING_WORKS()                                        \
  do {                                                                       \
    if (!CannotRecordReason().empty()) GTEST_SKIP() << CannotRecordReason(); \
  } while (0)

// The fewest samples a recording of `cpu_seconds` of CPU time at `hz` must
// hold before the shares of its samples mean anything: half the expected
// count. It only keeps a near-empty recording from passing; whether the
// rate itself is right is RateTest's question.
inline int64_t MinSamples(double hz, double cpu_seconds) {
  return static_cast<int64_t>(hz * cpu_seconds / 2);
}

// The recording at `path` as far as it is written (a recorder may be
// writing it now: the reader keeps every complete chunk).
inline absl::StatusOr<formats::Recording> ReadPartialRecording(const std::string& path) {
  return formats::ParseRecording(testing::Slurp(path));
}

// Waits until `p` runs `exe` (it has exec'd), so that a recorder attached
// to it sees the workload and not the test binary it was forked from.
inline bool WaitForExec(const Process& p, const std::string& exe) {
  std::error_code ec;
  const std::filesystem::path want = std::filesystem::canonical(exe, ec);
  const std::string link = "/proc/" + std::to_string(p.pid()) + "/exe";
  return testing::WaitUntil([&] {
           std::error_code ec2;
           return p.Exited() || std::filesystem::read_symlink(link, ec2) == want;
         }) &&
         !p.Exited();
}

struct SamplesSeen {
  bool reached = false;  // the wait ended in the state asked for
  int64_t samples = 0;   // samples counted in the last read of the file
  int batches = 0;       // reads in which that count had grown
};

// Waits until the recording a running recorder writes to `path` holds at
// least `min_samples` samples that `counts` accepts (all, by default),
// written in at least `min_batches` sample chunks (seen as the count
// growing that many times; the recorder writes a chunk about once a
// second). Gives up when `recorder` exits, or after the hang guard.
inline SamplesSeen WaitForSamples(
    const Process& recorder, const std::string& path, int64_t min_samples, int min_batches = 1,
    const std::function<bool(const formats::Sample&)>& counts = nullptr) {
  SamplesSeen seen;
  seen.reached = testing::WaitUntil(
                     [&] {
                       absl::StatusOr<formats::Recording> r = ReadPartialRecording(path);
                       if (r.ok()) {
                         int64_t n = 0;
                         for (const formats::Sample& s : r->samples)
                           n += counts == nullptr || counts(s);
                         if (n > seen.samples) {
                           seen.samples = n;
                           ++seen.batches;
                         }
                       }
                       return (seen.samples >= min_samples && seen.batches >= min_batches) ||
                              recorder.Exited();
                     },
                     testing::kHangGuard, std::chrono::milliseconds(100)) &&
                 seen.samples >= min_samples && seen.batches >= min_batches;
  return seen;
}

class RecordTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.File(name); }

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

  // `go tool pprof ARGS`, offline, with its caches inside the test's directory.
  RunResult GoPprof(const std::vector<std::string>& args) const {
    return testing::GoToolPprof(dir_.path(), args);
  }

  testing::TempDir dir_{"ringprof-it"};
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
