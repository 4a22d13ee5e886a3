// Parsing of the perf side-band records the process-map tracker needs
// (MMAP2 with build-id, COMM, FORK, EXIT) plus the loss records (LOST,
// THROTTLE). Pure functions over bytes: a malformed record yields an error
// with its reason, never an out-of-bounds read.
//
// The events are opened with sample_id_all and sample_type TID|TIME, so
// every record ends with {u32 pid, u32 tid, u64 time}.
#ifndef RINGPROF_COLLECTOR_SIDEBAND_H_
#define RINGPROF_COLLECTOR_SIDEBAND_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringprof::collector {

struct SidebandRecord {
  enum class Kind { kMmap2, kComm, kFork, kExit, kLost, kThrottle, kUnthrottle, kOther };
  Kind kind = Kind::kOther;
  uint32_t type = 0;  // perf record type
  uint64_t time_ns = 0;
  uint32_t pid = 0;
  uint32_t tid = 0;
  // kFork / kExit
  uint32_t ppid = 0;
  uint32_t ptid = 0;
  // kComm
  bool exec = false;
  std::string comm;
  // kMmap2
  uint64_t addr = 0;
  uint64_t len = 0;
  uint64_t pgoff = 0;
  uint32_t prot = 0;
  std::string build_id;  // raw, empty when the kernel did not report one
  std::string filename;
  // kLost
  uint64_t lost = 0;
};

absl::StatusOr<SidebandRecord> ParseSidebandRecord(absl::Span<const uint8_t> bytes);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_SIDEBAND_H_
