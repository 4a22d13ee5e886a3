#include "formats/recording.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/formats/recording_edit.h"
#include "tests/formats/recording_golden.h"

namespace ringprof::formats {
namespace {

using testing::ChunksOf;
using testing::ChunkSpan;
using ::testing::HasSubstr;
using testing::MakeChunkV2;
using testing::NthChunk;
using testing::Renumbered;

std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/recording_test_", getpid(), "_", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

uint32_t GetU32(const std::string& b, size_t off) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<uint8_t>(b[off + i])) << (8 * i);
  return v;
}

void PutU32(std::string& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>(v >> (8 * i));
}

uint32_t Crc(std::string_view s) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(s.data()), s.size()));
}

// A version 1 chunk built by hand from the layout in docs/FORMAT.md.
std::string MakeChunkV1(uint16_t type, std::string_view payload) {
  std::string h(20, '\0');
  h[0] = 'R', h[1] = 'P', h[2] = 'C', h[3] = 'K';
  h[4] = static_cast<char>(type);
  h[5] = static_cast<char>(type >> 8);
  PutU32(h, 8, static_cast<uint32_t>(payload.size()));
  PutU32(h, 12, Crc(payload));
  PutU32(h, 16, Crc(std::string_view(h).substr(0, 16)));
  return h + std::string(payload);
}

// Walks the chunks of an intact version 2 file following docs/FORMAT.md.
std::vector<ChunkSpan> WalkChunks(const std::string& b) {
  size_t end = 0;
  std::vector<ChunkSpan> out = ChunksOf(b, &end);
  EXPECT_EQ(end, b.size());
  return out;
}

// Chunk types (docs/FORMAT.md).
enum : uint16_t {
  kMeta = 1,
  kMappings = 2,
  kTasks = 3,
  kSamples = 4,
  kKallsyms = 5,
  kStats = 6,
  kEnd = 7,
  kCounterScaling = 8,
  kImage = 9,
};

std::string Messages(const Recording& r) { return absl::StrJoin(r.damage.messages, "\n"); }

Sample MakeSample(std::mt19937_64& rng, uint64_t time, size_t n_user, size_t n_kernel,
                  size_t n_counters) {
  Sample s;
  s.time_ns = time;
  s.pid = 1000 + rng() % 5;
  s.tid = s.pid + rng() % 3;
  s.cpu = rng() % 64;
  s.flags = rng() % 32;
  s.event_index = rng() % 2;
  s.period = 1000000 + rng() % 1000;
  uint64_t ip = 0xffffffff81000000 + rng() % 0x1000000;
  for (size_t i = 0; i < n_kernel; ++i) {
    s.kernel_ips.push_back(ip);
    ip += (rng() % 0x20000) - 0x10000;
  }
  for (size_t i = 0; i < n_user; ++i) {
    const uint32_t mapping = 1 + static_cast<uint32_t>(i * 4 / std::max<size_t>(n_user, 1));
    s.user_frames.push_back({mapping, 0x1000 + rng() % 0x200000});
  }
  for (size_t i = 0; i < n_counters; ++i) s.counter_deltas.push_back(rng() % 100000);
  return s;
}

// A recording that exercises every field, including edge values.
Recording FullRecording() {
  Recording r;
  r.meta = {{"command", "ringprof record -e cpu-clock -- ./a"},
            {"hostname", "h"},
            {"empty", ""},
            {std::string("bin\0key", 7), std::string("\xff\x00\x01", 3)}};
  r.events = {{"cpu-clock", 1, 0, true, 999, "nanoseconds"},
              {"raw", 4, UINT64_MAX, false, UINT64_MAX, ""}};
  r.counters = {{"page-faults", 1, 2, false, 0, "count"},
                {"context-switches", 1, 3, false, 0, "count"}};
  r.start_time_ns = 123456789;
  r.end_time_ns = UINT64_MAX;
  for (uint32_t i = 1; i <= 7; ++i) {
    r.mappings.push_back({i, 100 + i, i * 1000ull, 0x400000ull * i, 0x400000ull * i + 0x1000 * i,
                          i * 0x1000ull, i % 8, i % 2 ? std::string(20, static_cast<char>(i)) : "",
                          absl::StrCat("/lib/lib", i, ".so")});
  }
  r.mappings.push_back({UINT32_MAX, UINT32_MAX, UINT64_MAX, UINT64_MAX, 0, UINT64_MAX, UINT32_MAX,
                        "x", ""});  // end < start: stored exactly anyway
  const TaskEventKind kinds[] = {TaskEventKind::kFork, TaskEventKind::kComm, TaskEventKind::kExec,
                                 TaskEventKind::kExit};
  for (uint32_t i = 0; i < 12; ++i) {
    // Times deliberately not monotonic, to exercise negative deltas.
    r.tasks.push_back({kinds[i % 4], (i % 3 == 0) ? 5000 - i : 9000 + i * 7, 100 + i, 200 + i, i,
                       i * 2, absl::StrCat("comm", i)});
  }
  r.tasks.push_back({TaskEventKind::kExit, UINT64_MAX, UINT32_MAX, 0, UINT32_MAX, UINT32_MAX, ""});
  std::mt19937_64 rng(7);
  uint64_t t = 1000000;
  for (int i = 0; i < 300; ++i) {
    t += rng() % 2000000;
    r.samples.push_back(MakeSample(rng, i % 17 == 0 ? t - 500000 : t, i % 41, i % 13, i % 3));
  }
  Sample edge;
  edge.time_ns = UINT64_MAX;
  edge.pid = 5;
  edge.tid = 1;  // tid < pid
  edge.cpu = UINT32_MAX;
  edge.flags = UINT32_MAX;
  edge.event_index = UINT32_MAX;
  edge.period = UINT64_MAX;
  edge.kernel_ips = {UINT64_MAX, 0, 0xffffffff81000000, 1};
  edge.user_frames = {{0, 0x7fffffffe000}, {0, 0}, {UINT32_MAX, UINT64_MAX}, {1, 5}, {1, 3}};
  edge.counter_deltas = {UINT64_MAX, 0};
  r.samples.push_back(edge);
  for (int i = 0; i < 5000; ++i)
    r.kallsyms += absl::StrCat("ffffffff8", 1000000 + i * 16, " T sym_", i, "\n");
  r.loss = {1, 2, 3, 4, 5, 6, UINT64_MAX};
  return r;
}

void ExpectSameContent(const Recording& got, const Recording& want) {
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.meta, want.meta);
  EXPECT_EQ(got.events, want.events);
  EXPECT_EQ(got.counters, want.counters);
  EXPECT_EQ(got.start_time_ns, want.start_time_ns);
  EXPECT_EQ(got.end_time_ns, want.end_time_ns);
  EXPECT_EQ(got.mappings, want.mappings);
  EXPECT_EQ(got.tasks, want.tasks);
  ASSERT_EQ(got.samples.size(), want.samples.size());
  for (size_t i = 0; i < got.samples.size(); ++i) {
    EXPECT_EQ(got.samples[i], want.samples[i]) << "sample " << i;
  }
  EXPECT_EQ(got.kallsyms, want.kallsyms);
  EXPECT_EQ(got.loss, want.loss);
}

// What each chunk of a written file added, so that tests can compute what
// a reader must recover from any prefix.
struct WrittenChunk {
  uint64_t end;  // bytes_written() after the call
  std::vector<Sample> samples;
  std::vector<Mapping> mappings;
  std::vector<TaskEvent> tasks;
};

WrittenChunk Logged(uint64_t end, std::vector<Sample> samples = {},
                    std::vector<Mapping> mappings = {}, std::vector<TaskEvent> tasks = {}) {
  return WrittenChunk{end, std::move(samples), std::move(mappings), std::move(tasks)};
}

