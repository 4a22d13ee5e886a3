// The content of the golden recordings in tests/formats/testdata/, and how
// they were written.
//
// recording_v1_small.rpf was written by the version 1 writer from
// GoldenRecording() and is kept as is: today's reader must still read it.
// The recording_v2_*.rpf files are today's writer's output, named after the
// scenario they cover (GoldenV2Files below); recording_golden_gen writes
// them, and recording_test checks that the checked-in bytes still parse as
// expected and that the writer still produces the same bytes, so any change
// to the format shows up as a test failure (bump kFormatVersion and add new
// golden files then, keeping the old ones).
#ifndef RINGPROF_TESTS_FORMATS_RECORDING_GOLDEN_H_
#define RINGPROF_TESTS_FORMATS_RECORDING_GOLDEN_H_

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "formats/recording.h"
#include "tests/formats/recording_edit.h"

namespace ringprof::formats::testing {

inline Recording GoldenRecording() {
  Recording r;
  r.meta = {{"command", "ringprof record -e cpu-clock -F 999 -- ./spin"},
            {"hostname", "golden-host"},
            {"kernel", "6.18.0"}};
  r.events = {{.name = "cpu-clock",
               .type = 1,
               .config = 0,
               .freq = true,
               .sample_freq_or_period = 999,
               .unit = "nanoseconds"}};
  r.counters = {{.name = "page-faults",
                 .type = 1,
                 .config = 2,
                 .freq = false,
                 .sample_freq_or_period = 0,
                 .unit = "count"}};
  r.start_time_ns = 1000000000;
  r.end_time_ns = 1005000000;
  r.mappings = {
      {.id = 1,
       .pid = 4242,
       .time_ns = 1000000100,
       .start = 0x555555554000,
       .end = 0x555555556000,
       .pgoff = 0x1000,
       .prot = 5,
       .build_id = std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
                               "\x11\x12\x13\x14",
                               20),
       .path = "/usr/bin/spin"},
      {.id = 2,
       .pid = 4242,
       .time_ns = 1000000200,
       .start = 0x7ffff7dd0000,
       .end = 0x7ffff7f50000,
       .pgoff = 0x26000,
       .prot = 5,
       .build_id = "",
       .path = "/usr/lib/x86_64-linux-gnu/libc.so.6"},
  };
  r.tasks = {
      {.kind = TaskEventKind::kExec,
       .time_ns = 1000000050,
       .pid = 4242,
       .tid = 4242,
       .ppid = 0,
       .ptid = 0,
       .comm = "spin"},
      {.kind = TaskEventKind::kFork,
       .time_ns = 1000000300,
       .pid = 4242,
       .tid = 4243,
       .ppid = 4242,
       .ptid = 4242,
       .comm = ""},
      {.kind = TaskEventKind::kComm,
       .time_ns = 1000000400,
       .pid = 4242,
       .tid = 4243,
       .ppid = 0,
       .ptid = 0,
       .comm = "spin-worker"},
      {.kind = TaskEventKind::kExit,
       .time_ns = 1004000000,
       .pid = 4242,
       .tid = 4243,
       .ppid = 0,
       .ptid = 0,
       .comm = ""},
  };
  r.samples = {
      {.time_ns = 1001001001,
       .pid = 4242,
       .tid = 4242,
       .cpu = 0,
       .flags = 0,
       .event_index = 0,
       .period = 1001001,
       .kernel_ips = {},
       .user_frames = {{1, 0x1130}, {1, 0x1180}, {2, 0x29d90}, {2, 0x29e40}},
       .counter_deltas = {3}},
      {.time_ns = 1002002002,
       .pid = 4242,
       .tid = 4243,
       .cpu = 1,
       .flags = kSampleInKernel | kSampleUserTruncated,
       .event_index = 0,
       .period = 1001001,
       .kernel_ips = {0xffffffff81a0c3d2, 0xffffffff81a0b100, 0xffffffff81000120},
       .user_frames = {{0, 0x7ffff7ff0123}, {1, 0x1150}},
       .counter_deltas = {0}},
  };
  r.kallsyms =
      "ffffffff81000000 T _stext\n"
      "ffffffff81000100 T do_syscall_64\n"
      "ffffffff81a0b000 T schedule\n"
      "ffffffff81a0c000 t __schedule\n";
  r.loss = {.lost_samples = 1,
            .lost_perf_records = 2,
            .throttle_events = 3,
            .kernel_truncated = 4,
            .user_truncated = 5,
            .user_stack_failed = 6,
            .unmapped_user_frames = 7};
  return r;
}

