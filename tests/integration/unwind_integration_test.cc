// Issue 4 end to end: user stacks of binaries without frame pointers,
// unwound in BPF with tables made from .sframe and .eh_frame, compared with
// the frame-pointer build of the same code and with the dwarf reference
// mode. Workloads: tests/workloads (chain.c, deep.c and spread.c built three ways,
// qsort_chain.cc through libc's qsort, a copy with a corrupted .sframe).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "formats/recording.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

// A sample's user chain from main down to the leaf, as comparable text:
// frames above main (the C runtime) are dropped, since how far past main a
// walk gets is not what is compared; an unsymbolized frame ("libc.so.6+0x12")
// counts as its binary; recursion (the same function repeated) counts once,
// since its depth at the sample instant differs run to run.
std::string ChainText(const Stack& s) {
  std::vector<std::string> leaf_first;
  for (const std::string& f : s.functions) {
    std::string name = f;
    if (size_t plus = name.find("+0x"); plus != std::string::npos) name = name.substr(0, plus);
    if (!leaf_first.empty() && leaf_first.back() == name) continue;
    leaf_first.push_back(name);
  }
  auto main_it = std::find(leaf_first.begin(), leaf_first.end(), "main");
  if (main_it == leaf_first.end()) return "(no main) " + absl::StrJoin(leaf_first, ";");
  std::vector<std::string> root_first(leaf_first.begin(), main_it + 1);
  std::reverse(root_first.begin(), root_first.end());
  return absl::StrJoin(root_first, ";");
}

// Share of samples per chain.
// The file of a sample's innermost user frame ("" if none).
std::string LeafBinary(const formats::Profile& p, const formats::ProfileSample& s) {
  std::map<uint64_t, const formats::ProfileMapping*> maps;
  for (const auto& m : p.mappings) maps[m.id] = &m;
  std::map<uint64_t, const formats::ProfileLocation*> locs;
  for (const auto& l : p.locations) locs[l.id] = &l;
  for (uint64_t id : s.location_ids) {
    const formats::ProfileLocation* l = locs.at(id);
    if (l->mapping_id == 0) continue;
    const formats::ProfileMapping* m = maps.at(l->mapping_id);
    if (!report::IsKernelMapping(*m)) return m->filename;
  }
  return "";
}

// Share of samples per chain. With `leaf_in`, only samples whose innermost
// user frame is in that binary count.
std::map<std::string, double> ChainShares(const formats::Profile& p,
                                          const std::string& leaf_in = "") {
  std::map<std::string, double> out;
  double total = 0;
  const std::vector<Stack> stacks = Stacks(p, /*user_only=*/true);
  for (size_t i = 0; i < stacks.size(); ++i) {
    if (!leaf_in.empty() && LeafBinary(p, p.samples[i]) != leaf_in) continue;
    out[ChainText(stacks[i])] += static_cast<double>(stacks[i].count);
    total += static_cast<double>(stacks[i].count);
  }
  for (auto& [chain, n] : out) n /= total > 0 ? total : 1;
  return out;
}

// The fraction of `a`'s samples whose chain the reference recording also
// produced. Two runs of a workload never split their samples between
// chains in exactly the same proportions, but a wrongly unwound stack gives
// a chain the reference never shows.
double Agreement(const std::map<std::string, double>& a, const std::map<std::string, double>& ref) {
  double agreeing = 0;
  for (const auto& [chain, share] : a) {
    if (ref.contains(chain)) agreeing += share;
  }
  return agreeing;
}

// Prints the figure (for docs/PERFORMANCE.md and the issue) and checks it.
void ExpectAgreement(const std::map<std::string, double>& a,
                     const std::map<std::string, double>& ref, const std::string& label) {
  const double agreement = Agreement(a, ref);
  std::printf("[agreement] %s: %.4f\n", label.c_str(), agreement);
  EXPECT_GE(agreement, 0.98) << label << "\n";
}

std::string Describe(const std::map<std::string, double>& shares) {
  std::vector<std::pair<double, std::string>> v;
  for (const auto& [c, s] : shares) v.emplace_back(s, c);
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (size_t i = 0; i < v.size() && i < 6; ++i) {
    out += "  " + std::to_string(v[i].first) + "  " + v[i].second + "\n";
  }
  return out;
}

// The rate every recording here samples at (ringprof's default -F).
constexpr double kDefaultHz = 999;

// Fails the test unless `rec` holds enough samples for shares of a
// workload that ran `cpu_seconds` to mean anything.
void ExpectSamplesFor(const formats::Recording& rec, double cpu_seconds) {
  EXPECT_GE(static_cast<int64_t>(rec.samples.size()), MinSamples(kDefaultHz, cpu_seconds))
      << cpu_seconds << " CPU-seconds at " << kDefaultHz << " Hz";
}