// Writes `r` as several chunks of every kind: META twice (the second adds a
// key), mappings/tasks in two chunks, samples in three, kallsyms in two.
std::vector<WrittenChunk> WriteInPieces(const Recording& r, const std::string& path) {
  std::vector<WrittenChunk> log;
  auto writer = RecordingWriter::Create(path);
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return log;
  RecordingWriter& w = **writer;
  auto meta_first = r.meta;
  meta_first.erase("hostname");
  meta_first["command"] = "overwritten later";
  EXPECT_TRUE(w.WriteMeta(meta_first, r.events, r.counters, r.start_time_ns).ok());
  log.push_back(Logged(w.bytes_written()));
  EXPECT_TRUE(w.WriteMeta({{"hostname", r.meta.at("hostname")}, {"command", r.meta.at("command")}},
                          r.events, r.counters, r.start_time_ns)
                  .ok());
  log.push_back(Logged(w.bytes_written()));
  auto mappings = absl::MakeConstSpan(r.mappings);
  auto tasks = absl::MakeConstSpan(r.tasks);
  auto samples = absl::MakeConstSpan(r.samples);
  const size_t m = mappings.size() / 2, t = tasks.size() / 2, s1 = samples.size() / 3,
               s2 = 2 * samples.size() / 3;
  EXPECT_TRUE(w.WriteMappings(mappings.subspan(0, m)).ok());
  log.push_back(
      Logged(w.bytes_written(), {}, std::vector<Mapping>(mappings.begin(), mappings.begin() + m)));
  EXPECT_TRUE(w.WriteTasks(tasks.subspan(0, t)).ok());
  log.push_back(
      Logged(w.bytes_written(), {}, {}, std::vector<TaskEvent>(tasks.begin(), tasks.begin() + t)));
  EXPECT_TRUE(w.WriteSamples(samples.subspan(0, s1)).ok());
  log.push_back(
      Logged(w.bytes_written(), std::vector<Sample>(samples.begin(), samples.begin() + s1)));
  EXPECT_TRUE(w.WriteMappings(mappings.subspan(m)).ok());
  log.push_back(
      Logged(w.bytes_written(), {}, std::vector<Mapping>(mappings.begin() + m, mappings.end())));
  EXPECT_TRUE(w.WriteSamples(samples.subspan(s1, s2 - s1)).ok());
  log.push_back(
      Logged(w.bytes_written(), std::vector<Sample>(samples.begin() + s1, samples.begin() + s2)));
  EXPECT_TRUE(w.WriteTasks(tasks.subspan(t)).ok());
  log.push_back(
      Logged(w.bytes_written(), {}, {}, std::vector<TaskEvent>(tasks.begin() + t, tasks.end())));
  const size_t k = r.kallsyms.size() / 2;
  EXPECT_TRUE(w.WriteKallsyms(std::string_view(r.kallsyms).substr(0, k)).ok());
  log.push_back(Logged(w.bytes_written()));
  EXPECT_TRUE(w.WriteSamples(samples.subspan(s2)).ok());
  log.push_back(
      Logged(w.bytes_written(), std::vector<Sample>(samples.begin() + s2, samples.end())));
  EXPECT_TRUE(w.WriteKallsyms(std::string_view(r.kallsyms).substr(k)).ok());
  log.push_back(Logged(w.bytes_written()));
  EXPECT_TRUE(w.Finish(r.loss, r.end_time_ns).ok());
  return log;
}

TEST(RecordingTest, RoundTripEveryField) {
  const Recording want = FullRecording();
  const std::string path = TempPath("roundtrip.rpf");
  const auto log = WriteInPieces(want, path);
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  ExpectSameContent(*got, want);
  EXPECT_TRUE(got->meta_present);
  EXPECT_TRUE(got->stats_present);
  const std::string bytes = ReadFile(path);
  // Every chunk is where the writer said, numbered in write order, and the
  // documented walk agrees.
  const auto chunks = WalkChunks(bytes);
  ASSERT_EQ(chunks.size(), log.size() + 2);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(chunks[i].offset + chunks[i].size, log[i].end);
  for (size_t i = 0; i < chunks.size(); ++i) EXPECT_EQ(chunks[i].seq, i);
  EXPECT_EQ(chunks[chunks.size() - 2].type, kStats);
  EXPECT_EQ(chunks.back().type, kEnd);
  std::remove(path.c_str());
}

TEST(RecordingTest, EmptyRecordingRoundTrips) {
  const std::string path = TempPath("empty.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Finish({}, 0).ok());
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty());
  EXPECT_TRUE(got->samples.empty());
  EXPECT_TRUE(got->meta.empty());
  std::remove(path.c_str());
}

TEST(RecordingTest, UnwindStatsAndSampleFlagsRoundTrip) {
  const std::string path = TempPath("unwind.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  Sample s;
  s.time_ns = 1;
  s.flags = kSampleUnwoundSframe | kSampleUnwoundEhFrame |
            (static_cast<uint32_t>(UnwindStop::kDepth) << kSampleStopShift);
  ASSERT_TRUE((*w)->WriteSamples({s}).ok());
  LossStats loss;
  loss.user_truncated = 1;
  loss.unwind_tables_loaded = 7;
  loss.unwind_tables_evicted = 2;
  loss.unwind_rows_evicted = 300000;
  loss.unwind_binaries_without_table = 1;
  loss.unwind_tables_too_big = 4;
  ASSERT_TRUE((*w)->Finish(loss, 2).ok());
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty());
  EXPECT_EQ(got->loss, loss);
  ASSERT_EQ(got->samples.size(), 1u);
  EXPECT_EQ(got->samples[0].flags, s.flags);
  EXPECT_EQ(SampleStop(got->samples[0].flags), UnwindStop::kDepth);
  std::remove(path.c_str());
}

TEST(RecordingTest, ImagesRoundTripAndBadOnesAreDamage) {
  const std::string path = TempPath("images.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  std::string elf(8192, '\0');
  for (size_t i = 0; i < elf.size(); ++i) elf[i] = static_cast<char>(i * 7);
  ASSERT_TRUE((*w)->WriteImage("[vdso]", elf).ok());
  ASSERT_TRUE((*w)->WriteImage("[other]", "").ok());
  EXPECT_FALSE((*w)->WriteImage("", elf).ok());  // refused, nothing written
  ASSERT_TRUE((*w)->Finish({}, 2).ok());
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  EXPECT_EQ(got->images, (std::vector<Image>{{"[vdso]", elf}, {"[other]", ""}}));

  // A nameless image, an image whose size overruns the payload, and one
  // with bytes after it: each is a bad chunk, and nothing else is lost.
  std::string bytes = ReadFile(path);
  const auto chunks = WalkChunks(bytes);
  ASSERT_FALSE(chunks.empty());
  ASSERT_EQ(chunks.back().type, 7);  // END
  const size_t at = chunks.back().offset;
  bytes.insert(at, MakeChunkV2(9, 0,
                               std::string("\x00\x02"
                                           "ab",
                                           4)));
  bytes.insert(at, MakeChunkV2(9, 0,
                               std::string("\x01x\x09"
                                           "ab",
                                           5)));
  bytes.insert(at, MakeChunkV2(9, 0,
                               std::string("\x01x\x01"
                                           "ab",
                                           5)));
  // Numbered and counted as a writer would have: only the payloads are bad.
  bytes = Renumbered(bytes);
  got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.bad_chunks, 3u) << absl::StrJoin(got->damage.messages, "\n");
  EXPECT_EQ(got->damage.missing_by_type.at("IMAGE"), 3u) << "END counts 5 IMAGE chunks, 2 read";
  EXPECT_EQ(got->images.size(), 2u);
  EXPECT_EQ(got->end_time_ns, 2u);
  const std::string messages = absl::StrJoin(got->damage.messages, "\n");
  EXPECT_THAT(messages, HasSubstr("IMAGE without a name"));
  EXPECT_THAT(messages, HasSubstr("overruns the payload"));
  EXPECT_THAT(messages, HasSubstr("IMAGE payload has bytes after the image"));
  std::remove(path.c_str());
}

TEST(RecordingTest, KernelChunkRoundTripsAndBadOnesAreDamage) {
  const std::string path = TempPath("kernel.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  KernelInfo k;
  k.build_id = std::string("\x32\xa7\xf3\x00\xce", 5);
  k.modules_known = true;
  k.modules = {{"ext4", 1015808, 0xffffffffc0a00000ull, std::string(20, '\x11')},
               {"nf_tables", 356352, 0xffffffffc0200000ull, ""}};
  std::map<std::string, std::string> meta = {{kKallsymsMetaKey, kKallsymsSubset}};
  ASSERT_TRUE((*w)->WriteMeta(meta, {}, {}, 1).ok());
  ASSERT_TRUE((*w)->WriteKernel(k).ok());
  ASSERT_TRUE((*w)->WriteKallsyms("ffffffff81000000 T _stext\nffffffff81000010 t next\n").ok());
  ASSERT_TRUE((*w)->Finish({}, 2).ok());
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  ASSERT_TRUE(got->kernel.has_value());
  EXPECT_EQ(*got->kernel, k);
  EXPECT_TRUE(KallsymsIsSubset(*got));

  // An older file has neither; a module count the payload cannot hold and a
  // cut module record are bad chunks that lose nothing else; trailing bytes
  // are later fields.
  Recording old;
  EXPECT_FALSE(old.kernel.has_value());
  EXPECT_FALSE(KallsymsIsSubset(old));
  std::string bytes = ReadFile(path);
  const auto chunks = WalkChunks(bytes);
  ASSERT_EQ(chunks.back().type, 7);  // END
  const size_t at = chunks.back().offset;
  bytes.insert(at, MakeChunkV2(10, 0, std::string("\x01x\x01\x40", 4)));
  bytes.insert(at, MakeChunkV2(10, 0,
                               std::string("\x01x\x00\x01\x02"
                                           "ab\x05",
                                           8)));
  bytes.insert(at, MakeChunkV2(10, 0, std::string("\x02zz\x00\x00later", 10)));
  bytes = Renumbered(bytes);
  got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.bad_chunks, 2u) << absl::StrJoin(got->damage.messages, "\n");
  EXPECT_EQ(got->damage.missing_by_type.at("KERNEL"), 2u);
  ASSERT_TRUE(got->kernel.has_value());
  EXPECT_EQ(got->kernel->build_id, "zz");  // the last good one wins
  EXPECT_FALSE(got->kernel->modules_known);
  EXPECT_TRUE(got->kernel->modules.empty());
  EXPECT_THAT(absl::StrJoin(got->damage.messages, "\n"), HasSubstr("KERNEL module count"));
  std::remove(path.c_str());
}

