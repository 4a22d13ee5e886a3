// The in-memory model of a ringprof recording, and its on-disk reader and
// writer. The file layout is specified in docs/FORMAT.md.
//
// A recording holds everything offline symbolization needs: the sampled
// events, every executable mapping seen (with its build-id), task lifetime
// events (fork/comm/exec/exit), a kallsyms snapshot, the samples (kernel IPs
// and user frames as (mapping id, file offset)), and loss statistics.
//
// The file is a header followed by self-contained chunks, each with a CRC32.
// The writer appends (and fflush()es) a chunk per Write* call, so a collector killed mid-run
// leaves a file that is readable up to its last complete chunk. The reader
// never fails on damage after the header: it keeps what is readable and
// describes what is not in Recording::damage.
//
// Checksums catch changed bytes but not whole chunks that were lost, copied
// twice or reordered (a bad copy, a careless `cat`, a broken transfer). So
// since version 2 every chunk carries a sequence number (0, 1, 2, ... in
// write order) and the END chunk says how many chunks of each type came
// before it: the reader names a gap, a repeat (which it does not apply, so
// nothing is counted twice), chunks out of order, and the chunk types that
// are missing. A reader that finds no STATS or META chunk says so
// (Recording::stats_present, meta_present), so that a report can print
// "unknown" rather than a 0 that nobody measured.
//
// Recordings embed /proc/kallsyms as root sees it (the kernel's KASLR
// offset), so the writer creates them with mode 0600.
#ifndef RINGPROF_FORMATS_RECORDING_H_
#define RINGPROF_FORMATS_RECORDING_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringprof::formats {

// The version the writer writes. The reader reads versions 1 and 2:
// version 2 added chunk sequence numbers (a 24-byte chunk header), per-type
// chunk counts in END, and STATS as (field id, value) pairs.
inline constexpr uint32_t kFormatVersion = 2;

// One perf event the recording sampled or counted.
struct EventDesc {
  std::string name;     // as the user wrote it, e.g. "cpu-clock"
  uint32_t type = 0;    // perf_event_attr.type
  uint64_t config = 0;  // perf_event_attr.config
  bool freq = false;    // true: sample_freq drives sampling; false: period
  uint64_t sample_freq_or_period = 0;
  std::string unit;  // "nanoseconds", "count", ...
  bool operator==(const EventDesc&) const = default;
};

// How long a counter was enabled and how long it actually ran on the PMU.
// time_running < time_enabled means the kernel multiplexed it; the
// collector has already scaled the counter's deltas by enabled/running, and
// every report shows the ratio so the reader knows the values are estimates.
struct CounterScaling {
  uint64_t time_enabled_ns = 0;
  uint64_t time_running_ns = 0;
  bool operator==(const CounterScaling&) const = default;
};

// An executable mapping of a profiled process, as the process-map tracker
// saw it. Ids are unique within a recording and never 0.
struct Mapping {
  uint32_t id = 0;
  uint32_t pid = 0;
  uint64_t time_ns = 0;  // when it was mapped (CLOCK_MONOTONIC)
  uint64_t start = 0;    // virtual address range [start, end)
  uint64_t end = 0;
  uint64_t pgoff = 0;  // file offset of `start`
  uint32_t prot = 0;
  std::string build_id;  // raw bytes (usually 20), may be empty
  std::string path;
  bool operator==(const Mapping&) const = default;
};

enum class TaskEventKind : uint8_t { kFork = 1, kComm = 2, kExec = 3, kExit = 4 };

struct TaskEvent {
  TaskEventKind kind = TaskEventKind::kComm;
  uint64_t time_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t ppid = 0;  // kFork only
  uint32_t ptid = 0;  // kFork only
  std::string comm;   // kComm / kExec only
  bool operator==(const TaskEvent&) const = default;
};

// A user frame: file offset inside a mapping. mapping_id 0 means the address
// fell in no known executable mapping; `address` is then the raw virtual
// address.
struct UserFrame {
  uint32_t mapping_id = 0;
  uint64_t address = 0;
  bool operator==(const UserFrame&) const = default;
};

