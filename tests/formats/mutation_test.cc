// Mutation test of the recording reader and everything downstream of it.
//
// It writes a realistic version 2 recording in-process (several chunks of
// every type, frames in this test binary, libc and the vDSO, whose image is
// stored), then applies seeded mutations to its bytes: remove, duplicate or
// swap whole chunks, truncate, flip bytes, insert junk. Each mutated file
// goes through ParseRecording and then the report library: BuildProfile
// (with a Symbolizer), the table, the flame graph and folded stacks, pprof
// encoding, and the diff against the intact profile. It asserts that nothing
// crashes, that every mutation is seen (the header is refused or
// Recording::damage is not empty, and the report summary says "File damage"
// other than "none"), and that a copied or moved chunk counts nothing twice.
//
// ctest runs 200 mutations. RINGPROF_MUTATIONS=5000 runs more and
// RINGPROF_MUTATION_SEED=N another sequence; the counts per kind are
// printed.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "formats/pprof.h"
#include "formats/recording.h"
#include "gtest/gtest.h"
#include "report/diff.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"
#include "report/table.h"
#include "symbolizer/symbolizer.h"
#include "tests/formats/recording_edit.h"
#include "tests/formats/recording_golden.h"

namespace ringprof::formats {
namespace {

using testing::ChunksOf;
using testing::ChunkSpan;

struct MapsEntry {
  uint64_t start = 0, end = 0, pgoff = 0;
  std::string perms, path;
};

std::vector<MapsEntry> ReadSelfMaps() {
  std::vector<MapsEntry> out;
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() < 5) continue;
    MapsEntry e;
    std::vector<std::string> range = absl::StrSplit(f[0], '-');
    if (range.size() != 2 || !absl::SimpleHexAtoi(range[0], &e.start) ||
        !absl::SimpleHexAtoi(range[1], &e.end) || !absl::SimpleHexAtoi(f[2], &e.pgoff)) {
      continue;
    }
    e.perms = f[1];
    if (f.size() >= 6) e.path = f[5];
    out.push_back(e);
  }
  return out;
}

// What the mutations start from: the bytes, what they read as, and the
// profile built from them.
struct Original {
  std::string bytes;
  Recording recording;
  Profile profile;
};