TEST(RecordingTest, SamplesAreCompact) {
  std::mt19937_64 rng(1);
  std::vector<Sample> samples;
  uint64_t t = 5000000000;
  for (int i = 0; i < 2000; ++i) {
    t += 1000000 + rng() % 1000;  // ~1 kHz
    samples.push_back(MakeSample(rng, t, 30, 10, 0));
  }
  const std::string path = TempPath("compact.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok());
  const uint64_t before = (*w)->bytes_written();
  ASSERT_TRUE((*w)->WriteSamples(samples).ok());
  const double per_sample = static_cast<double>((*w)->bytes_written() - before) / samples.size();
  EXPECT_LE(per_sample, 240.0) << "40-frame samples must stay compact";
  RecordProperty("bytes_per_40_frame_sample", absl::StrCat(per_sample));
  std::remove(path.c_str());
}

TEST(RecordingTest, LargeSampleBatchIsSplitIntoChunks) {
  std::mt19937_64 rng(2);
  std::vector<Sample> samples;
  for (int i = 0; i < 70000; ++i) samples.push_back(MakeSample(rng, i * 1000000ull, 20, 8, 1));
  const std::string path = TempPath("large.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->WriteSamples(samples).ok());
  ASSERT_TRUE((*w)->Finish({}, 1).ok());
  const std::string bytes = ReadFile(path);
  ASSERT_GT(bytes.size(), 2 * size_t{kTargetChunkPayload});
  size_t sample_chunks = 0;
  for (const ChunkSpan& c : WalkChunks(bytes)) {
    if (c.type == kSamples) {
      ++sample_chunks;
      EXPECT_LE(c.size, 24 + size_t{kTargetChunkPayload} + 1024);
    }
  }
  EXPECT_GE(sample_chunks, 2u);
  EXPECT_EQ(sample_chunks, bytes.size() / kTargetChunkPayload + 1);
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty());
  EXPECT_EQ(got->samples, samples);
  std::remove(path.c_str());
}

// Everything in chunks that end at or before `cut`.
Recording ExpectedPrefix(const Recording& full, const std::vector<WrittenChunk>& log, size_t cut) {
  Recording r;
  for (const WrittenChunk& c : log) {
    if (c.end > cut) break;
    r.samples.insert(r.samples.end(), c.samples.begin(), c.samples.end());
    r.mappings.insert(r.mappings.end(), c.mappings.begin(), c.mappings.end());
    r.tasks.insert(r.tasks.end(), c.tasks.begin(), c.tasks.end());
  }
  r.meta = full.meta;
  return r;
}

TEST(RecordingTest, CutAtEveryOffsetOfTheLastChunks) {
  Recording full = FullRecording();
  full.kallsyms.resize(2000);  // keep the loop short
  full.samples.resize(60);
  const std::string path = TempPath("cut.rpf");
  const auto log = WriteInPieces(full, path);
  const std::string bytes = ReadFile(path);
  // From the start of the second SAMPLES chunk (log[6]) to the end of the
  // file: SAMPLES, TASKS, KALLSYMS, SAMPLES, KALLSYMS, STATS, END.
  const size_t from = log[5].end;
  for (size_t cut = from; cut < bytes.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("cut at ", cut));
    auto got = ParseRecording(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(got.ok()) << got.status();
    const Recording want = ExpectedPrefix(full, log, cut);
    EXPECT_EQ(got->meta, want.meta);
    EXPECT_EQ(got->events, full.events);
    EXPECT_EQ(got->mappings, want.mappings);
    EXPECT_EQ(got->tasks, want.tasks);
    EXPECT_EQ(got->samples, want.samples);
    EXPECT_TRUE(got->damage.missing_end);
    EXPECT_EQ(got->damage.bad_chunks, 0u);
    // The last complete chunk boundary at or before the cut.
    size_t boundary = 24;
    for (const ChunkSpan& c : WalkChunks(bytes)) {
      if (c.offset + c.size <= cut) boundary = c.offset + c.size;
    }
    EXPECT_EQ(got->damage.truncated, cut != boundary);
    EXPECT_EQ(got->damage.bytes_unreadable, cut - boundary);
    if (cut != boundary) {
      EXPECT_THAT(absl::StrJoin(got->damage.messages, "\n"),
                  HasSubstr(absl::StrCat("offset ", boundary)));
    }
  }
  std::remove(path.c_str());
}

TEST(RecordingTest, CutInsideTheFileHeaderIsAnError) {
  const std::string path = TempPath("hdr.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok());
  w->reset();
  const std::string bytes = ReadFile(path);
  ASSERT_EQ(bytes.size(), 24u);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto got = ParseRecording(std::string_view(bytes).substr(0, cut));
    EXPECT_FALSE(got.ok()) << "cut at " << cut;
  }
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.missing_end);
  EXPECT_FALSE(got->damage.truncated);
}

TEST(RecordingTest, AnyFlippedByteLosesOnlyItsChunk) {
  Recording full = FullRecording();
  full.kallsyms.clear();
  full.samples.resize(30);
  const std::string path = TempPath("flip.rpf");
  const auto log = WriteInPieces(full, path);
  const std::string bytes = ReadFile(path);
  // log[5] is the second MAPPINGS chunk, log[6] the second SAMPLES chunk:
  // flip every byte of the latter, one at a time.
  const size_t start = log[5].end, end = log[6].end;
  ASSERT_GT(log[6].samples.size(), 0u);
  Recording want = full;
  want.samples.erase(want.samples.begin() + static_cast<ptrdiff_t>(full.samples.size() / 3),
                     want.samples.begin() + static_cast<ptrdiff_t>(2 * full.samples.size() / 3));
  for (size_t at = start; at < end; ++at) {
    SCOPED_TRACE(absl::StrCat("flipped byte at ", at));
    std::string damaged = bytes;
    damaged[at] ^= 0x5a;
    auto got = ParseRecording(damaged);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->damage.bad_chunks, 1u);
    EXPECT_FALSE(got->damage.truncated);
    EXPECT_FALSE(got->damage.missing_end);
    EXPECT_EQ(got->damage.bytes_unreadable, end - start);
    // A bad header hides the chunk's sequence number too: a gap.
    const bool in_header = at < start + 24;
    EXPECT_EQ(got->damage.missing_chunks, in_header ? 1u : 0u);
    EXPECT_EQ(got->damage.missing_by_type, (std::map<std::string, uint64_t>{{"SAMPLES", 1}}));
    ASSERT_EQ(got->damage.messages.size(), in_header ? 3u : 2u) << Messages(*got);
    EXPECT_THAT(got->damage.messages[0], HasSubstr(absl::StrCat("offset ", start)));
    EXPECT_THAT(Messages(*got), HasSubstr("1 SAMPLES chunk missing: END counts 3, 2 read"));
    ExpectSameContent(*got, want);
  }
  std::remove(path.c_str());
}

TEST(RecordingTest, GarbageBetweenChunksIsSkipped) {
  Recording full = FullRecording();
  full.samples.resize(10);
  const std::string path = TempPath("garbage.rpf");
  const auto log = WriteInPieces(full, path);
  std::string bytes = ReadFile(path);
  const size_t at = log[3].end;
  // Garbage that contains a fake marker with a bad header checksum.
  bytes.insert(at, std::string("junkRPCKjunkjunkjunkjunkjunkjunk"));
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 1u);
  EXPECT_EQ(got->damage.bytes_unreadable, 32u);
  EXPECT_THAT(absl::StrJoin(got->damage.messages, "\n"), HasSubstr(absl::StrCat("offset ", at)));
  ExpectSameContent(*got, full);
}