// Sample flags.
inline constexpr uint32_t kSampleKernelTruncated = 1u << 0;  // kernel stack hit the depth limit
inline constexpr uint32_t kSampleUserTruncated = 1u << 1;    // user stack hit the depth limit
inline constexpr uint32_t kSampleUserStackFailed = 1u << 2;  // user stack could not be read
inline constexpr uint32_t kSampleKernelStackFailed = 1u << 3;
inline constexpr uint32_t kSampleInKernel = 1u << 4;  // sample hit in kernel mode
// How the user stack was recovered: one bit per method used for some frame
// (several bits: "mixed"). None set: not recorded (older files).
inline constexpr uint32_t kSampleUnwoundSframe = 1u << 5;   // rows of a table from .sframe
inline constexpr uint32_t kSampleUnwoundEhFrame = 1u << 6;  // rows of a table from .eh_frame
inline constexpr uint32_t kSampleUnwoundFp = 1u << 7;       // frame pointers
inline constexpr uint32_t kSampleUnwoundDwarf = 1u << 8;    // copied stack + libunwind
inline constexpr uint32_t kSampleUnwoundMask = 0xfu << 5;
// Why the user stack ended (bits 9-11), for table and dwarf unwinding.
inline constexpr uint32_t kSampleStopShift = 9;
inline constexpr uint32_t kSampleStopMask = 7u << kSampleStopShift;
enum class UnwindStop : uint32_t {
  kUnknown = 0,    // not recorded (frame-pointer walk by the kernel, older files)
  kEnd = 1,        // the outermost frame was reached
  kMiss = 2,       // no unwind information and the frame-pointer guess failed
  kReadFault = 3,  // memory the rules pointed at was unreadable
  kDepth = 4,      // the depth limit: truncated
  kBadFrame = 5,   // the stack pointer did not move up: a bad rule or a loop
  kCopyLost = 6,   // a deferred walk whose stack copy was lost: the rest is unknown
};
inline UnwindStop SampleStop(uint32_t flags) {
  return static_cast<UnwindStop>((flags & kSampleStopMask) >> kSampleStopShift);
}

struct Sample {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint32_t cpu = 0;
  uint32_t flags = 0;
  uint32_t event_index = 0;            // index into Recording::events of the sampling event
  uint64_t period = 0;                 // event count this sample stands for (0 if unknown)
  std::vector<uint64_t> kernel_ips;    // leaf first
  std::vector<UserFrame> user_frames;  // leaf first
  // One value per Recording::counters entry: the counter's delta since the
  // previous sample on the same CPU or task. Empty when no counters.
  std::vector<uint64_t> counter_deltas;
  bool operator==(const Sample&) const = default;
};

// What the collector knows it lost. Every report prints these.
struct LossStats {
  uint64_t lost_samples = 0;          // BPF ring buffer full: samples dropped in the kernel
  uint64_t lost_perf_records = 0;     // PERF_RECORD_LOST from side-band rings
  uint64_t throttle_events = 0;       // PERF_RECORD_THROTTLE seen
  uint64_t kernel_truncated = 0;      // samples whose kernel stack was cut at the limit
  uint64_t user_truncated = 0;        // samples whose user stack was cut at the limit
  uint64_t user_stack_failed = 0;     // samples without a readable user stack
  uint64_t unmapped_user_frames = 0;  // user frames in no known mapping
  // Table-based unwinding (--call-graph auto/sframe/ehframe); 0 otherwise.
  uint64_t unwind_tables_loaded = 0;           // binary tables loaded into BPF maps
  uint64_t unwind_tables_evicted = 0;          // evicted to stay under --unwind-mem
  uint64_t unwind_rows_evicted = 0;            // rows of those tables
  uint64_t unwind_binaries_without_table = 0;  // no usable .sframe/.eh_frame
  uint64_t unwind_tables_too_big = 0;          // larger than --unwind-mem
  // BPF ring records that were short, of an unknown type or inconsistent,
  // and so dropped by the collector (version 2 files only).
  uint64_t bad_ring_records = 0;
  // Table walks that met code without a published table and were finished
  // in user space from a copy of the stack; and those whose copy was lost
  // (the ring was full), which end at UnwindStop::kCopyLost.
  uint64_t deferred_walks = 0;
  uint64_t deferred_copies_lost = 0;
  bool operator==(const LossStats&) const = default;
};

