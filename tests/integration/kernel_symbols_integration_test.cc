// Root integration tests of the kernel side of a recording: the recorder
// stores only the kernel symbols its kernel frames use (META
// kallsyms=subset), plus the kernel's build-id and module list. Reports must
// name every kernel frame as the whole /proc/kallsyms would.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "collector/kernel_symbols.h"
#include "formats/recording.h"
#include "gtest/gtest.h"
#include "report/profile_builder.h"
#include "symbolizer/symbolizer.h"
#include "tests/integration/profile_testing.h"

namespace ringprof {
namespace {

// The live /proc/kallsyms, or "" when its addresses are hidden.
std::string LiveKallsyms() {
  std::string text = testing::Slurp("/proc/kallsyms");
  if (!symbolizer::KernelSymbols::Parse(text).ok()) return "";
  return text;
}

// Kernel location address (and whether it is a return address: the line
// differs) -> the function name the report gives it.
std::map<uint64_t, std::string> KernelNames(const formats::Recording& rec) {
  symbolizer::Symbolizer sym{symbolizer::SymbolizerOptions()};
  absl::StatusOr<formats::Profile> p = report::BuildProfile(rec, sym, report::BuildOptions());
  EXPECT_TRUE(p.ok()) << p.status();
  std::map<uint64_t, std::string> out;
  if (!p.ok()) return out;
  std::map<uint64_t, const formats::ProfileMapping*> maps;
  for (const auto& m : p->mappings) maps[m.id] = &m;
  std::map<uint64_t, std::string> funcs;
  for (const auto& f : p->functions) funcs[f.id] = f.name;
  for (const auto& l : p->locations) {
    auto m = maps.find(l.mapping_id);
    if (m == maps.end() || !report::IsKernelMapping(*m->second) || l.lines.empty()) continue;
    // Location ids differ per (ip, is-return): key by id order is not
    // stable, so key by address and keep every name seen there.
    std::string& names = out[l.address];
    if (!names.empty()) names += " | ";
    names += funcs[l.lines[0].function_id];
  }
  return out;
}

// The same recording symbolized against the whole live kallsyms, as a
// recording made before the subset would have been.
formats::Recording WithWholeKallsyms(const formats::Recording& rec, const std::string& live) {
  formats::Recording whole = rec;
  whole.kallsyms = live;
  whole.meta.erase(formats::kKallsymsMetaKey);
  return whole;
}

void ExpectNamedLikeTheWholeSnapshot(const formats::Recording& rec, const std::string& live,
                                     size_t min_frames) {
  std::map<uint64_t, std::string> subset = KernelNames(rec);
  std::map<uint64_t, std::string> whole = KernelNames(WithWholeKallsyms(rec, live));
  ASSERT_EQ(subset.size(), whole.size());
  EXPECT_GE(subset.size(), min_frames);
  size_t named = 0;
  for (const auto& [addr, name] : subset) {
    // BPF programs come and go: ringprof's own are unloaded by now.
    if (name.find("[bpf]") != std::string::npos) continue;
    EXPECT_EQ(name, whole.at(addr)) << std::hex << addr;
    if (name.find("[kernel.kallsyms]+") == std::string::npos) ++named;
  }
  EXPECT_GE(named, min_frames);
}

void ExpectKernelInfo(const formats::Recording& rec) {
  ASSERT_TRUE(rec.kernel.has_value()) << "no KERNEL chunk";
  absl::StatusOr<std::string> id = collector::BuildIdFromNotes(testing::Slurp("/sys/kernel/notes"));
  if (id.ok()) {
    EXPECT_EQ(absl::BytesToHexString(rec.kernel->build_id), absl::BytesToHexString(*id));
    EXPECT_EQ(rec.kernel->build_id.size(), 20u);
  }
  EXPECT_TRUE(rec.kernel->modules_known);
  if (access("/proc/modules", F_OK) != 0) {
    EXPECT_TRUE(rec.kernel->modules.empty()) << "this kernel has no module support";
  } else {
    std::vector<formats::KernelModule> live =
        collector::ParseModules(testing::Slurp("/proc/modules"), nullptr);
    ASSERT_EQ(rec.kernel->modules.size(), live.size());
    for (size_t i = 0; i < live.size(); ++i) {
      EXPECT_EQ(rec.kernel->modules[i].name, live[i].name);
      EXPECT_EQ(rec.kernel->modules[i].address, live[i].address);
    }
  }
}

TEST_F(RecordTest, KallsymsSubsetNamesKernelFramesLikeTheWholeSnapshot) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string live = LiveKallsyms();
  if (live.empty()) GTEST_SKIP() << "/proc/kallsyms addresses are hidden here";
  // Page faults: most samples are deep in the kernel's fault path. 400
  // periods of 1 ms CPU: about 400 samples, whatever the machine's speed.
  std::string path =
      RecordCommand({"-F", "999", "--", kWorkloads + "/workload_faults", "20", "20", "1000"});
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->damage.empty());
  EXPECT_TRUE(formats::KallsymsIsSubset(*rec));
  size_t kernel_ips = 0;
  for (const formats::Sample& s : rec->samples) kernel_ips += s.kernel_ips.size();
  ASSERT_GT(kernel_ips, 100u) << "the workload should fault in the kernel";
  // Two lines per symbol at most, of 100k+ symbols.
  EXPECT_LT(rec->kallsyms.size(), live.size() / 20);
  // How many distinct kernel addresses a fault path has depends on the
  // kernel; a few dozen is what every kernel here shows.
  ExpectNamedLikeTheWholeSnapshot(*rec, live, 30);
  ExpectKernelInfo(*rec);
  // pprof's kernel mapping carries the build-id.
  formats::Profile p = Load(path);
  for (const auto& m : p.mappings) {
    if (report::IsKernelMapping(m)) {
      EXPECT_EQ(m.build_id, absl::BytesToHexString(rec->kernel->build_id));
    }
  }
}