TEST(RecordingTest, UnknownChunkTypesAreSkippedSilently) {
  Recording full = FullRecording();
  full.samples.resize(10);
  const std::string path = TempPath("unknown.rpf");
  const auto log = WriteInPieces(full, path);
  std::string bytes = ReadFile(path);
  // As a later writer would write them: numbered, and counted in END.
  const std::string clean = bytes;
  bytes.insert(log[4].end, MakeChunkV2(0x7001, 0, "a chunk type from the future"));
  bytes.insert(log[2].end, MakeChunkV2(100, 0, ""));
  bytes = Renumbered(bytes);
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  ExpectSameContent(*got, full);

  // The same unknown chunk with a bad payload checksum is damage.
  bytes = clean;
  std::string bad = MakeChunkV2(0x7001, 0, "abc");
  bad[24] = 'x';
  bytes.insert(log[1].end, bad);
  bytes = Renumbered(bytes);
  got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 1u);
  EXPECT_THAT(absl::StrJoin(got->damage.messages, "\n"),
              HasSubstr(absl::StrCat("offset ", log[1].end)));
}

TEST(RecordingTest, HostileCountsAreRejectedWithoutHugeAllocations) {
  const std::string path = TempPath("hostile.rpf");
  ASSERT_TRUE(RecordingWriter::Create(path).ok());
  std::string bytes = ReadFile(path);
  // Checksums are right, contents are not.
  const std::string huge_count = "\xff\xff\xff\xff\xff\xff\xff\x7f";  // ~2^55 records
  uint32_t seq = 0;
  for (uint16_t type : {1, 2, 3, 4}) bytes += MakeChunkV2(type, seq++, huge_count);
  // One sample claiming 2^40 kernel frames.
  bytes += MakeChunkV2(
      4, seq++,
      std::string("\x01\x00\x01\x00\x00\x00\x00\x00\x80\x80\x80\x80\x80\x20\x00\x00", 16));
  // Kallsyms claiming 1 GiB from 3 bytes, and a broken zlib stream.
  bytes += MakeChunkV2(5, seq++, std::string("\x80\x80\x80\x80\x04xyz", 8));
  bytes += MakeChunkV2(5, seq++, std::string("\x05not zlib", 9));
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 7u);
  EXPECT_EQ(got->damage.messages.size(), 8u);  // and missing END
  EXPECT_TRUE(got->samples.empty());
  EXPECT_TRUE(got->kallsyms.empty());
  std::remove(path.c_str());
}

TEST(RecordingTest, TrailingGarbageAfterEndIsReported) {
  Recording full = FullRecording();
  full.samples.resize(5);
  const std::string path = TempPath("trailing.rpf");
  WriteInPieces(full, path);
  const std::string bytes = ReadFile(path) + "trailing garbage bytes that are not a chunk";
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->damage.missing_end);
  EXPECT_EQ(got->damage.bad_chunks, 1u);
  EXPECT_EQ(got->damage.bytes_unreadable, 43u);
  ExpectSameContent(*got, full);
}

TEST(RecordingTest, MissingEndKeepsEverythingWritten) {
  Recording full = FullRecording();
  const std::string path = TempPath("noend.rpf");
  {
    auto w = RecordingWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->WriteMeta(full.meta, full.events, full.counters, full.start_time_ns).ok());
    ASSERT_TRUE((*w)->WriteMappings(full.mappings).ok());
    ASSERT_TRUE((*w)->WriteSamples(full.samples).ok());
    // Destroyed without Finish, as if the collector were killed.
  }
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.missing_end);
  EXPECT_FALSE(got->damage.truncated);
  EXPECT_EQ(got->damage.bad_chunks, 0u);
  EXPECT_FALSE(got->damage.empty());
  EXPECT_EQ(got->samples, full.samples);
  EXPECT_EQ(got->mappings, full.mappings);
  EXPECT_EQ(got->end_time_ns, 0u);
  std::remove(path.c_str());
}

TEST(RecordingTest, HeaderErrorsSayWhatAndWhere) {
  EXPECT_THAT(ParseRecording("").status().message(), HasSubstr("empty"));
  EXPECT_EQ(ParseRecording("").status().code(), absl::StatusCode::kInvalidArgument);

  const std::string path = TempPath("hdrerr.rpf");
  ASSERT_TRUE(RecordingWriter::Create(path).ok());
  const std::string good = ReadFile(path);
  ASSERT_TRUE(ParseRecording(good).ok());

  std::string bad_magic = good;
  bad_magic[3] = 'X';
  auto s = ParseRecording(bad_magic).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("not a ringprof recording"));
  EXPECT_THAT(s.message(), HasSubstr("offset 0"));
  EXPECT_FALSE(ParseRecording("%PDF-1.7 not a recording at all").ok());

  std::string future = good;
  PutU32(future, 8, 3);
  s = ParseRecording(future).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("version 3 at offset 8"));
  EXPECT_THAT(s.message(), HasSubstr("reads versions 1 to 2"));
  std::string zero = good;
  PutU32(zero, 8, 0);
  EXPECT_THAT(ParseRecording(zero).status().message(), HasSubstr("version 0"));

  std::string bad_size = good;
  PutU32(bad_size, 12, 8);
  EXPECT_THAT(ParseRecording(bad_size).status().message(), HasSubstr("offset 12"));

  std::string bad_crc = good;
  bad_crc[16] = 1;  // a compatible flag, but the checksum no longer matches
  EXPECT_THAT(ParseRecording(bad_crc).status().message(), HasSubstr("checksum"));
  PutU32(bad_crc, 20, Crc(std::string_view(bad_crc).substr(0, 20)));
  EXPECT_TRUE(ParseRecording(bad_crc).ok()) << "unknown compatible flags are ignored";

  std::string incompatible = good;
  PutU32(incompatible, 16, 1u << 16);
  PutU32(incompatible, 20, Crc(std::string_view(incompatible).substr(0, 20)));
  s = ParseRecording(incompatible).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("offset 16"));

  // A longer header from a later minor revision is skipped.
  std::string longer = good;
  longer.insert(24, "ext!");
  PutU32(longer, 12, 28);
  PutU32(longer, 20, Crc(longer.substr(0, 20) + "ext!"));
  auto got = ParseRecording(longer);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.bad_chunks, 0u);
  std::remove(path.c_str());
}

TEST(RecordingTest, ReadErrorsNameThePath) {
  auto got = ReadRecording("/nonexistent-ringprof-dir/x.rpf");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("/nonexistent-ringprof-dir/x.rpf"));
  EXPECT_THAT(got.status().message(), HasSubstr("No such file or directory"));

  const std::string path = TempPath("notrpf.txt");
  WriteFile(path, "hello");
  got = ReadRecording(path);
  EXPECT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr(path));
  std::remove(path.c_str());
}

TEST(RecordingTest, UnwritablePathsGiveClearErrors) {
  auto w = RecordingWriter::Create("/nonexistent-ringprof-dir/out.rpf");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(w.status().message(), HasSubstr("/nonexistent-ringprof-dir/out.rpf"));
  EXPECT_THAT(w.status().message(), HasSubstr("No such file or directory (errno 2)"));

  w = RecordingWriter::Create(::testing::TempDir());  // a directory
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("Is a directory"));
}

TEST(RecordingTest, FullDiskIsReported) {
  struct stat st;
  if (stat("/dev/full", &st) != 0) GTEST_SKIP() << "/dev/full does not exist here";
  auto w = RecordingWriter::Create("/dev/full");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(w.status().message(), "writing /dev/full: No space left on device (errno 28)");
}

// A write that fails midway (here: the file size limit, EFBIG) is reported,
// later writes are refused, and what was flushed before stays readable.
TEST(RecordingTest, FailureMidwayKeepsFlushedChunks) {
  const std::string path = TempPath("fsize.rpf");
  Recording full = FullRecording();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes name the first check that failed.
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit = {64 * 1024, 64 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    auto w = RecordingWriter::Create(path);
    if (!w.ok()) _exit(11);
    if (!(*w)->WriteMeta(full.meta, full.events, full.counters, 1).ok()) _exit(12);
    std::mt19937_64 rng(3);
    std::vector<Sample> samples;
    for (int i = 0; i < 2000; ++i) samples.push_back(MakeSample(rng, i, 20, 8, 0));
    const absl::Status s = (*w)->WriteSamples(samples);  // ~250 KB: over the limit
    if (s.ok()) _exit(13);
    if (s.message() != absl::StrCat("writing ", path, ": File too large (errno 27)")) _exit(14);
    if ((*w)->WriteSamples({}).message() != s.message()) _exit(15);
    if ((*w)->Finish({}, 2).ok()) _exit(16);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "see the _exit codes in the child";
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->meta, full.meta);
  EXPECT_TRUE(got->samples.empty());
  EXPECT_TRUE(got->damage.truncated);
  EXPECT_TRUE(got->damage.missing_end);
  EXPECT_EQ(got->damage.bad_chunks, 0u);
  std::remove(path.c_str());
}

