// The record pipeline.
//
//   1. Open the output file first (an unwritable path fails before anything
//      starts), load the BPF sample program.
//   2. Set up the target: fork the command parked on a gate, or list the
//      threads of -p, or nothing for -a.
//   3. Per CPU (and per thread for -p), open
//        - a dummy side-band event (mmap2 + build-id, comm/exec, fork/exit),
//          whose mmap'ed ring is the CPU's side-band ring, and
//        - the sampling event, with its output redirected to that ring (so
//          THROTTLE and LOST records land there) and the BPF program
//          attached. Per-task events use inherit=1, so children and threads
//          are followed. For a command both start at exec (enable_on_exec).
//      For -p/-a the existing mappings are synthesized from /proc after the
//      side-band events are open, so nothing falls between the two.
//   4. Loop every 100 ms: drain the BPF ring into pending samples, then
//      drain the side-band rings into the process-map tracker (in that order,
//      so every mapping older than a pending sample is known), turn user IPs
//      into (mapping, file offset), and write chunks about once a second
//      (mappings, tasks and the kernel symbols of their kernel frames before
//      the samples that use them; collector/kernel_symbols.h).
//   5. Stop on: the command exiting, the -p process exiting, --duration,
//      SIGINT/SIGTERM, or an I/O error. Detach, drain everything left, write
//      the loss statistics and the END chunk.
#ifndef RINGPROF_COLLECTOR_RECORDER_H_
#define RINGPROF_COLLECTOR_RECORDER_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "collector/unwind_tables.h"
#include "formats/recording.h"

namespace ringprof::collector {

struct RecordOptions {
  // -e: the sampling events (at least one). Each sample says which one
  // fired it (Sample::event_index), and every report has a column per event.
  std::vector<std::string> events = {"cpu-clock"};
  // --counters: read at each sample; each sample is charged the counts its
  // task accumulated since its previous sample.
  std::vector<std::string> counters;
  std::optional<uint64_t> frequency;    // -F
  std::optional<uint64_t> period;       // -c
  std::vector<pid_t> pids;              // -p
  bool system_wide = false;             // -a
  std::vector<std::string> command;     // -- CMD ARGS
  std::string output = "ringprof.rpf";  // "-": standard output
  double duration_s = 0;                // 0: until the target exits or a signal; finite, >= 0
  // --ring-mib: the BPF ring buffer; 0 sizes it for the expected sample
  // rate (RingBytesFor). Its pages are resident twice over in this process
  // (the kernel maps a BPF ring's data twice), so it is not made larger
  // than the rate needs.
  uint32_t ring_mib = 0;
  // --call-graph: how user stacks are walked (unwind_tables.h).
  CallGraphMode call_graph = CallGraphMode::kAuto;
  // --call-graph dwarf,SIZE: bytes of user stack copied per sample (a
  // multiple of 8, at most kMaxDwarfStackBytes).
  uint32_t dwarf_stack_bytes = 16384;
  // --unwind-mem: the cap on unwind table rows loaded into BPF maps.
  uint64_t unwind_mem_bytes = 32ull << 20;
  // Benchmark aid: the BPF program times itself (RecordSummary::bpf_timing).
  bool bpf_self_timing = false;
  bool quiet = false;
  // Set from a signal handler to stop recording.
  const std::atomic<bool>* stop = nullptr;
};

struct CounterTotal {
  std::string name;
  uint64_t total = 0;            // scaled, summed over the recorded samples
  uint64_t time_enabled_ns = 0;  // summed deltas
  uint64_t time_running_ns = 0;
  bool multiplexed() const { return time_running_ns < time_enabled_ns; }
};

// The largest user stack copy the kernel takes per sample (perf's limit:
// the sample record's size field is 16 bits).
inline constexpr uint32_t kMaxDwarfStackBytes = 65528;

struct RecordSummary {
  uint64_t samples = 0;
  uint64_t mappings = 0;
  double seconds = 0;
  formats::LossStats loss;
  uint64_t bytes = 0;
  // For a command: its wait status and CPU time.
  bool command_ran = false;
  int command_status = 0;
  double command_cpu_seconds = 0;
  bool command_terminated = false;  // ringprof ended it (--duration or a signal)
  uint64_t command_samples = 0;     // samples whose pid is the command or a descendant
  // -p: every process exited; when, in seconds after sampling started.
  bool processes_exited = false;
  double processes_exited_after_s = 0;
  // BPF ring records that did not decode, by collector::RingRecordStatus
  // (index 0, kSample, unused).
  std::vector<uint64_t> bad_ring_records;
  uint64_t requested_hz = 0;
  std::vector<CounterTotal> counters;
  bool counters_grouped = true;  // false: the PMU could not hold them as one group
  CallGraphMode call_graph = CallGraphMode::kAuto;
  UnwindTableStats unwind;           // table-based modes
  uint64_t unwind_table_frames = 0;  // user frames the BPF unwinder took from a table
  uint64_t unwind_fp_frames = 0;     // ... and from frame pointers
  uint64_t row_cache_hits = 0;       // table frames whose row came from the BPF row cache
  // With bpf_self_timing: the sample program's run-time histograms and
  // totals (RP_TIMING_KEYS values, laid out as in sample_record.h).
  std::vector<uint64_t> bpf_timing;
};

absl::StatusOr<RecordSummary> Record(const RecordOptions& options);

// The ring size for `cpus` CPUs sampling `events` events at `hz` each:
// room for a quarter second of samples of 1 KiB (a 64-frame stack and
// counters; the largest sample is 2.2 KiB), as a power of two from 1 MiB
// to 256 MiB. The reader is woken when a quarter is full and drains every
// 100 ms besides.
uint64_t RingBytesFor(uint32_t cpus, size_t events, uint64_t hz);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_RECORDER_H_