class UnwindTest : public RecordTest {
 protected:
  // Records `workload` under --call-graph `mode`; with leaf_in_workload,
  // only samples whose innermost user frame is in the workload's own code
  // count (see ChainBuildsAgreeWithFramePointerBuild). args[0] is the
  // workload's CPU time in seconds (chain, qsort); the recording must hold
  // enough samples for it, or the shares it returns mean nothing.
  std::map<std::string, double> Record(const std::string& workload, const std::string& mode,
                                       const std::vector<std::string>& args,
                                       RunResult* run = nullptr, bool leaf_in_workload = false) {
    std::vector<std::string> argv = {"--call-graph", mode, "--", kWorkloads + "/" + workload};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string path = RecordCommand(argv, run);
    formats::Profile p = Load(path);
    EXPECT_GE(static_cast<int64_t>(p.sample_count), MinSamples(kDefaultHz, std::stod(args.at(0))))
        << workload << " " << mode << ": " << args[0] << " CPU-seconds at " << kDefaultHz << " Hz";
    return ChainShares(p, leaf_in_workload ? kWorkloads + "/" + workload : "");
  }
};

// The frame-pointer build under --call-graph fp is the reference for the
// workload's own code: samples whose leaf is in it (c, now_s, ...). A leaf
// in libc or the vDSO is not comparable: those are built without frame
// pointers, so the reference's walk skips the leaf's caller there (and
// auto, which has their tables, does not); dwarf mode is the reference for
// them (the tests below).
TEST_F(UnwindTest, ChainBuildsAgreeWithFramePointerBuild) {
  SKIP_UNLESS_RECORDING_WORKS();
  const auto reference = Record("workload_chain", "fp", {"2.0"}, nullptr, true);
  ASSERT_GT(reference.count("main;a;b;c") ? reference.at("main;a;b;c") : 0.0, 0.9)
      << Describe(reference);
  for (const std::string w :
       {"workload_chain", "workload_chain_sframe", "workload_chain_ehframe"}) {
    SCOPED_TRACE(w);
    const auto shares = Record(w, "auto", {"2.0"}, nullptr, true);
    ExpectAgreement(shares, reference, w + " auto vs fp build");
    if (HasFailure())
      ADD_FAILURE() << "auto:\n" << Describe(shares) << "fp:\n" << Describe(reference);
  }
}

TEST_F(UnwindTest, FramePointerModeCannotWalkOmittedFramePointers) {
  // The control: without tables, the same binary does not give the chain,
  // so the agreement above is the tables' doing.
  SKIP_UNLESS_RECORDING_WORKS();
  const auto shares = Record("workload_chain_ehframe", "fp", {"1.0"});
  double full = shares.count("main;a;b;c") ? shares.at("main;a;b;c") : 0.0;
  EXPECT_LT(full, 0.5) << Describe(shares);
}

TEST_F(UnwindTest, EachTableSourceIsUsedAsAsked) {
  SKIP_UNLESS_RECORDING_WORKS();
  struct Case {
    std::string workload, mode;
    uint32_t want_bit;
  };
  for (const Case& c : {Case{"workload_chain_sframe", "sframe", formats::kSampleUnwoundSframe},
                        Case{"workload_chain_sframe", "ehframe", formats::kSampleUnwoundEhFrame},
                        Case{"workload_chain_ehframe", "auto", formats::kSampleUnwoundEhFrame}}) {
    SCOPED_TRACE(c.workload + " " + c.mode);
    std::string path =
        RecordCommand({"--call-graph", c.mode, "--", kWorkloads + "/" + c.workload, "0.5"});
    absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
    ASSERT_TRUE(rec.ok()) << rec.status();
    ExpectSamplesFor(*rec, 0.5);
    size_t with_bit = 0;
    size_t sframe_bit = 0;
    for (const formats::Sample& s : rec->samples) {
      with_bit += (s.flags & c.want_bit) != 0;
      sframe_bit += (s.flags & formats::kSampleUnwoundSframe) != 0;
    }
    EXPECT_GE(with_bit, rec->samples.size() * 95 / 100);
    if (c.mode == "ehframe") {
      EXPECT_EQ(sframe_bit, 0u);
    }
    EXPECT_GE(rec->loss.unwind_tables_loaded, 1u);
  }
}