TEST(RecordingTest, WritesAfterFinishOrFailureAreRefused) {
  const std::string path = TempPath("finished.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish({}, 1).ok());
  const absl::Status s = (*w)->WriteSamples({});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_FALSE((*w)->Finish({}, 2).ok());
  std::remove(path.c_str());
}

// Checked-in fuzzer finds (fuzz_corpus/recording/, see fuzz_recording.cc)
// stay harmless in the regular build too.
TEST(RecordingTest, FuzzCorpusParsesWithoutCrashing) {
  size_t files = 0, parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(RINGPROF_RECORDING_CORPUS_DIR)) {
    const std::string bytes = ReadFile(entry.path().string());
    auto got = ParseRecording(bytes);
    ++files;
    if (got.ok()) {
      ++parsed;
      EXPECT_LE(got->damage.bytes_unreadable, bytes.size()) << entry.path();
    } else {
      EXPECT_THAT(got.status().message(), HasSubstr("offset")) << entry.path();
    }
  }
  EXPECT_GE(files, 10u);
  EXPECT_GT(parsed, 0u);
}

// --- Version 2: what sequence numbers and END's counts give away ----------

// A recording with chunks of every type, several of most: META twice,
// MAPPINGS, TASKS, SAMPLES and KALLSYMS in pieces, two IMAGEs, COUNTER_SCALING,
// a cumulative STATS before the final one, and END.
struct EveryType {
  Recording want;
  std::string bytes;
};

EveryType WriteEveryType() {
  EveryType out;
  Recording& full = out.want;
  full = FullRecording();
  full.samples.resize(40);
  full.kallsyms.resize(3000);
  full.counter_scaling = {{1000, 1000}, {1000, 250}};
  full.images = {{"[vdso]", std::string(300, 'v')}, {"[other]", "x"}};
  full.loss.bad_ring_records = 9;
  const std::string path = TempPath("every_type.rpf");
  {
    auto w = RecordingWriter::Create(path);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return out;
    RecordingWriter& rw = **w;
    auto samples = absl::MakeConstSpan(full.samples);
    auto mappings = absl::MakeConstSpan(full.mappings);
    auto tasks = absl::MakeConstSpan(full.tasks);
    EXPECT_TRUE(rw.WriteMeta({{"command", "x"}}, full.events, full.counters, 5).ok());
    EXPECT_TRUE(rw.WriteMeta(full.meta, full.events, full.counters, full.start_time_ns).ok());
    EXPECT_TRUE(rw.WriteKallsyms(std::string_view(full.kallsyms).substr(0, 1000)).ok());
    EXPECT_TRUE(rw.WriteMappings(mappings.subspan(0, 3)).ok());
    EXPECT_TRUE(rw.WriteTasks(tasks.subspan(0, 5)).ok());
    EXPECT_TRUE(rw.WriteImage(full.images[0].name, full.images[0].bytes).ok());
    EXPECT_TRUE(rw.WriteSamples(samples.subspan(0, 10)).ok());
    EXPECT_TRUE(rw.WriteStats({.lost_samples = 1}).ok());  // cumulative, superseded
    EXPECT_TRUE(rw.WriteMappings(mappings.subspan(3)).ok());
    EXPECT_TRUE(rw.WriteSamples(samples.subspan(10, 20)).ok());
    EXPECT_TRUE(rw.WriteTasks(tasks.subspan(5)).ok());
    EXPECT_TRUE(rw.WriteKallsyms(std::string_view(full.kallsyms).substr(1000)).ok());
    EXPECT_TRUE(rw.WriteImage(full.images[1].name, full.images[1].bytes).ok());
    EXPECT_TRUE(rw.WriteSamples(samples.subspan(30)).ok());
    EXPECT_TRUE(rw.WriteCounterScaling(full.counter_scaling).ok());
    EXPECT_TRUE(rw.Finish(full.loss, full.end_time_ns).ok());
  }
  out.bytes = ReadFile(path);
  std::remove(path.c_str());
  return out;
}

TEST(RecordingV2Test, EveryTypeFileIsIntact) {
  const EveryType f = WriteEveryType();
  auto got = ParseRecording(f.bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_EQ(got->version, 2u);
  ExpectSameContent(*got, f.want);
  EXPECT_EQ(got->counter_scaling, f.want.counter_scaling);
  EXPECT_EQ(got->images, f.want.images);
  EXPECT_EQ(got->loss.bad_ring_records, 9u);
  EXPECT_TRUE(got->meta_present);
  EXPECT_TRUE(got->stats_present);
}

// The chunk header and END payload, byte by byte as docs/FORMAT.md has them.
TEST(RecordingV2Test, ChunkHeaderAndEndAreAsDocumented) {
  const EveryType f = WriteEveryType();
  const std::string& b = f.bytes;
  EXPECT_EQ(GetU32(b, 8), 2u) << "version";
  const auto chunks = WalkChunks(b);
  ASSERT_EQ(chunks.size(), 17u);
  for (size_t i = 0; i < chunks.size(); ++i) {
    const size_t at = chunks[i].offset;
    SCOPED_TRACE(absl::StrCat("chunk ", i, " at ", at));
    EXPECT_EQ(b.substr(at, 4), "RPCK");
    EXPECT_EQ(b[at + 6], 0);  // flags
    EXPECT_EQ(b[at + 7], 0);
    EXPECT_EQ(GetU32(b, at + 8), i) << "sequence number";
    EXPECT_EQ(GetU32(b, at + 12) + 24, chunks[i].size) << "payload size";
    EXPECT_EQ(GetU32(b, at + 16), Crc(std::string_view(b).substr(at + 24, chunks[i].size - 24)));
    EXPECT_EQ(GetU32(b, at + 20), Crc(std::string_view(b).substr(at, 20)));
  }
  // END: end time, then (type, count) pairs in type order, END not counted.
  const ChunkSpan& end = chunks.back();
  ASSERT_EQ(end.type, kEnd);
  const std::string payload = b.substr(end.offset + 24);
  const std::string want = testing::EndPayloadV2(UINT64_MAX, {{kMeta, 2},
                                                              {kMappings, 2},
                                                              {kTasks, 2},
                                                              {kSamples, 3},
                                                              {kKallsyms, 2},
                                                              {kStats, 2},
                                                              {kCounterScaling, 1},
                                                              {kImage, 2}});
  EXPECT_EQ(payload, want);
}

// STATS in version 2: (field id, value) pairs; every field is written.
TEST(RecordingV2Test, StatsArePairsWithEveryField) {
  const std::string path = TempPath("stats_pairs.rpf");
  auto w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  const LossStats loss{.lost_samples = 1,
                       .lost_perf_records = 2,
                       .throttle_events = 3,
                       .kernel_truncated = 4,
                       .user_truncated = 5,
                       .user_stack_failed = 6,
                       .unmapped_user_frames = 7,
                       .unwind_tables_loaded = 8,
                       .unwind_tables_evicted = 9,
                       .unwind_rows_evicted = 10,
                       .unwind_binaries_without_table = 11,
                       .unwind_tables_too_big = 12,
                       .bad_ring_records = 300,
                       .deferred_walks = 14,
                       .deferred_copies_lost = 15};
  ASSERT_TRUE((*w)->Finish(loss, 1).ok());
  const std::string b = ReadFile(path);
  const auto chunks = WalkChunks(b);
  ASSERT_EQ(chunks.size(), 2u);
  ASSERT_EQ(chunks[0].type, kStats);
  std::string want;
  for (uint64_t id = 1; id <= 12; ++id) {
    testing::EditPutVarint(want, id);
    testing::EditPutVarint(want, id);
  }
  want += std::string("\x0d\xac\x02", 3);      // 13: bad_ring_records = 300
  want += std::string("\x0e\x0e\x0f\x0f", 4);  // 14, 15: the deferred walks
  EXPECT_EQ(b.substr(chunks[0].offset + 24, chunks[0].size - 24), want);
  auto got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_EQ(got->loss, loss);
  std::remove(path.c_str());
}

// A reader skips field ids it does not know, keeps the last value of a
// repeated id, and a field that is absent stays 0. A cut pair is damage.
TEST(RecordingV2Test, StatsReaderSkipsUnknownIds) {
  const std::string path = TempPath("stats_ids.rpf");
  ASSERT_TRUE(RecordingWriter::Create(path).ok());
  const std::string header = ReadFile(path);
  std::string stats;
  for (uint64_t v : {uint64_t{1}, uint64_t{5},          // lost_samples = 5
                     uint64_t{999}, uint64_t{1} << 40,  // unknown id: skipped
                     uint64_t{0}, uint64_t{7},          // id 0: never written, skipped
                     uint64_t{13}, uint64_t{2},         // bad_ring_records = 2
                     uint64_t{1}, uint64_t{6}}) {       // lost_samples again: 6 wins
    testing::EditPutVarint(stats, v);
  }
  std::string b = header + MakeChunkV2(kStats, 0, stats) +
                  MakeChunkV2(kEnd, 1, testing::EndPayloadV2(9, {{kStats, 1}}));
  auto got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_TRUE(got->stats_present);
  EXPECT_EQ(got->loss, (LossStats{.lost_samples = 6, .bad_ring_records = 2}));
  EXPECT_EQ(got->end_time_ns, 9u);

  stats.pop_back();  // the last pair loses its value
  b = header + MakeChunkV2(kStats, 0, stats) +
      MakeChunkV2(kEnd, 1, testing::EndPayloadV2(9, {{kStats, 1}}));
  got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 1u);
  EXPECT_FALSE(got->stats_present);
  EXPECT_THAT(Messages(*got), HasSubstr("bad chunk STATS at offset 24"));
  EXPECT_THAT(Messages(*got), HasSubstr("1 STATS chunk missing: END counts 1, 0 read"));
  std::remove(path.c_str());
}