// Writes `r` chunk by chunk in the order a collector does.
inline absl::Status WriteGoldenRecording(const Recording& r, const std::string& path) {
  auto writer = RecordingWriter::Create(path);
  if (!writer.ok()) return writer.status();
  RecordingWriter& w = **writer;
  absl::Status s = w.WriteMeta(r.meta, r.events, r.counters, r.start_time_ns);
  if (s.ok()) s = w.WriteKallsyms(r.kallsyms);
  if (s.ok()) s = w.WriteMappings(r.mappings);
  if (s.ok()) s = w.WriteTasks(r.tasks);
  if (s.ok()) s = w.WriteSamples(r.samples);
  if (s.ok()) s = w.Finish(r.loss, r.end_time_ns);
  return s;
}

// The loss figures of the killed-recorder scenario: cumulative STATS written
// at two flushes, the second with bad ring records.
inline LossStats GoldenCumulativeLoss(int flush) {
  LossStats l;
  l.lost_samples = flush == 1 ? 1 : 3;
  l.lost_perf_records = flush == 1 ? 0 : 2;
  l.bad_ring_records = flush == 1 ? 0 : 4;
  return l;
}

// A recorder killed after its second flush: META, MAPPINGS, TASKS, then
// per flush a SAMPLES chunk and cumulative STATS; no END.
inline absl::Status WriteGoldenKilledRecording(const Recording& r, const std::string& path) {
  auto writer = RecordingWriter::Create(path);
  if (!writer.ok()) return writer.status();
  RecordingWriter& w = **writer;
  absl::Status s = w.WriteMeta(r.meta, r.events, r.counters, r.start_time_ns);
  if (s.ok()) s = w.WriteMappings(r.mappings);
  if (s.ok()) s = w.WriteTasks(r.tasks);
  if (s.ok()) s = w.WriteSamples(absl::MakeConstSpan(r.samples).subspan(0, 1));
  if (s.ok()) s = w.WriteStats(GoldenCumulativeLoss(1));
  if (s.ok()) s = w.WriteSamples(absl::MakeConstSpan(r.samples).subspan(1));
  if (s.ok()) s = w.WriteStats(GoldenCumulativeLoss(2));
  return s;  // no Finish: killed
}

inline std::string GoldenReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Chunk types, as docs/FORMAT.md numbers them.
inline constexpr uint16_t kGoldenMeta = 1, kGoldenTasks = 3, kGoldenSamples = 4, kGoldenStats = 6;

// File name -> bytes of every version 2 golden file, made with today's
// writer (scratch files go under `scratch_dir`). The damaged ones are made
// from recording_v2_small.rpf by moving whole chunks, recomputing nothing.
inline absl::StatusOr<std::map<std::string, std::string>> GoldenV2Files(
    const std::string& scratch_dir) {
  std::map<std::string, std::string> files;
  const std::string small_path = scratch_dir + "/golden_v2_small.rpf";
  const std::string killed_path = scratch_dir + "/golden_v2_killed.rpf";
  if (absl::Status s = WriteGoldenRecording(GoldenRecording(), small_path); !s.ok()) return s;
  if (absl::Status s = WriteGoldenKilledRecording(GoldenRecording(), killed_path); !s.ok())
    return s;
  const std::string small = GoldenReadFile(small_path);
  const std::vector<ChunkSpan> chunks = ChunksOf(small);
  const ChunkSpan* meta = NthChunk(chunks, kGoldenMeta, 0);
  const ChunkSpan* tasks = NthChunk(chunks, kGoldenTasks, 0);
  const ChunkSpan* samples = NthChunk(chunks, kGoldenSamples, 0);
  const ChunkSpan* stats = NthChunk(chunks, kGoldenStats, 0);
  if (!meta || !tasks || !samples || !stats) {
    return absl::InternalError("the golden recording lacks a META, TASKS, SAMPLES or STATS chunk");
  }
  files["recording_v2_small.rpf"] = small;
  files["recording_v2_samples_chunk_removed.rpf"] = WithoutChunk(small, *samples);
  files["recording_v2_meta_chunk_removed.rpf"] = WithoutChunk(small, *meta);
  files["recording_v2_stats_chunk_duplicated.rpf"] =
      WithCopyOfChunk(small, *stats, stats->offset + stats->size);
  files["recording_v2_tasks_and_samples_swapped.rpf"] = WithChunksSwapped(small, *tasks, *samples);
  files["recording_v2_killed_after_cumulative_stats.rpf"] = GoldenReadFile(killed_path);
  std::remove(small_path.c_str());
  std::remove(killed_path.c_str());
  return files;
}

}  // namespace ringprof::formats::testing

#endif  // RINGPROF_TESTS_FORMATS_RECORDING_GOLDEN_H_