TEST_F(UnwindTest, QsortThroughLibcAgreesWithDwarfMode) {
  SKIP_UNLESS_RECORDING_WORKS();
  const auto reference = Record("workload_qsort", "dwarf", {"2.0"});
  const auto shares = Record("workload_qsort", "auto", {"2.0"});
  // The chain crosses libc (qsort_r, msort_with_tmp) between sort_once and
  // the comparator.
  double through_libc = 0;
  for (const auto& [chain, share] : shares) {
    if (absl::StrContains(chain, "main;run_rounds;sort_once;") &&
        absl::StrContains(chain, ";compare_keys")) {
      through_libc += share;
    }
  }
  EXPECT_GE(through_libc, 0.9) << Describe(shares);
  ExpectAgreement(shares, reference, "workload_qsort auto vs dwarf");
  if (HasFailure())
    ADD_FAILURE() << "auto:\n" << Describe(shares) << "dwarf:\n" << Describe(reference);
}

TEST_F(UnwindTest, ChainBuildsAgreeWithDwarfMode) {
  SKIP_UNLESS_RECORDING_WORKS();
  for (const std::string w : {"workload_chain_sframe", "workload_chain_ehframe"}) {
    SCOPED_TRACE(w);
    const auto reference = Record(w, "dwarf", {"2.0"});
    const auto shares = Record(w, "auto", {"2.0"});
    ExpectAgreement(shares, reference, w + " auto vs dwarf");
    if (HasFailure())
      ADD_FAILURE() << "auto:\n" << Describe(shares) << "dwarf:\n" << Describe(reference);
  }
}

TEST_F(UnwindTest, DeepStackIsCutAtTheLimitAndCounted) {
  SKIP_UNLESS_RECORDING_WORKS();
  for (const std::string w : {"workload_deep_sframe", "workload_deep_ehframe"}) {
    SCOPED_TRACE(w);
    std::string path = RecordCommand({"--", kWorkloads + "/" + w, "300", "0.5"});
    absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
    ASSERT_TRUE(rec.ok()) << rec.status();
    ExpectSamplesFor(*rec, 0.5);
    size_t truncated = 0;
    size_t full_depth = 0;
    for (const formats::Sample& s : rec->samples) {
      if (s.flags & formats::kSampleUserTruncated) ++truncated;
      if (s.user_frames.size() == 127) ++full_depth;
      EXPECT_LE(s.user_frames.size(), 127u);
    }
    // Nearly every sample is in the 300-deep recursion: kept, cut, counted.
    EXPECT_GE(truncated, rec->samples.size() * 9 / 10);
    EXPECT_GE(full_depth, rec->samples.size() * 9 / 10);
    EXPECT_EQ(rec->loss.user_truncated, truncated);
  }
}

// workload_spread: 32 levels, each picked at random among 64 functions of
// its own before every burst of leaf work, so samples take ever new paths
// through 2048 functions and the BPF row cache (1024 entries) both hits and
// misses. Every sample in the leaf must still show all 32 levels, each a
// different function: a row used for the wrong PC would derail the walk.
TEST_F(UnwindTest, RandomPathsThroughTheRowCacheKeepEveryLevel) {
  SKIP_UNLESS_RECORDING_WORKS();
  for (const std::string w : {"workload_spread_sframe", "workload_spread_ehframe"}) {
    SCOPED_TRACE(w);
    RunResult run;
    std::string path = RecordCommand({"--", kWorkloads + "/" + w, "1.5", "32", "64"}, &run);
    // Both paths of the cache ran: "(N% of rows from the row cache)".
    size_t at = run.err.find("% of rows from the row cache");
    ASSERT_NE(at, std::string::npos) << run.err;
    size_t open = run.err.rfind('(', at);
    ASSERT_NE(open, std::string::npos);
    const int hit_percent = std::atoi(run.err.substr(open + 1, at - open - 1).c_str());
    EXPECT_GT(hit_percent, 0) << run.err;
    EXPECT_LT(hit_percent, 100) << run.err;

    formats::Profile p = Load(path);
    int64_t in_leaf = 0;  // samples
    int64_t whole = 0;
    std::string example;
    for (const Stack& s : Stacks(p, /*user_only=*/true)) {
      if (s.functions.empty() || s.functions.front() != "leaf") continue;
      in_leaf += s.count;
      std::vector<std::string> levels;
      bool reached_main = false;
      for (const std::string& f : s.functions) {
        if (f == "main") {
          reached_main = true;
          break;
        }
        if (absl::StartsWith(f, "fn_")) levels.push_back(f);
      }
      std::vector<std::string> distinct = levels;
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      if (reached_main && levels.size() == 32 && distinct.size() == 32) {
        whole += s.count;
      } else if (example.empty()) {
        example = absl::StrJoin(s.functions, ";");
      }
    }
    // Nearly all of the CPU time is leaf work.
    ASSERT_GE(in_leaf, MinSamples(kDefaultHz, 1.5) / 2);
    std::printf("[spread] %s: %ld of %ld leaf samples show all 32 levels\n", w.c_str(), whole,
                in_leaf);
    EXPECT_GE(static_cast<double>(whole), 0.99 * static_cast<double>(in_leaf))
        << "e.g. " << example;
  }
}