TEST(RecordingV2Test, CumulativeStatsKeepTheLast) {
  const std::string path = TempPath("cumulative.rpf");
  {
    auto w = RecordingWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->WriteStats({.lost_samples = 1}).ok());
    ASSERT_TRUE((*w)->WriteStats({.lost_samples = 2, .bad_ring_records = 1}).ok());
    // Killed here: no Finish.
  }
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->stats_present);
  EXPECT_EQ(got->loss, (LossStats{.lost_samples = 2, .bad_ring_records = 1}));
  EXPECT_TRUE(got->damage.missing_end);

  // Finish's STATS comes last and wins; swapping the cumulative ones around
  // (out of order, which is damage) does not change which is last.
  {
    auto w = RecordingWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->WriteStats({.lost_samples = 1}).ok());
    ASSERT_TRUE((*w)->WriteStats({.lost_samples = 2}).ok());
    ASSERT_TRUE((*w)->Finish({.lost_samples = 3}, 4).ok());
  }
  const std::string b = ReadFile(path);
  got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_EQ(got->loss.lost_samples, 3u);
  const auto chunks = WalkChunks(b);
  got = ParseRecording(testing::WithChunksSwapped(b, chunks[0], chunks[2]));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->loss.lost_samples, 3u);
  EXPECT_GT(got->damage.out_of_order_chunks, 0u);
  std::remove(path.c_str());
}

TEST(RecordingV2Test, NoStatsChunkMeansLossUnknown) {
  const std::string path = TempPath("nostats.rpf");
  {
    auto w = RecordingWriter::Create(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->WriteMeta({}, {}, {}, 1).ok());
    ASSERT_TRUE((*w)->WriteSamples({Sample{}}).ok());
  }
  auto got = ReadRecording(path);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->stats_present);
  EXPECT_TRUE(got->meta_present);
  EXPECT_EQ(got->loss, LossStats{});  // defaults, not figures: stats_present says so
  EXPECT_TRUE(got->damage.missing_end);
  std::remove(path.c_str());
}

// Each chunk type, removed or copied by splicing bytes (no checksum is
// recomputed), is damage that names it; a copy is not applied.
TEST(RecordingV2Test, RemovedOrDuplicatedChunkOfEveryTypeIsNamed) {
  const EveryType f = WriteEveryType();
  auto intact = ParseRecording(f.bytes);
  ASSERT_TRUE(intact.ok());
  ASSERT_TRUE(intact->damage.empty());
  const auto chunks = WalkChunks(f.bytes);
  const std::pair<uint16_t, const char*> types[] = {{kMeta, "META"},
                                                    {kMappings, "MAPPINGS"},
                                                    {kTasks, "TASKS"},
                                                    {kSamples, "SAMPLES"},
                                                    {kKallsyms, "KALLSYMS"},
                                                    {kStats, "STATS"},
                                                    {kImage, "IMAGE"},
                                                    {kCounterScaling, "COUNTER_SCALING"},
                                                    {kEnd, "END"}};
  for (const auto& [type, name] : types) {
    SCOPED_TRACE(name);
    // The last chunk of the type: for STATS, the one that counts.
    const ChunkSpan* c = nullptr;
    for (const ChunkSpan& k : chunks)
      if (k.type == type) c = &k;
    ASSERT_NE(c, nullptr);

    auto removed = ParseRecording(testing::WithoutChunk(f.bytes, *c));
    ASSERT_TRUE(removed.ok());
    EXPECT_FALSE(removed->damage.empty());
    EXPECT_EQ(removed->damage.bad_chunks, 0u);
    if (type == kEnd) {
      EXPECT_TRUE(removed->damage.missing_end);
    } else {
      EXPECT_EQ(removed->damage.missing_chunks, 1u) << Messages(*removed);
      EXPECT_EQ(removed->damage.missing_by_type, (std::map<std::string, uint64_t>{{name, 1}}));
      EXPECT_THAT(Messages(*removed), HasSubstr(absl::StrCat("1 ", name, " chunk missing")));
      EXPECT_THAT(Messages(*removed),
                  HasSubstr(absl::StrCat("1 chunk missing (sequence number ", c->seq,
                                         ") between the chunks at offsets ")));
    }
    if (type == kMeta) {
      EXPECT_TRUE(removed->meta_present) << "the first META is still there";
    }
    if (type == kStats) {
      EXPECT_TRUE(removed->stats_present);
      EXPECT_EQ(removed->loss, LossStats{.lost_samples = 1}) << "the cumulative one";
    }

    // A copy right after the original, and one just before END.
    for (size_t at : {c->offset + c->size, chunks.back().offset}) {
      SCOPED_TRACE(absl::StrCat("copy at ", at));
      auto dup = ParseRecording(testing::WithCopyOfChunk(f.bytes, *c, at));
      ASSERT_TRUE(dup.ok());
      EXPECT_FALSE(dup->damage.empty());
      EXPECT_EQ(dup->damage.duplicate_chunks, 1u) << Messages(*dup);
      EXPECT_EQ(dup->damage.missing_chunks, 0u);
      EXPECT_TRUE(dup->damage.missing_by_type.empty());
      // The first copy in the file is the one applied.
      const size_t first = at <= c->offset ? at : c->offset;
      const size_t second = at <= c->offset ? c->offset + c->size : at;
      EXPECT_THAT(Messages(*dup),
                  HasSubstr(absl::StrCat(
                      "chunk ", name, " at offset ", second, " repeats sequence number ", c->seq,
                      " of the ", name, " chunk at offset ", first, ": a duplicate, not applied")));
      // Nothing counted twice.
      ExpectSameContent(*dup, f.want);
      EXPECT_EQ(dup->images, f.want.images);
      EXPECT_EQ(dup->counter_scaling, f.want.counter_scaling);
    }
  }
  // Removing every META or every STATS chunk: the reader says so.
  std::string no_meta = f.bytes, no_stats = f.bytes;
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {
    if (it->type == kMeta) no_meta = testing::WithoutChunk(no_meta, *it);
    if (it->type == kStats) no_stats = testing::WithoutChunk(no_stats, *it);
  }
  auto got = ParseRecording(no_meta);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->meta_present);
  EXPECT_EQ(got->damage.missing_by_type.at("META"), 2u);
  EXPECT_EQ(got->damage.missing_chunks, 2u);
  EXPECT_THAT(Messages(*got), HasSubstr("2 chunks missing (sequence numbers 0 to 1) before the "
                                        "chunk at offset 24"));
  got = ParseRecording(no_stats);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->stats_present);
  EXPECT_EQ(got->damage.missing_by_type.at("STATS"), 2u);
}