// A recording as a collector writes it: META twice, MAPPINGS and TASKS in
// two chunks each, SAMPLES in four, KALLSYMS in two, the vDSO IMAGE,
// COUNTER_SCALING, cumulative STATS at two flushes, then Finish. Its user
// frames point into this binary, libc and the vDSO, so the symbolizer has
// real ELF files to work on.
std::string WriteRealisticRecording(const std::string& path) {
  std::mt19937_64 rng(42);
  std::vector<Mapping> mappings;
  std::string vdso;
  const std::string exe = std::filesystem::canonical("/proc/self/exe").string();
  uint32_t next_id = 1;
  for (const MapsEntry& e : ReadSelfMaps()) {
    if (e.perms.size() < 3 || e.perms[2] != 'x') continue;
    const bool is_exe = e.path == exe;
    const bool is_libc = absl::StrContains(e.path, "/libc.so");
    const bool is_vdso = e.path == "[vdso]";
    if (!is_exe && !is_libc && !is_vdso) continue;
    Mapping m;
    m.id = next_id++;
    m.pid = 4242;
    m.time_ns = 1'000'000'000 + m.id;
    // Fixed addresses, so that the file (and so what a seed does to it)
    // does not change with ASLR; frames are file offsets anyway.
    m.start = 0x100000000ull * m.id;
    m.end = m.start + (e.end - e.start);
    m.pgoff = e.pgoff;
    m.prot = 5;
    m.path = e.path;
    if (!is_vdso) {
      absl::StatusOr<std::string> id = symbolizer::ReadBuildId(e.path);
      if (id.ok()) m.build_id = *id;
    } else {
      vdso.assign(reinterpret_cast<const char*>(e.start), e.end - e.start);
    }
    mappings.push_back(m);
  }
  // Kernel symbols and addresses around them.
  std::string kallsyms;
  for (int i = 0; i < 400; ++i) {
    kallsyms += absl::StrCat(absl::Hex(0xffffffff81000000ull + i * 0x400, absl::kZeroPad16),
                             i % 7 == 0 ? " t " : " T ", "kfunc_", i, "\n");
  }
  std::vector<TaskEvent> tasks = {
      {TaskEventKind::kExec, 1'000'000'010, 4242, 4242, 0, 0, "workload"},
      {TaskEventKind::kFork, 1'000'000'020, 4242, 4243, 4242, 4242, ""},
      {TaskEventKind::kComm, 1'000'000'030, 4242, 4243, 0, 0, "worker"},
      {TaskEventKind::kFork, 1'000'000'040, 4242, 4244, 4242, 4242, ""},
      {TaskEventKind::kExit, 1'900'000'000, 4242, 4244, 0, 0, ""},
      {TaskEventKind::kExit, 1'950'000'000, 4242, 4243, 0, 0, ""},
  };
  // A few dozen distinct stacks, as a real profile has: each sample takes
  // one of them.
  std::vector<std::vector<UserFrame>> stacks(24);
  for (std::vector<UserFrame>& stack : stacks) {
    const size_t depth = 1 + rng() % 12;
    for (size_t d = 0; d < depth && !mappings.empty(); ++d) {
      const Mapping& m = mappings[rng() % mappings.size()];
      const uint64_t len = m.end - m.start;
      stack.push_back({m.id, m.pgoff + (len / 16) * (rng() % 16) + rng() % 64});
    }
  }
  std::vector<Sample> samples;
  for (int i = 0; i < 400; ++i) {
    Sample s;
    s.time_ns = 1'000'000'100 + i * 2'000'000ull;
    s.pid = 4242;
    s.tid = 4242 + static_cast<uint32_t>(rng() % 3);
    s.cpu = static_cast<uint32_t>(rng() % 4);
    s.event_index = 0;
    s.period = 1'000'000;
    s.user_frames = stacks[rng() % stacks.size()];
    if (i % 5 == 0) s.user_frames.push_back({0, 0x7ffd00001234});  // in no mapping
    if (i % 3 == 0) {                                              // one of six kernel stacks
      s.flags |= kSampleInKernel;
      const uint64_t k = rng() % 6;
      for (uint64_t f = 0; f < 3; ++f)
        s.kernel_ips.push_back(0xffffffff81000000ull + (k * 61 + f * 7) * 0x400 + 0x10);
    }
    if (i % 17 == 0) s.flags |= kSampleUserTruncated;
    s.flags |= kSampleUnwoundFp | (static_cast<uint32_t>(UnwindStop::kEnd) << kSampleStopShift);
    s.counter_deltas = {rng() % 10};
    samples.push_back(std::move(s));
  }
  const std::vector<EventDesc> events = {{"cpu-clock", 1, 0, false, 1'000'000, "nanoseconds"}};
  const std::vector<EventDesc> counters = {{"page-faults", 1, 2, false, 0, "count"}};
  LossStats loss;
  loss.lost_samples = 3;
  loss.lost_perf_records = 1;
  loss.bad_ring_records = 2;
  loss.user_truncated = 24;
  loss.unmapped_user_frames = 80;

  auto writer = RecordingWriter::Create(path);
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return "";
  RecordingWriter& w = **writer;
  auto m = absl::MakeConstSpan(mappings);
  auto t = absl::MakeConstSpan(tasks);
  auto s = absl::MakeConstSpan(samples);
  const std::string_view ks(kallsyms);
  bool ok = true;
  auto check = [&ok](const absl::Status& st) {
    EXPECT_TRUE(st.ok()) << st;
    ok = ok && st.ok();
  };
  check(
      w.WriteMeta({{"command", "ringprof record -- ./workload"}}, events, counters, 1'000'000'000));
  check(w.WriteKallsyms(ks.substr(0, ks.size() / 2)));
  check(w.WriteMappings(m.subspan(0, m.size() / 2)));
  check(w.WriteTasks(t.subspan(0, 3)));
  if (!vdso.empty()) check(w.WriteImage("[vdso]", vdso));
  check(w.WriteMeta({{"command", "ringprof record -- ./workload"}, {"hostname", "mutant"}}, events,
                    counters, 1'000'000'000));
  check(w.WriteKallsyms(ks.substr(ks.size() / 2)));
  check(w.WriteMappings(m.subspan(m.size() / 2)));
  check(w.WriteSamples(s.subspan(0, 100)));
  check(w.WriteSamples(s.subspan(100, 100)));
  check(w.WriteStats({.lost_samples = 1, .bad_ring_records = 1}));
  check(w.WriteTasks(t.subspan(3)));
  check(w.WriteSamples(s.subspan(200, 100)));
  check(w.WriteStats({.lost_samples = 2, .bad_ring_records = 2}));
  check(w.WriteSamples(s.subspan(300)));
  check(w.WriteCounterScaling({{900'000'000, 900'000'000}}));
  check(w.Finish(loss, 2'000'000'000));
  if (!ok) return "";
  return testing::GoldenReadFile(path);
}

enum Kind { kRemove, kDuplicate, kSwap, kTruncate, kFlip, kJunk, kNumKinds };
constexpr const char* kKindNames[kNumKinds] = {"remove-chunk", "duplicate-chunk", "swap-chunks",
                                               "truncate",     "flip-bytes",      "insert-junk"};

struct Mutation {
  Kind kind;
  std::string what;  // for failure messages
  std::string bytes;
};

Mutation Mutate(const std::string& b, const std::vector<ChunkSpan>& chunks, std::mt19937_64& rng) {
  Mutation m;
  m.kind = static_cast<Kind>(rng() % kNumKinds);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  switch (m.kind) {
    case kRemove: {
      const ChunkSpan& c = chunks[pick(chunks.size())];
      m.what = absl::StrCat("remove the chunk at ", c.offset);
      m.bytes = testing::WithoutChunk(b, c);
      break;
    }
    case kDuplicate: {
      const ChunkSpan& c = chunks[pick(chunks.size())];
      // At any chunk boundary, the end of the file included.
      const size_t k = pick(chunks.size() + 1);
      const size_t at = k == chunks.size() ? b.size() : chunks[k].offset;
      m.what = absl::StrCat("copy the chunk at ", c.offset, " to ", at);
      m.bytes = testing::WithCopyOfChunk(b, c, at);
      break;
    }
    case kSwap: {
      const size_t i = pick(chunks.size());
      size_t j = pick(chunks.size() - 1);
      if (j >= i) ++j;
      m.what = absl::StrCat("swap the chunks at ", chunks[i].offset, " and ", chunks[j].offset);
      m.bytes = testing::WithChunksSwapped(b, chunks[i], chunks[j]);
      break;
    }
    case kTruncate: {
      // One in eight near the start, where the file header is.
      const size_t len = pick(8) == 0 ? pick(64) : pick(b.size());
      m.what = absl::StrCat("truncate to ", len, " bytes");
      m.bytes = b.substr(0, len);
      break;
    }
    case kFlip: {
      m.bytes = b;
      const size_t n = 1 + pick(3);
      std::vector<std::string> at;
      for (size_t i = 0; i < n; ++i) {
        const size_t pos = pick(8) == 0 ? pick(64) : pick(b.size());
        const char mask = static_cast<char>(1 + pick(255));
        m.bytes[pos] ^= mask;
        at.push_back(absl::StrCat(pos, "^", static_cast<int>(static_cast<uint8_t>(mask))));
      }
      m.what = absl::StrCat("flip bytes ", absl::StrJoin(at, ","));
      break;
    }
    case kJunk: {
      std::string junk(1 + pick(64), '\0');
      for (char& c : junk) c = static_cast<char>(rng());
      const size_t at = pick(b.size() + 1);
      m.what = absl::StrCat("insert ", junk.size(), " junk bytes at ", at);
      m.bytes = b;
      m.bytes.insert(at, junk);
      break;
    }
    case kNumKinds:
      break;
  }
  return m;
}

std::vector<Mapping> SortedById(std::vector<Mapping> m) {
  std::sort(m.begin(), m.end(), [](const Mapping& a, const Mapping& b) { return a.id < b.id; });
  return m;
}

// A summary line as report::FormatSummary prints it.
std::string SummaryLine(const std::string& label, const std::string& value) {
  return absl::StrFormat("%-26s %s\n", label + ":", value);
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  uint64_t n = 0;
  return v != nullptr && absl::SimpleAtoi(v, &n) ? n : fallback;
}

struct KindCounts {
  uint64_t total = 0;
  uint64_t unchanged = 0;        // the mutation gave the same bytes
  uint64_t header_refused = 0;   // ParseRecording returned an error
  uint64_t damage_reported = 0;  // parsed, with damage
  uint64_t samples_lost = 0;     // fewer samples than the original
};

class RecordingMutationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    original_ = new Original;
    const std::string path =
        absl::StrCat(::testing::TempDir(), "/mutation_test_", getpid(), ".rpf");
    original_->bytes = WriteRealisticRecording(path);
    std::remove(path.c_str());
    symbolizer_ = new symbolizer::Symbolizer(symbolizer::SymbolizerOptions{});
    absl::StatusOr<Recording> intact = ParseRecording(original_->bytes);
    if (!intact.ok()) return;  // the tests fail on the empty recording
    original_->recording = *std::move(intact);
    absl::StatusOr<Profile> profile = report::BuildProfile(original_->recording, *symbolizer_, {});
    if (profile.ok()) original_->profile = *std::move(profile);
  }
  static void TearDownTestSuite() {
    delete original_;
    delete symbolizer_;
  }
  static Original* original_;
  static symbolizer::Symbolizer* symbolizer_;
};

Original* RecordingMutationTest::original_ = nullptr;
symbolizer::Symbolizer* RecordingMutationTest::symbolizer_ = nullptr;

TEST_F(RecordingMutationTest, EveryMutationIsReportedAndNothingCrashes) {
  const Original& o = *original_;
  ASSERT_FALSE(o.bytes.empty());
  ASSERT_EQ(o.recording.version, 2u);
  ASSERT_TRUE(o.recording.damage.empty()) << absl::StrJoin(o.recording.damage.messages, "\n");
  ASSERT_EQ(o.recording.samples.size(), 400u);
  ASSERT_EQ(o.profile.sample_count, 400u);
  const std::vector<ChunkSpan> chunks = ChunksOf(o.bytes);
  ASSERT_GE(chunks.size(), 17u);

  const uint64_t n = EnvOr("RINGPROF_MUTATIONS", 200);
  const uint64_t seed = EnvOr("RINGPROF_MUTATION_SEED", 1);
  std::mt19937_64 rng(seed);
  KindCounts counts[kNumKinds];
  // Seconds spent per stage, to keep the short form short.
  enum Stage { kParse, kBuild, kTable, kFlame, kPprof, kDiff, kNumStages };
  constexpr const char* kStageNames[kNumStages] = {"parse", "build", "table",
                                                   "flame", "pprof", "diff"};
  double seconds[kNumStages] = {};
  auto clock_start = std::chrono::steady_clock::now();
  auto lap = [&](Stage stage) {
    const auto now = std::chrono::steady_clock::now();
    seconds[stage] += std::chrono::duration<double>(now - clock_start).count();
    clock_start = now;
  };
  for (uint64_t i = 0; i < n; ++i) {
    const Mutation m = Mutate(o.bytes, chunks, rng);
    SCOPED_TRACE(absl::StrCat("mutation ", i, " (seed ", seed, "): ", m.what));
    KindCounts& c = counts[m.kind];
    ++c.total;
    if (m.bytes == o.bytes) {
      ++c.unchanged;
      continue;
    }
    clock_start = std::chrono::steady_clock::now();
    absl::StatusOr<Recording> rec = ParseRecording(m.bytes);
    lap(kParse);
    if (!rec.ok()) {
      ++c.header_refused;
      EXPECT_TRUE(absl::StrContains(rec.status().message(), "offset")) << rec.status();
      continue;
    }
    ASSERT_FALSE(rec->damage.empty()) << "a changed file read as intact";
    ++c.damage_reported;
    EXPECT_LE(rec->samples.size(), o.recording.samples.size()) << "samples counted twice";
    if (rec->samples.size() < o.recording.samples.size()) ++c.samples_lost;
    if (m.kind == kDuplicate || m.kind == kSwap) {
      // Nothing lost, nothing applied twice.
      EXPECT_EQ(rec->samples.size(), o.recording.samples.size());
      EXPECT_EQ(SortedById(rec->mappings), SortedById(o.recording.mappings));
      EXPECT_EQ(rec->tasks.size(), o.recording.tasks.size());
      EXPECT_EQ(rec->kallsyms.size(), o.recording.kallsyms.size());
      EXPECT_EQ(rec->images.size(), o.recording.images.size());
      EXPECT_EQ(rec->loss, o.recording.loss);
      EXPECT_TRUE(rec->stats_present);
      EXPECT_TRUE(rec->meta_present);
    }

    // Everything downstream: no crash, and the damage is in the report.
    clock_start = std::chrono::steady_clock::now();
    absl::StatusOr<Profile> p = report::BuildProfile(*rec, *symbolizer_, {});
    lap(kBuild);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_LE(p->sample_count, o.profile.sample_count);
    absl::StatusOr<std::string> table = report::FormatReport(*p, {});
    lap(kTable);
    ASSERT_TRUE(table.ok()) << table.status();
    EXPECT_TRUE(absl::StrContains(*table, "File damage:")) << *table;
    EXPECT_FALSE(absl::StrContains(*table, SummaryLine("File damage", "none"))) << *table;
    EXPECT_EQ(absl::StrContains(*table, "unknown (no STATS chunk)"), !rec->stats_present);
    EXPECT_EQ(absl::StrContains(*table, "unknown (no META chunk"), !rec->meta_present);
    clock_start = std::chrono::steady_clock::now();
    const report::FlameGraph graph = report::BuildFlameGraph(*p);
    EXPECT_FALSE(graph.nodes.empty());
    absl::StatusOr<std::string> svg = report::RenderFlameGraphSvg(*p, {});
    EXPECT_TRUE(svg.ok()) << svg.status();
    absl::StatusOr<std::string> folded = report::FoldedStacks(*p, "");
    EXPECT_TRUE(folded.ok()) << folded.status();
    lap(kFlame);
    absl::StatusOr<std::string> pprof = EncodePprof(*p);
    EXPECT_TRUE(pprof.ok()) << pprof.status();
    lap(kPprof);
    absl::StatusOr<std::string> diff = report::RenderDiffFlameGraphSvg(o.profile, *p, {});
    EXPECT_TRUE(diff.ok()) << diff.status();
    absl::StatusOr<std::string> diff_folded = report::DiffFoldedStacks(o.profile, *p, "");
    EXPECT_TRUE(diff_folded.ok()) << diff_folded.status();
    lap(kDiff);
    if (HasFatalFailure()) return;
  }

  std::printf("%llu mutations (seed %llu) of a %zu-byte recording with %zu chunks:\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(seed),
              o.bytes.size(), chunks.size());
  std::printf("  %-16s %6s %9s %15s %15s %12s\n", "kind", "count", "unchanged", "header-refused",
              "damage-reported", "samples-lost");
  KindCounts sum;
  for (int k = 0; k < kNumKinds; ++k) {
    const KindCounts& c = counts[k];
    std::printf("  %-16s %6llu %9llu %15llu %15llu %12llu\n", kKindNames[k],
                static_cast<unsigned long long>(c.total),
                static_cast<unsigned long long>(c.unchanged),
                static_cast<unsigned long long>(c.header_refused),
                static_cast<unsigned long long>(c.damage_reported),
                static_cast<unsigned long long>(c.samples_lost));
    RecordProperty(kKindNames[k], absl::StrCat(c.total));
    sum.total += c.total;
    sum.unchanged += c.unchanged;
    sum.header_refused += c.header_refused;
    sum.damage_reported += c.damage_reported;
  }
  std::printf("  %-16s %6llu %9llu %15llu %15llu\n", "all",
              static_cast<unsigned long long>(sum.total),
              static_cast<unsigned long long>(sum.unchanged),
              static_cast<unsigned long long>(sum.header_refused),
              static_cast<unsigned long long>(sum.damage_reported));
  std::printf("  seconds:");
  for (int st = 0; st < kNumStages; ++st) std::printf(" %s %.2f", kStageNames[st], seconds[st]);
  std::printf("\n");
  EXPECT_EQ(sum.total, n);
  EXPECT_EQ(sum.header_refused + sum.damage_reported + sum.unchanged, n)
      << "every changed file was refused or reported damaged";
  for (int k = 0; k < kNumKinds; ++k) {
    EXPECT_GT(counts[k].total, 0u) << kKindNames[k] << " never drawn";
  }
}

// The report says "unknown", never 0, for what the file did not carry.
TEST_F(RecordingMutationTest, SummarySaysUnknownWithoutStatsOrMeta) {
  const std::string& b = original_->bytes;
  ASSERT_FALSE(b.empty());
  const std::vector<ChunkSpan> chunks = ChunksOf(b);
  std::string no_stats = b, no_meta = b;
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {
    if (it->type == testing::kGoldenStats) no_stats = testing::WithoutChunk(no_stats, *it);
    if (it->type == testing::kGoldenMeta) no_meta = testing::WithoutChunk(no_meta, *it);
  }
  absl::StatusOr<Recording> rec = ParseRecording(no_stats);
  ASSERT_TRUE(rec.ok());
  ASSERT_FALSE(rec->stats_present);
  absl::StatusOr<Profile> p = report::BuildProfile(*rec, *symbolizer_, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->loss_known);
  std::string summary = report::FormatSummary(*p);
  for (const char* line : {"Lost samples", "Lost side-band records", "Bad ring records",
                           "Throttle events", "Truncated kernel stacks", "Truncated user stacks",
                           "User stack failures", "Unmapped frames"}) {
    EXPECT_TRUE(absl::StrContains(summary, SummaryLine(line, "unknown (no STATS chunk)")))
        << line << "\n"
        << summary;
  }
  EXPECT_TRUE(absl::StrContains(summary, "3 STATS chunks missing")) << summary;
  EXPECT_TRUE(
      absl::StrContains(absl::StrJoin(p->comments, "\n"), "lost: unknown (no STATS chunk)"));

  rec = ParseRecording(no_meta);
  ASSERT_TRUE(rec.ok());
  ASSERT_FALSE(rec->meta_present);
  p = report::BuildProfile(*rec, *symbolizer_, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->duration_known);
  EXPECT_FALSE(p->events_known);
  summary = report::FormatSummary(*p);
  EXPECT_TRUE(absl::StrContains(summary, SummaryLine("Events", "unknown (no META chunk)")))
      << summary;
  // The samples span 798 ms; END's time alone would have said 2 s.
  EXPECT_TRUE(absl::StrContains(
      summary, SummaryLine("Duration", "unknown (no META chunk; samples span 0.798 s)")))
      << summary;

  // The intact file prints figures, bad ring records included.
  summary = report::FormatSummary(original_->profile);
  EXPECT_TRUE(absl::StrContains(summary, SummaryLine("Bad ring records", "2"))) << summary;
  EXPECT_TRUE(absl::StrContains(summary, SummaryLine("Lost samples", "3"))) << summary;
  EXPECT_TRUE(absl::StrContains(summary, SummaryLine("Duration", "1.000 s"))) << summary;
  EXPECT_TRUE(absl::StrContains(summary, SummaryLine("File damage", "none"))) << summary;
}

}  // namespace
}  // namespace ringprof::formats
