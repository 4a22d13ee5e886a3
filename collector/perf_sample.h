// PERF_RECORD_SAMPLE as `--call-graph dwarf` opens its sampling events:
// sample_type IP | TID | TIME | PERIOD | CALLCHAIN | REGS_USER | STACK_USER,
// kernel call chain only (exclude_callchain_user), the user registers of
// unwind::kDwarfRegsMask and a copy of the user stack. CPU is not sampled:
// each CPU has its own ring, and leaving it out keeps the sample_id trailer
// of the event's other records the same as the side-band events' (TID|TIME).
//
// A pure function over bytes: a malformed record is an error, never an
// out-of-bounds read.
#ifndef RINGPROF_COLLECTOR_PERF_SAMPLE_H_
#define RINGPROF_COLLECTOR_PERF_SAMPLE_H_

#include <linux/perf_event.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringprof::collector {

inline constexpr uint64_t kDwarfSampleType = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                                             PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN |
                                             PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;

struct PerfSample {
  uint64_t ip = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  uint64_t time_ns = 0;
  uint64_t period = 0;
  std::vector<uint64_t> kernel_ips;  // leaf first, context markers removed
  uint64_t regs_abi = 0;             // PERF_SAMPLE_REGS_ABI_*; 0: no user registers
  std::vector<uint64_t> regs;        // one per set bit of the mask, in bit order
  absl::Span<const uint8_t> stack;   // the valid part of the copy (dyn_size bytes)
};

// `record` is one whole record, header included; `regs_mask` the event's
// sample_regs_user. The stack span points into `record`.
absl::StatusOr<PerfSample> ParsePerfSample(absl::Span<const uint8_t> record, uint64_t regs_mask);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_PERF_SAMPLE_H_