TEST(RecordingV2Test, SwappedChunksAreOutOfOrder) {
  const EveryType f = WriteEveryType();
  const auto chunks = WalkChunks(f.bytes);
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    for (size_t j : {i + 1, chunks.size() - 1}) {
      if (j == i) continue;
      SCOPED_TRACE(absl::StrCat("swap ", i, " and ", j));
      auto got = ParseRecording(testing::WithChunksSwapped(f.bytes, chunks[i], chunks[j]));
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(got->damage.empty());
      EXPECT_GT(got->damage.out_of_order_chunks, 0u);
      EXPECT_EQ(got->damage.missing_chunks, 0u);
      EXPECT_EQ(got->damage.duplicate_chunks, 0u);
      EXPECT_EQ(got->samples.size(), f.want.samples.size());
      EXPECT_EQ(got->loss, f.want.loss);
    }
  }
  // Adjacent: one chunk is out of order, and the message says where.
  auto got = ParseRecording(testing::WithChunksSwapped(f.bytes, chunks[3], chunks[4]));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.out_of_order_chunks, 1u);
  ASSERT_EQ(got->damage.messages.size(), 1u);
  EXPECT_EQ(got->damage.messages[0],
            absl::StrCat("chunk MAPPINGS at offset ", chunks[3].offset + chunks[4].size,
                         " has sequence number 3, lower than 4 of the chunk at offset ",
                         chunks[3].offset, " before it: chunks out of order"));
}

// Several chunks lost in one place: one message with how many and where.
TEST(RecordingV2Test, GapNamesItsSizeAndOffsets) {
  const EveryType f = WriteEveryType();
  const auto chunks = WalkChunks(f.bytes);
  std::string b = f.bytes;
  b.erase(chunks[5].offset, chunks[8].offset - chunks[5].offset);  // chunks 5, 6, 7
  auto got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.missing_chunks, 3u);
  EXPECT_THAT(Messages(*got), HasSubstr(absl::StrCat("3 chunks missing (sequence numbers 5 to 7) "
                                                     "between the chunks at offsets ",
                                                     chunks[4].offset, " and ", chunks[5].offset)));
  // IMAGE, SAMPLES, STATS went.
  EXPECT_EQ(got->damage.missing_by_type,
            (std::map<std::string, uint64_t>{{"IMAGE", 1}, {"SAMPLES", 1}, {"STATS", 1}}));
  EXPECT_THAT(Messages(*got), HasSubstr("1 IMAGE chunk missing: END counts 2, 1 read"));
}

// Garbage between v2 chunks: the reader resynchronizes on the next
// 24-byte header and the numbering shows that nothing else was lost.
TEST(RecordingV2Test, ResyncAfterGarbageKeepsTheNumbering) {
  const EveryType f = WriteEveryType();
  const auto chunks = WalkChunks(f.bytes);
  std::string b = f.bytes;
  b.insert(chunks[6].offset, "junkRPCKjunkjunkjunkjunkjunkjunkjunk");
  auto got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 1u);
  EXPECT_EQ(got->damage.missing_chunks, 0u);
  EXPECT_TRUE(got->damage.missing_by_type.empty());
  EXPECT_EQ(got->damage.bytes_unreadable, 36u);
  ExpectSameContent(*got, f.want);
}

// --- Writing: file mode, file descriptors, standard input ----------------

TEST(RecordingWriterTest, FilesAreCreatedPrivate) {
  const std::string path = TempPath("mode.rpf");
  std::remove(path.c_str());
  const mode_t old_umask = umask(0);  // even with a permissive umask
  auto w = RecordingWriter::Create(path);
  umask(old_umask);
  ASSERT_TRUE(w.ok()) << w.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  w->reset();

  // An existing world-readable file is made private too.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  w = RecordingWriter::Create(path);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE((*w)->Finish({}, 1).ok());
  EXPECT_TRUE(ReadRecording(path).ok());
  std::remove(path.c_str());
}

TEST(RecordingWriterTest, DevicesKeepTheirMode) {
  struct stat before, after;
  if (stat("/dev/null", &before) != 0) GTEST_SKIP() << "no /dev/null";
  auto w = RecordingWriter::Create("/dev/null");
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Finish({}, 1).ok());
  ASSERT_EQ(stat("/dev/null", &after), 0);
  EXPECT_EQ(after.st_mode, before.st_mode);
}

// Drains whatever the pipe holds now (the writer has flushed it).
std::string DrainPipe(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(RecordingWriterTest, CreateForFdWritesThroughAPipe) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  const Recording want = testing::GoldenRecording();
  std::string got_bytes;
  {
    auto w = RecordingWriter::CreateForFd(fds[1], "standard output");
    ASSERT_TRUE(w.ok()) << w.status();
    got_bytes += DrainPipe(fds[0]);
    EXPECT_EQ(got_bytes.size(), 24u) << "the header is flushed at once";
    ASSERT_TRUE((*w)->WriteMeta(want.meta, want.events, want.counters, want.start_time_ns).ok());
    got_bytes += DrainPipe(fds[0]);
    EXPECT_EQ(got_bytes.size(), (*w)->bytes_written()) << "each chunk is flushed";
    ASSERT_TRUE((*w)->WriteMappings(want.mappings).ok());
    ASSERT_TRUE((*w)->WriteTasks(want.tasks).ok());
    ASSERT_TRUE((*w)->WriteSamples(want.samples).ok());
    ASSERT_TRUE((*w)->WriteKallsyms(want.kallsyms).ok());
    ASSERT_TRUE((*w)->Finish(want.loss, want.end_time_ns).ok());
    got_bytes += DrainPipe(fds[0]);
    EXPECT_EQ(got_bytes.size(), (*w)->bytes_written());
  }
  // The caller's fd is still open and still its own: closing it ends the
  // stream.
  EXPECT_NE(fcntl(fds[1], F_GETFD), -1);
  ASSERT_EQ(close(fds[1]), 0);
  char c;
  EXPECT_EQ(read(fds[0], &c, 1), 0) << "end of stream once the caller closes its fd";
  close(fds[0]);
  auto got = ParseRecording(got_bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  ExpectSameContent(*got, want);
}

TEST(RecordingWriterTest, CreateForFdErrorsUseTheDisplayName) {
  auto w = RecordingWriter::CreateForFd(-1, "standard output");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("writing standard output"));
  EXPECT_THAT(w.status().message(), HasSubstr("Bad file descriptor"));

  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);  // nobody reads: EPIPE
  signal(SIGPIPE, SIG_IGN);
  w = RecordingWriter::CreateForFd(fds[1], "standard output");
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("writing standard output: Broken pipe"));
  close(fds[1]);
}

// Points standard input at `fd` for the scope of the object.
class StdinFrom {
 public:
  explicit StdinFrom(int fd) : saved_(dup(STDIN_FILENO)) { dup2(fd, STDIN_FILENO); }
  ~StdinFrom() {
    dup2(saved_, STDIN_FILENO);
    close(saved_);
  }

 private:
  int saved_;
};

