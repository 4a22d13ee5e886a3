// Owner of the sample BPF program: the skeleton (programs and maps), the
// perf-event links it is attached through, and the ring-buffer reader.
// Destroying it detaches everything; a SIGKILLed profiler leaves nothing
// behind because all of it is held by file descriptors.
#ifndef RINGPROF_COLLECTOR_BPF_SAMPLER_H_
#define RINGPROF_COLLECTOR_BPF_SAMPLER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "collector/bpf/sample_record.h"
#include "collector/unwind_tables.h"

struct sampler;  // generated skeleton
struct bpf_link;
struct ring_buffer;

namespace ringprof::collector {

struct BpfSamplerOptions {
  uint32_t ring_bytes = 16u << 20;   // BPF ring buffer size, power of two
  uint64_t wakeup_bytes = 1u << 20;  // wake the reader only past this backlog
  // Counters read at each sample; their perf events are installed with
  // SetCounter() after Load().
  uint32_t n_counters = 0;
  uint32_t n_cpus = 1;  // possible CPUs (index space of bpf_get_smp_processor_id)
  // Table-based user unwinding: the program walks user stacks with the
  // rows loaded through the UnwindMapWriter interface instead of
  // bpf_get_stack; unwind_rows sizes the row array (the memory cap).
  bool use_tables = false;
  uint32_t unwind_rows = 0;
  // Fill the program's self-timing histogram (see sample_record.h).
  bool self_timing = false;
  // Load on_exec, the execve-entry stack program (AttachExecStacks); with
  // exec_filter, it only takes the stacks of tasks under the roots given
  // there (a command, -p), else of every task (-a).
  bool exec_stacks = false;
  bool exec_filter = false;
  // A test and benchmark aid: when set, Load() asks the kernel's verifier
  // for its statistics on the sample program (log level 4) and stores their
  // lines here ("processed N insns ... peak_states N ...", "verification
  // time N usec", "stack depth ..."). What the verifier spends is system
  // CPU that every recording pays at start-up.
  std::string* verifier_stats = nullptr;
};

struct BpfSamplerStats {
  uint64_t samples = 0;
  uint64_t lost = 0;
  uint64_t user_failed = 0;
  uint64_t counter_read_failed = 0;
  uint64_t unwind_table_frames = 0;
  uint64_t unwind_fp_frames = 0;
  uint64_t row_cache_hits = 0;
  uint64_t deferred = 0;       // walks deferred to user space with a stack copy
  uint64_t deferred_lost = 0;  // ... whose copy did not fit in the ring
};

class BpfSampler : public UnwindMapWriter {
 public:
  using RecordFn = std::function<void(absl::Span<const uint8_t>)>;

  // Opens and loads the program. Permission problems come back as
  // PermissionDenied naming the capabilities needed.
  static absl::StatusOr<std::unique_ptr<BpfSampler>> Load(const BpfSamplerOptions& options,
                                                          RecordFn on_record);
  ~BpfSampler() override;
  BpfSampler(const BpfSampler&) = delete;
  BpfSampler& operator=(const BpfSampler&) = delete;

  // Attaches the sample program to a perf event fd; its samples carry
  // `event_index` (the attach cookie). The event is left disabled if it was
  // created disabled (enable_on_exec stays armed).
  absl::Status Attach(int perf_fd, bool keep_disabled, uint32_t event_index);
  // Installs the perf event of counter `counter` on `cpu` (an fd opened
  // with pid -1 on that CPU, not inherited).
  absl::Status SetCounter(uint32_t counter, uint32_t cpu, int perf_fd);
  // Starts per-task counter accounting at context switches (only needed
  // when n_counters > 0).
  absl::Status AttachSwitchAccounting();
  // Starts the execve-entry stacks (RP_SAMPLE_EXEC_STACK records) at the
  // syscalls:sys_enter_execve tracepoint (not execveat), for the
  // tasks under `roots` (their tgids; ignored without exec_filter).
  absl::Status AttachExecStacks(const std::vector<uint32_t>& roots);
  // Detaches from every event: no new samples after this returns.
  void DetachAll();
  // Waits up to timeout_ms for a wakeup, then consumes everything queued.
  absl::Status Poll(int timeout_ms);
  // An fd that polls readable when the ring has woken its reader.
  int epoll_fd() const;
  // Consumes everything queued without waiting.
  absl::Status Drain();
  absl::StatusOr<BpfSamplerStats> ReadStats() const;
  // The self-timing map summed over CPUs (RP_TIMING_KEYS values; layout in
  // sample_record.h).
  absl::StatusOr<std::vector<uint64_t>> ReadTiming() const;

  // UnwindMapWriter: the table unwinder's maps (use_tables only).
  uint32_t row_capacity() const override { return options_.use_tables ? options_.unwind_rows : 0; }
  // Maps just the pages the rows go to, copies them and unmaps: mapping the
  // whole array would make all of it (--unwind-mem, 32 MiB by default)
  // resident in this process, since the kernel populates a BPF array's
  // mapping at once.
  absl::Status WriteRows(uint32_t first, absl::Span<const rp_unwind_row> rows) override;
  absl::Status WriteBin(uint32_t slot, const rp_unwind_bin& bin) override;
  absl::Status WriteProcMaps(uint32_t tgid, const rp_proc_maps& maps) override;
  absl::Status DeleteProcMaps(uint32_t tgid) override;

 private:
  BpfSampler() = default;
  static int OnRingRecord(void* ctx, void* data, size_t size);
  struct sampler* skel_ = nullptr;
  struct ring_buffer* ring_ = nullptr;
  std::vector<struct bpf_link*> links_;
  BpfSamplerOptions options_;
  RecordFn on_record_;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_BPF_SAMPLER_H_
