#include "formats/recording.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/formats/recording_golden.h"

namespace ringprof::formats {
namespace {

using ::testing::HasSubstr;

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

// A chunk built by hand from the layout in docs/FORMAT.md.
std::string MakeChunk(uint16_t type, std::string_view payload) {
  std::string h(20, '\0');
  h[0] = 'R', h[1] = 'P', h[2] = 'C', h[3] = 'K';
  h[4] = static_cast<char>(type);
  h[5] = static_cast<char>(type >> 8);
  PutU32(h, 8, static_cast<uint32_t>(payload.size()));
  PutU32(h, 12, Crc(payload));
  PutU32(h, 16, Crc(std::string_view(h).substr(0, 16)));
  return h + std::string(payload);
}

struct ChunkSpan {
  uint16_t type;
  size_t offset;  // of the chunk header
  size_t size;    // header + payload
};

// Walks the chunks of an intact file following docs/FORMAT.md.
std::vector<ChunkSpan> WalkChunks(const std::string& b) {
  std::vector<ChunkSpan> out;
  size_t pos = GetU32(b, 12);
  while (pos + 20 <= b.size()) {
    EXPECT_EQ(b.substr(pos, 4), "RPCK") << "at " << pos;
    const uint16_t type = static_cast<uint16_t>(static_cast<uint8_t>(b[pos + 4]) |
                                                static_cast<uint8_t>(b[pos + 5]) << 8);
    const size_t size = 20 + GetU32(b, pos + 8);
    out.push_back({type, pos, size});
    pos += size;
  }
  EXPECT_EQ(pos, b.size());
  return out;
}

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
  const std::string bytes = ReadFile(path);
  EXPECT_EQ(bytes.size(), log.back().end + (20 + 16) + (20 + 10)) << "STATS and END after the log";
  // Every chunk is where the writer said, and the documented walk agrees.
  const auto chunks = WalkChunks(bytes);
  ASSERT_EQ(chunks.size(), log.size() + 2);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(chunks[i].offset + chunks[i].size, log[i].end);
  EXPECT_EQ(chunks[chunks.size() - 2].type, 6);  // STATS
  EXPECT_EQ(chunks.back().type, 7);              // END
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
  bytes.insert(at, MakeChunk(9, std::string("\x00\x02"
                                            "ab",
                                            4)));
  bytes.insert(at, MakeChunk(9, std::string("\x01x\x09"
                                            "ab",
                                            5)));
  bytes.insert(at, MakeChunk(9, std::string("\x01x\x01"
                                            "ab",
                                            5)));
  got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->damage.bad_chunks, 3u) << absl::StrJoin(got->damage.messages, "\n");
  EXPECT_EQ(got->images.size(), 2u);
  EXPECT_EQ(got->end_time_ns, 2u);
  const std::string messages = absl::StrJoin(got->damage.messages, "\n");
  EXPECT_THAT(messages, HasSubstr("IMAGE without a name"));
  EXPECT_THAT(messages, HasSubstr("overruns the payload"));
  EXPECT_THAT(messages, HasSubstr("IMAGE payload has bytes after the image"));
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
    if (c.type == 4) {
      ++sample_chunks;
      EXPECT_LE(c.size, 20 + size_t{kTargetChunkPayload} + 1024);
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
    ASSERT_EQ(got->damage.messages.size(), 1u);
    EXPECT_THAT(got->damage.messages[0], HasSubstr(absl::StrCat("offset ", start)));
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
  bytes.insert(log[4].end, MakeChunk(0x7001, "a chunk type from the future"));
  bytes.insert(log[2].end, MakeChunk(100, ""));
  auto got = ParseRecording(bytes);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
  ExpectSameContent(*got, full);

  // The same unknown chunk with a bad payload checksum is damage.
  std::string bad = MakeChunk(0x7001, "abc");
  bad[20] = 'x';
  bytes.insert(log[1].end, bad);
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
  for (uint16_t type : {1, 2, 3, 4}) bytes += MakeChunk(type, huge_count);
  // One sample claiming 2^40 kernel frames.
  bytes += MakeChunk(
      4, std::string("\x01\x00\x01\x00\x00\x00\x00\x00\x80\x80\x80\x80\x80\x20\x00\x00", 16));
  // Kallsyms claiming 1 GiB from 3 bytes, and a broken zlib stream.
  bytes += MakeChunk(5, std::string("\x80\x80\x80\x80\x04xyz", 8));
  bytes += MakeChunk(5, std::string("\x05not zlib", 9));
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
  PutU32(future, 8, 2);
  s = ParseRecording(future).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("version 2 at offset 8"));
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

// --- Golden file -----------------------------------------------------------

const std::string kGoldenPath = std::string(RINGPROF_TESTDATA_DIR) + "/recording_v1_small.rpf";

TEST(RecordingGoldenTest, CheckedInFileParses) {
  auto got = ReadRecording(kGoldenPath);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->damage.empty()) << absl::StrJoin(got->damage.messages, "\n");
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
  ExpectSameContent(*got, testing::GoldenRecording());
}

TEST(RecordingGoldenTest, WriterStillProducesTheSameBytes) {
  const std::string path = TempPath("golden.rpf");
  ASSERT_TRUE(testing::WriteGoldenRecording(testing::GoldenRecording(), path).ok());
  const std::string fresh = ReadFile(path);
  const std::string golden = ReadFile(kGoldenPath);
  ASSERT_FALSE(golden.empty());
  EXPECT_TRUE(fresh == golden)
      << "the writer's output changed; if the format changed on purpose, bump kFormatVersion, "
         "keep reading the old version, and add testdata/recording_v<N>_small.rpf";
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ringprof::formats