TEST(RecordingReaderTest, DashReadsStandardInput) {
  const std::string path = TempPath("stdin.rpf");
  ASSERT_TRUE(testing::WriteGoldenRecording(testing::GoldenRecording(), path).ok());
  const std::string bytes = ReadFile(path);
  // Through a pipe, so nothing can be stat()ed or seeked.
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  std::thread feeder([&] {
    for (size_t at = 0; at < bytes.size();) {
      const ssize_t n = write(fds[1], bytes.data() + at, std::min<size_t>(100, bytes.size() - at));
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  absl::StatusOr<Recording> got;
  {
    StdinFrom in(fds[0]);
    got = ReadRecording("-");
  }
  feeder.join();
  close(fds[0]);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  ExpectSameContent(*got, testing::GoldenRecording());

  // Errors name standard input.
  const std::string junk = TempPath("stdin_junk");
  WriteFile(junk, "not a recording");
  const int fd = open(junk.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  {
    StdinFrom in(fd);
    got = ReadRecording("-");
  }
  close(fd);
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("standard input: not a ringprof recording"));
  std::remove(path.c_str());
  std::remove(junk.c_str());
}

// --- Golden files ----------------------------------------------------------

const std::string kGoldenPath = std::string(RINGPROF_TESTDATA_DIR) + "/recording_v1_small.rpf";

std::string TestdataFile(const std::string& name) {
  return ReadFile(std::string(RINGPROF_TESTDATA_DIR) + "/" + name);
}

TEST(RecordingGoldenTest, CheckedInFileParses) {
  auto got = ReadRecording(kGoldenPath);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  EXPECT_TRUE(got->meta_present);
  EXPECT_TRUE(got->stats_present);
  // Spelled out here, independently of recording_golden.h.
  EXPECT_EQ(got->version, 1u);
  EXPECT_EQ(got->meta.at("hostname"), "golden-host");
  ASSERT_EQ(got->events.size(), 1u);
  EXPECT_EQ(got->events[0].name, "cpu-clock");
  EXPECT_TRUE(got->events[0].freq);
  EXPECT_EQ(got->events[0].sample_freq_or_period, 999u);
  ASSERT_EQ(got->counters.size(), 1u);
  EXPECT_EQ(got->counters[0].config, 2u);
  EXPECT_EQ(got->start_time_ns, 1000000000u);
  EXPECT_EQ(got->end_time_ns, 1005000000u);
  ASSERT_EQ(got->mappings.size(), 2u);
  EXPECT_EQ(got->mappings[0].end, 0x555555556000u);
  EXPECT_EQ(got->mappings[0].build_id.size(), 20u);
  EXPECT_EQ(got->mappings[1].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_EQ(got->tasks.size(), 4u);
  EXPECT_EQ(got->tasks[1].kind, TaskEventKind::kFork);
  EXPECT_EQ(got->tasks[2].comm, "spin-worker");
  ASSERT_EQ(got->samples.size(), 2u);
  EXPECT_EQ(got->samples[1].kernel_ips[0], 0xffffffff81a0c3d2u);
  EXPECT_EQ(got->samples[1].user_frames[0].address, 0x7ffff7ff0123u);
  EXPECT_EQ(got->samples[0].user_frames[2], (UserFrame{2, 0x29d90}));
  EXPECT_EQ(got->samples[1].flags, kSampleInKernel | kSampleUserTruncated);
  EXPECT_THAT(got->kallsyms, HasSubstr("ffffffff81a0b000 T schedule\n"));
  EXPECT_EQ(got->loss.unmapped_user_frames, 7u);
  Recording want = testing::GoldenRecording();
  want.version = 1;
  ExpectSameContent(*got, want);
}

// Version 1 has no sequence numbers: unknown chunk types are skipped, the
// reader still resynchronizes on 20-byte headers, and a removed STATS chunk
// can only be seen as stats_present == false.
TEST(RecordingGoldenTest, VersionOneEditsReadAsBefore) {
  const std::string v1 = ReadFile(kGoldenPath);
  // v1 chunks: META, KALLSYMS, MAPPINGS, TASKS, SAMPLES, STATS, END.
  std::vector<size_t> starts;
  for (size_t pos = 24; pos + 20 <= v1.size(); pos += 20 + GetU32(v1, pos + 8)) {
    starts.push_back(pos);
  }
  ASSERT_EQ(starts.size(), 7u);
  std::string b = v1;
  b.insert(starts[6], MakeChunkV1(0x7001, "later"));
  b.insert(starts[2], "garbage!");
  auto got = ParseRecording(b);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->damage.bad_chunks, 1u) << Messages(*got);
  EXPECT_EQ(got->damage.messages.size(), 1u);
  Recording want = testing::GoldenRecording();
  want.version = 1;
  ExpectSameContent(*got, want);

  std::string no_stats = v1;
  no_stats.erase(starts[5], starts[6] - starts[5]);
  got = ParseRecording(no_stats);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty());
  EXPECT_FALSE(got->stats_present);
  EXPECT_TRUE(got->meta_present);
  EXPECT_EQ(got->loss, LossStats{});
}

// Today's writer reproduces every checked-in version 2 file byte for byte.
TEST(RecordingGoldenTest, WriterStillProducesTheSameBytes) {
  auto files = testing::GoldenV2Files(::testing::TempDir());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->size(), 6u);
  for (const auto& [name, fresh] : *files) {
    SCOPED_TRACE(name);
    const std::string golden = TestdataFile(name);
    ASSERT_FALSE(golden.empty()) << "missing testdata/" << name
                                 << " (recording_golden_gen tests/formats/testdata)";
    EXPECT_TRUE(fresh == golden)
        << "the writer's output changed; if the format changed on purpose, bump kFormatVersion, "
           "keep reading the old version, and add new golden files";
  }
}

TEST(RecordingGoldenTest, V2Small) {
  auto got = ParseRecording(TestdataFile("recording_v2_small.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_EQ(got->version, 2u);
  EXPECT_TRUE(got->meta_present);
  EXPECT_TRUE(got->stats_present);
  ExpectSameContent(*got, testing::GoldenRecording());
}

// Written before STATS had ids 14 and 15 (deferred walks): they read as 0.
TEST(RecordingGoldenTest, V2SmallWithThirteenStatsFields) {
  auto got = ParseRecording(TestdataFile("recording_v2_small_13_stats.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << Messages(*got);
  EXPECT_TRUE(got->stats_present);
  EXPECT_EQ(got->loss.deferred_walks, 0u);
  EXPECT_EQ(got->loss.deferred_copies_lost, 0u);
  ExpectSameContent(*got, testing::GoldenRecording());
}

TEST(RecordingGoldenTest, V2SamplesChunkRemoved) {
  auto got = ParseRecording(TestdataFile("recording_v2_samples_chunk_removed.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->samples.empty());
  EXPECT_EQ(got->damage.missing_chunks, 1u);
  EXPECT_EQ(got->damage.missing_by_type, (std::map<std::string, uint64_t>{{"SAMPLES", 1}}));
  EXPECT_FALSE(got->damage.missing_end);
  EXPECT_EQ(got->damage.bad_chunks, 0u);
  // Chunks of recording_v2_small.rpf: META at 24, KALLSYMS 194, MAPPINGS
  // 289, TASKS 428, SAMPLES 515 (gone here), STATS 609 (515 here), END.
  EXPECT_EQ(got->damage.messages,
            (std::vector<std::string>{
                "1 chunk missing (sequence number 4) between the chunks at offsets 428 and 515",
                "1 SAMPLES chunk missing: END counts 1, 0 read"}));
}

TEST(RecordingGoldenTest, V2MetaChunkRemoved) {
  auto got = ParseRecording(TestdataFile("recording_v2_meta_chunk_removed.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->meta_present);
  EXPECT_TRUE(got->events.empty());
  EXPECT_EQ(got->start_time_ns, 0u);
  EXPECT_EQ(got->samples.size(), 2u);
  EXPECT_EQ(got->damage.missing_by_type, (std::map<std::string, uint64_t>{{"META", 1}}));
  EXPECT_EQ(
      got->damage.messages,
      (std::vector<std::string>{"1 chunk missing (sequence number 0) before the chunk at offset 24",
                                "1 META chunk missing: END counts 1, 0 read"}));
}

TEST(RecordingGoldenTest, V2StatsChunkDuplicated) {
  auto got = ParseRecording(TestdataFile("recording_v2_stats_chunk_duplicated.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.duplicate_chunks, 1u);
  EXPECT_TRUE(got->damage.missing_by_type.empty());
  EXPECT_EQ(got->loss, testing::GoldenRecording().loss);
  ASSERT_EQ(got->damage.messages.size(), 1u);
  EXPECT_THAT(got->damage.messages[0],
              ::testing::MatchesRegex("chunk STATS at offset [0-9]+ repeats sequence number 5 of "
                                      "the STATS chunk at offset [0-9]+: a duplicate, not "
                                      "applied"));
}

TEST(RecordingGoldenTest, V2TasksAndSamplesSwapped) {
  auto got = ParseRecording(TestdataFile("recording_v2_tasks_and_samples_swapped.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.out_of_order_chunks, 1u);
  EXPECT_EQ(got->damage.missing_chunks, 0u);
  // Everything is there, only moved.
  ExpectSameContent(*got, testing::GoldenRecording());
  ASSERT_EQ(got->damage.messages.size(), 1u);
  EXPECT_THAT(got->damage.messages[0], HasSubstr("chunk TASKS at offset"));
  EXPECT_THAT(got->damage.messages[0], HasSubstr("has sequence number 3, lower than 4"));
}

TEST(RecordingGoldenTest, V2KilledAfterCumulativeStats) {
  auto got = ParseRecording(TestdataFile("recording_v2_killed_after_cumulative_stats.rpf"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.missing_end);
  EXPECT_EQ(got->damage.messages.size(), 1u);
  EXPECT_TRUE(got->stats_present);
  EXPECT_EQ(got->loss, testing::GoldenCumulativeLoss(2));
  EXPECT_EQ(got->loss.bad_ring_records, 4u);
  EXPECT_EQ(got->samples, testing::GoldenRecording().samples);
}

}  // namespace
}  // namespace ringprof::formats