// Describes damage found while reading. Empty when the file is intact.
struct Damage {
  bool truncated = false;         // the file ended inside a chunk
  uint64_t bad_chunks = 0;        // chunks skipped for a bad checksum or layout
  uint64_t bytes_unreadable = 0;  // bytes in no good chunk: skipped, or after the last good chunk
  bool missing_end = false;       // no END chunk: the writer did not finish
  // Version 2 files: what the chunk sequence numbers and END's per-type
  // counts give away.
  uint64_t missing_chunks = 0;    // sequence numbers never seen (gaps)
  uint64_t duplicate_chunks = 0;  // repeated sequence numbers: those chunks were not applied
  // Chunks whose number is lower than that of a chunk before them in the
  // file, or higher than END's: applied, but not where the writer put them.
  uint64_t out_of_order_chunks = 0;
  // Chunk type name ("SAMPLES") -> how many chunks of that type END counts
  // that were not read (lost, or skipped as bad).
  std::map<std::string, uint64_t> missing_by_type;
  std::vector<std::string> messages;  // one line per problem, with offsets
  bool empty() const {
    return !truncated && bad_chunks == 0 && !missing_end && missing_chunks == 0 &&
           duplicate_chunks == 0 && out_of_order_chunks == 0 && missing_by_type.empty() &&
           messages.empty();
  }
};

// An ELF image that has no file to find later, stored whole: the vDSO,
// named as its mappings are ("[vdso]"). Mappings with that path are
// symbolized against it.
struct Image {
  std::string name;
  std::string bytes;
  bool operator==(const Image&) const = default;
};

// A loaded kernel module as /proc/modules showed it to the recorder (root
// sees real load addresses).
struct KernelModule {
  std::string name;
  uint64_t size = 0;     // bytes, as /proc/modules gives it
  uint64_t address = 0;  // load address of the module's core text
  std::string build_id;  // raw NT_GNU_BUILD_ID bytes; empty when unknown
  bool operator==(const KernelModule&) const = default;
};

// Which kernel the recording was taken on (KERNEL chunk).
struct KernelInfo {
  std::string build_id;  // raw NT_GNU_BUILD_ID of the running kernel; empty: unknown
  // Whether `modules` is the module list (/proc/modules was read; a kernel
  // without module support has none). false: not known.
  bool modules_known = false;
  std::vector<KernelModule> modules;
  bool operator==(const KernelInfo&) const = default;
};

// META key and value saying that the KALLSYMS chunks hold only the kernel
// symbols of the recorded kernel frames (each with the symbol after it),
// not the whole /proc/kallsyms: a kernel address in none of them was not
// stored, which does not mean the kernel had no symbol there.
inline constexpr char kKallsymsMetaKey[] = "kallsyms";
inline constexpr char kKallsymsSubset[] = "subset";

struct Recording {
  uint32_t version = kFormatVersion;
  std::map<std::string, std::string> meta;  // "command", "hostname", "kernel", "target", ...
  std::vector<EventDesc> events;            // sampling events
  std::vector<EventDesc> counters;          // counters read at each sample (may be empty)
  // Index-aligned with `counters`; empty when the recording has no scaling
  // summary.
  std::vector<CounterScaling> counter_scaling;
  uint64_t start_time_ns = 0;  // CLOCK_MONOTONIC
  uint64_t end_time_ns = 0;
  std::vector<Mapping> mappings;
  std::vector<TaskEvent> tasks;
  std::vector<Sample> samples;
  // /proc/kallsyms text as captured (may be empty): the KALLSYMS pieces
  // concatenated. With META kallsyms=subset (KallsymsIsSubset) it holds just
  // the lines of the symbols that recorded kernel frames use, each followed
  // by the next symbol's line, in no order and possibly repeated.
  std::string kallsyms;
  std::optional<KernelInfo> kernel;  // from the KERNEL chunk; absent in older files
  std::vector<Image> images;
  LossStats loss;
  // Whether the file held a readable META chunk (events, counters, start
  // time) and a STATS chunk (`loss`). The reader sets both; without them
  // the fields above are defaults, not measurements, and reports say
  // "unknown". A Recording built in memory is taken as complete.
  bool meta_present = true;
  bool stats_present = true;
  Damage damage;  // filled by the reader only
};

// True when the recording's kallsyms text is a subset (see kKallsymsSubset).
inline bool KallsymsIsSubset(const Recording& r) {
  auto it = r.meta.find(kKallsymsMetaKey);
  return it != r.meta.end() && it->second == kKallsymsSubset;
}

