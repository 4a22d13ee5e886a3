// Issue 10 end to end: whole user stacks from a process's first sample, on
// the shapes real programs have, in code built without frame pointers:
// a frame over 32 KiB, a dlopen/dlclose loop, a process that execs while
// sampled, a vfork loop (tests/workloads/whole_stacks.c), and a shell
// fork/exec loop of Debian's own /bin/true, next to --call-graph dwarf.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "formats/recording.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

const std::string kWhole = kWorkloads + "/workload_whole_stacks";
const std::string kWholeLib = kWorkloads + "/libworkload_whole_stacks_lib.so";

// Whether a user stack reached the process's (or thread's) entry: it holds
// the C runtime's entry or its callers, a thread's start, or ld.so's entry.
// By any frame, not the root alone: a stripped program's own _start has
// no name (dash+0x4781).
bool ReachesRoot(const Stack& user) {
  static const char* const kRoots[] = {
      "_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
      "clone3", "_dl_start_user"};
  return std::any_of(user.functions.begin(), user.functions.end(), [](const std::string& f) {
    return std::any_of(std::begin(kRoots), std::end(kRoots), [&](const char* r) { return f == r; });
  });
}

std::string Text(const Stack& s) { return absl::StrJoin(s.functions, ";"); }

struct Shares {
  int64_t selected = 0;          // samples that passed the filter
  int64_t matching = 0;          // ... of them that passed the check
  std::vector<std::string> bad;  // a few that did not, for the message
  double share() const { return selected > 0 ? static_cast<double>(matching) / selected : 0; }
};

// Among the samples whose user stack satisfies `select`, how many satisfy
// `check`.
template <typename Select, typename Check>
Shares Count(const formats::Profile& p, Select select, Check check) {
  Shares out;
  for (const Stack& s : Stacks(p, /*user_only=*/true)) {
    if (!select(s)) continue;
    out.selected += s.count;
    if (check(s)) {
      out.matching += s.count;
    } else if (out.bad.size() < 5) {
      out.bad.push_back(Text(s));
    }
  }
  return out;
}

bool Contains(const Stack& s, const std::string& function) {
  return std::find(s.functions.begin(), s.functions.end(), function) != s.functions.end();
}

bool LeafIs(const Stack& s, const std::string& function) {
  return !s.functions.empty() && s.functions.front() == function;
}

// Whole, with `chain` (leaf first) at its leaf end.
auto WholeWith(const std::vector<std::string>& chain) {
  return [chain](const Stack& s) { return HasChain(s, chain) && ReachesRoot(s); };
}

constexpr double kHz = 999;

class WholeStacksTest : public RecordTest {};

// CFA = RSP + 300 KiB in big_frame: a row's 16-bit offset cannot hold it,
// and no stack copy reaches past it; the walk reads the live stack.
TEST_F(WholeStacksTest, FrameOverThirtyTwoKibIsWalkedThrough) {
  SKIP_UNLESS_RECORDING_WORKS();
  const formats::Profile p = Load(RecordCommand({"--", kWhole, "bigframe", "1.0"}));
  const Shares s = Count(
      p, [](const Stack& st) { return LeafIs(st, "spin"); },
      WholeWith({"spin", "big_frame", "run_big_frame", "main"}));
  EXPECT_GE(s.selected, MinSamples(kHz, 1.0));
  EXPECT_GE(s.share(), 0.98) << absl::StrJoin(s.bad, "\n");
}

// Every round maps the library anew (and may get another address): its
// first samples come before its table is published.
TEST_F(WholeStacksTest, DlopenLoopStacksAreWholeInEveryRound) {
  SKIP_UNLESS_RECORDING_WORKS();
  const formats::Profile p = Load(RecordCommand({"--", kWhole, "dlopen", "200", "1.0", kWholeLib}));
  const Shares s = Count(
      p, [](const Stack& st) { return LeafIs(st, "lib_inner"); },
      WholeWith({"lib_inner", "lib_spin", "dlopen_round", "main"}));
  EXPECT_GE(s.selected, MinSamples(kHz, 1.0));
  EXPECT_GE(s.share(), 0.98) << absl::StrJoin(s.bad, "\n");
}

// Five images one after the other in one process: each image's samples
// are whole from its start, and samples taken inside execve name the old
// image's execve, not an address of no mapping.
TEST_F(WholeStacksTest, ProcessThatExecsIsWholeInEveryImage) {
  SKIP_UNLESS_RECORDING_WORKS();
  const formats::Profile p = Load(RecordCommand({"--", kWhole, "exec", "5", "0.2"}));
  const Shares s = Count(
      p, [](const Stack& st) { return LeafIs(st, "spin"); },
      WholeWith({"spin", "spin_before_exec", "main"}));
  EXPECT_GE(s.selected, MinSamples(kHz, 1.0));
  EXPECT_GE(s.share(), 0.98) << absl::StrJoin(s.bad, "\n");
  const Shares named = Count(
      Load(RecordCommand({"-F", "20000", "--", kWhole, "exec", "5", "0.05"})),
      [](const Stack& st) { return !st.functions.empty(); },
      [](const Stack& st) { return !absl::StartsWith(st.functions.front(), "[unmapped]"); });
  EXPECT_GT(named.selected, 0);
  EXPECT_EQ(named.matching, named.selected) << absl::StrJoin(named.bad, "\n");
}