// --bpf-self-timing: the runs counted by kind add up to all runs, which
// are the samples written, and each figure is ordered (median <= p90 <=
// p99, ">= X" meaning past the histogram's last bucket).
TEST_F(UnwindTest, SelfTimingCountsEveryRunByKind) {
  SKIP_UNLESS_RECORDING_WORKS();
  RunResult run;
  std::string path = RecordCommand(
      {"--bpf-self-timing", "--", kWorkloads + "/workload_spread_sframe", "0.5", "28", "1"}, &run);
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  ASSERT_TRUE(rec.ok()) << rec.status();
  auto figure = [](const std::string& text, const std::string& key) -> long {
    size_t at = text.find(key);
    if (at == std::string::npos) return -1;
    at += key.size();
    if (text.compare(at, 3, ">= ") == 0) at += 3;
    return std::atol(text.c_str() + at);
  };
  std::vector<std::string> lines = absl::StrSplit(run.err, '\n');
  long all_runs = -1;
  long kind_runs = 0;
  for (const std::string& l : lines) {
    const bool all = absl::StrContains(l, "self-timed over ");
    const bool kind = absl::StrContains(l, "samples that interrupted ");
    if (!all && !kind) continue;
    SCOPED_TRACE(l);
    const long runs = figure(l, all ? "self-timed over " : "mode: ");
    const long median = figure(l, "median ");
    const long p90 = figure(l, "p90 ");
    const long p99 = figure(l, "p99 ");
    EXPECT_GT(runs, 0);
    EXPECT_GT(median, 0);
    EXPECT_LE(median, p90);
    EXPECT_LE(p90, p99);
    EXPECT_GT(figure(l, "mean "), 0);
    if (all) all_runs = runs;
    if (kind) kind_runs += runs;
  }
  EXPECT_EQ(all_runs, kind_runs) << run.err;
  EXPECT_EQ(all_runs,
            static_cast<long>(rec->samples.size()) + static_cast<long>(rec->loss.lost_samples))
      << run.err;
}

TEST_F(UnwindTest, CorruptSframeFallsBackWithAWarning) {
  SKIP_UNLESS_RECORDING_WORKS();
  RunResult run;
  const auto shares = Record("workload_chain_badsframe", "auto", {"1.0"}, &run);
  EXPECT_TRUE(absl::StrContains(run.err, "workload_chain_badsframe: .sframe is unusable"))
      << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "unwinding it with .eh_frame instead")) << run.err;
  EXPECT_GE(shares.count("main;a;b;c") ? shares.at("main;a;b;c") : 0.0, 0.95) << Describe(shares);
  // With only .sframe allowed, the binary falls back to frame pointers.
  RunResult sframe_only;
  Record("workload_chain_badsframe", "sframe", {"0.3"}, &sframe_only);
  EXPECT_TRUE(absl::StrContains(sframe_only.err, "unwinding it with frame pointers instead"))
      << sframe_only.err;
}

TEST_F(UnwindTest, TableOverTheMemoryCapIsReportedNotFatal) {
  SKIP_UNLESS_RECORDING_WORKS();
  RunResult run;
  // 8 KiB holds 1024 rows: the workload's own table fits, libc's does not.
  std::string path =
      RecordCommand({"--unwind-mem", "8K", "--", kWorkloads + "/workload_qsort", "0.5"}, &run);
  EXPECT_TRUE(absl::StrContains(run.err, "raise --unwind-mem")) << run.err;
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ExpectSamplesFor(*rec, 0.5);
  EXPECT_GE(rec->loss.unwind_tables_too_big, 1u);
  std::string report = RunCommand({kBin, "report", "-i", path}).out;
  EXPECT_TRUE(absl::StrContains(report, "over --unwind-mem")) << report;
}

TEST_F(UnwindTest, DwarfModeRejectsCounters) {
  RunResult r = RunCommand(
      {kBin, "record", "--call-graph", "dwarf", "--counters", "page-faults", "--", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "--call-graph dwarf does not use")) << r.err;
}

TEST_F(UnwindTest, BadCallGraphModeIsRejected) {
  RunResult r = RunCommand({kBin, "record", "--call-graph", "lbr", "--", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "unknown --call-graph mode 'lbr'")) << r.err;
  r = RunCommand({kBin, "record", "--unwind-mem", "lots", "--", "true"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "--unwind-mem")) << r.err;
}

}  // namespace
}  // namespace ringprof