// Appends chunks to a file. Not thread-safe. All methods report I/O
// failures (ENOSPC included) with the path in the message; after a failure
// what was already flushed stays readable.
class RecordingWriter {
 public:
  // Creates (truncates) `path` with mode 0600 and writes the file header. An
  // existing regular file is made 0600 too (the recording embeds kallsyms
  // with the kernel's KASLR offset); devices and FIFOs keep their mode.
  static absl::StatusOr<std::unique_ptr<RecordingWriter>> Create(const std::string& path);
  // Writes to an already-open file descriptor, e.g. STDOUT_FILENO for
  // `-o -`: writes the file header at once, never seeks (pipes work), and
  // flushes each chunk. The fd is duplicated: the caller keeps `fd` open
  // and owns it. `display_name` ("standard output") names it in errors.
  static absl::StatusOr<std::unique_ptr<RecordingWriter>> CreateForFd(int fd,
                                                                      std::string display_name);
  ~RecordingWriter();
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  // Each Write* call writes one chunk immediately.
  absl::Status WriteMeta(const std::map<std::string, std::string>& meta,
                         absl::Span<const EventDesc> events, absl::Span<const EventDesc> counters,
                         uint64_t start_time_ns);
  absl::Status WriteMappings(absl::Span<const Mapping> mappings);
  absl::Status WriteTasks(absl::Span<const TaskEvent> tasks);
  absl::Status WriteSamples(absl::Span<const Sample> samples);
  absl::Status WriteKallsyms(std::string_view text);  // stored compressed
  // How long each counter was enabled and running over the recording
  // (index-aligned with the META chunk's counters).
  absl::Status WriteCounterScaling(absl::Span<const CounterScaling> scaling);
  // An image mappings named `name` are symbolized against (see Image).
  absl::Status WriteImage(std::string_view name, std::string_view bytes);
  // Which kernel this is: its build-id and module list (a KERNEL chunk).
  absl::Status WriteKernel(const KernelInfo& kernel);
  // Writes a STATS chunk. A collector may call it at each flush with
  // cumulative figures, so that a recorder killed before Finish still says
  // what it lost; readers keep the last one (highest sequence number).
  absl::Status WriteStats(const LossStats& loss);
  // Writes the final loss statistics (a STATS chunk) and the END chunk,
  // with the number of chunks of each type written before it, then closes.
  absl::Status Finish(const LossStats& loss, uint64_t end_time_ns);

  uint64_t bytes_written() const { return offset_; }

 private:
  RecordingWriter(std::FILE* f, std::string path) : file_(f), path_(std::move(path)) {}
  static absl::StatusOr<std::unique_ptr<RecordingWriter>> StartFile(std::FILE* f, std::string name);
  absl::Status WriteChunk(uint32_t type, std::string_view payload);
  // Fails once the writer is finished or an earlier write failed: a chunk
  // written after a partial one would sit behind unreadable bytes.
  absl::Status CheckWritable() const;
  std::FILE* file_;
  std::string path_;
  uint64_t offset_ = 0;
  absl::Status failure_;  // first I/O error; later calls return it
  bool finished_ = false;
  uint32_t next_seq_ = 0;                        // sequence number of the next chunk
  std::map<uint16_t, uint64_t> chunks_by_type_;  // written so far, for END
  std::string scratch_;  // encoding buffer, reused across calls (up to ~4 MiB)
};

// Payloads above this size are rejected by the reader as impossible; the
// writer never produces them (sample, mapping and task batches are split at
// kTargetChunkPayload, kallsyms text is split into several chunks).
inline constexpr uint32_t kMaxChunkPayload = 256u << 20;
inline constexpr uint32_t kTargetChunkPayload = 4u << 20;

// Reads a whole recording ("-": all of standard input). Fails only when the
// file cannot be opened or read or its header is not a ringprof recording
// of a supported version; damage after the header is described in
// Recording::damage.
absl::StatusOr<Recording> ReadRecording(const std::string& path);
// Same, from bytes in memory (used by tests and the fuzz target).
absl::StatusOr<Recording> ParseRecording(std::string_view bytes);

}  // namespace ringprof::formats

#endif  // RINGPROF_FORMATS_RECORDING_H_