TEST_F(RecordTest, KallsymsSubsetKeepsATrivialRecordingSmall) {
  SKIP_UNLESS_RECORDING_WORKS();
  std::string path = RecordCommand({"--", "/bin/true"});
  const uintmax_t size = std::filesystem::file_size(path);
  // It held the whole kallsyms before (866 KB here); perf writes 54 KB.
  EXPECT_LT(size, 128u * 1024) << size;
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->damage.empty());
  EXPECT_TRUE(formats::KallsymsIsSubset(*rec));
  ExpectKernelInfo(*rec);
}

// A recorder killed with SIGKILL keeps the names of every kernel frame it
// flushed: each flush writes the symbols before the samples.
TEST_F(RecordTest, KilledRecorderKeepsKallsymsOfFlushedSamples) {
  SKIP_UNLESS_RECORDING_WORKS();
  const std::string live = LiveKallsyms();
  if (live.empty()) GTEST_SKIP() << "/proc/kallsyms addresses are hidden here";
  Process target = Process::Start({kWorkloads + "/workload_faults", "100000", "20", "1000"});
  ASSERT_TRUE(WaitForExec(target, kWorkloads + "/workload_faults"));
  const std::string path = Path("killed.rpf");
  Process rp =
      Process::Start({kBin, "record", "-F", "999", "-p", std::to_string(target.pid()), "-o", path});
  // Killed once a few flushes are in the file (set-up takes seconds on a
  // loaded machine, so no fixed delay).
  const SamplesSeen seen = WaitForSamples(rp, path, 300, 2);
  ASSERT_TRUE(seen.reached) << seen.samples << " samples in " << seen.batches << " batches";
  rp.Signal(SIGKILL);
  rp.Wait();
  target.Signal(SIGKILL);
  target.Wait();
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->damage.missing_end);
  ASSERT_GT(rec->samples.size(), 100u);
  ExpectNamedLikeTheWholeSnapshot(*rec, live, 30);
}

}  // namespace
}  // namespace ringprof