// __vfork keeps its return address in RDI while the child runs on the
// parent's stack: a rule the rows cannot express, followed in user space
// with the leaf's registers.
TEST_F(WholeStacksTest, VforkStacksReachMain) {
  SKIP_UNLESS_RECORDING_WORKS();
  // 0.6 s of the parent's CPU time, sampled every 100 us of CPU time. How
  // much of it lands in the parent's own code depends on how the scheduler
  // splits vfork's work between parent and child (at 999 Hz: a third of it
  // on an idle machine, 7 samples of 1 s with a busy loop on one CPU), so
  // the rate is high and an absolute minimum is asked for.
  const formats::Profile p = Load(RecordCommand({"-F", "10000", "--", kWhole, "vfork", "0.6"}));
  const Shares s = Count(
      p, [](const Stack& st) { return Contains(st, "vfork_round"); },
      WholeWith({"vfork_round", "run_vforks", "main"}));
  EXPECT_GE(s.selected, 20);
  EXPECT_GE(s.share(), 0.95) << absl::StrJoin(s.bad, "\n");
  const Shares in_vfork = Count(
      p, [](const Stack& st) { return LeafIs(st, "vfork") || LeafIs(st, "__vfork"); },
      [](const Stack& st) { return Contains(st, "vfork_round") && ReachesRoot(st); });
  EXPECT_EQ(in_vfork.matching, in_vfork.selected) << absl::StrJoin(in_vfork.bad, "\n");
}

// A shell running Debian's /bin/true: every process's first milliseconds
// (ld.so relocating, libc starting) are most of its samples. auto must do
// as well as the dwarf reference mode there, and say it deferred walks.
TEST_F(WholeStacksTest, ShellForkExecLoopIsAsWholeAsDwarfMode) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::vector<std::string> loop = {
      "/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done"};
  auto record = [&](const std::string& mode, formats::LossStats* loss) {
    std::vector<std::string> argv = {"-F", "10000", "--call-graph", mode, "--"};
    argv.insert(argv.end(), loop.begin(), loop.end());
    const std::string path = RecordCommand(argv);
    absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
    EXPECT_TRUE(rec.ok()) << rec.status();
    if (rec.ok() && loss != nullptr) *loss = rec->loss;
    return Load(path);
  };
  // Samples inside execve have only the old image's execve: the stack it
  // was on is gone in both modes, so they are left out of both.
  auto select = [](const Stack& st) {
    return !st.functions.empty() && !LeafIs(st, "execve") && !LeafIs(st, "__execve");
  };
  formats::LossStats loss;
  const Shares dwarf = Count(record("dwarf", nullptr), select, ReachesRoot);
  const Shares with_tables = Count(record("auto", &loss), select, ReachesRoot);
  EXPECT_GE(dwarf.selected, 300);
  EXPECT_GE(with_tables.selected, 300);
  EXPECT_GT(loss.deferred_walks, 0u);
  EXPECT_GE(with_tables.share(), dwarf.share() - 0.05)
      << "auto " << with_tables.matching << "/" << with_tables.selected << ", dwarf "
      << dwarf.matching << "/" << dwarf.selected << "\nauto, not whole:\n"
      << absl::StrJoin(with_tables.bad, "\n");
  EXPECT_GE(with_tables.share(), 0.85) << absl::StrJoin(with_tables.bad, "\n");
}

// Samples inside execve, after the new image has replaced the old address
// space, have lost the stack they were on. The BPF modes take the stack at
// execve entry (same user registers) and give it to them: the shell's
// whole chain, down to __libc_start_main, above execve.
TEST_F(WholeStacksTest, SamplesInsideExecveGetTheStackOfItsCaller) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string path =
      RecordCommand({"-F", "10000", "--call-graph", "auto", "--", "/bin/sh", "-c",
                     "i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done"});
  const formats::Profile p = Load(path);
  const Shares in_execve = Count(
      p, [](const Stack& st) { return LeafIs(st, "execve") || LeafIs(st, "__execve"); },
      ReachesRoot);
  // 300 execs at 10 kHz of CPU time: each spends well over 100 us in the
  // kernel, most of it after the switch.
  EXPECT_GE(in_execve.selected, 20);
  EXPECT_GE(in_execve.share(), 0.9) << in_execve.matching << "/" << in_execve.selected << "\n"
                                    << absl::StrJoin(in_execve.bad, "\n");
}

}  // namespace
}  // namespace ringprof
