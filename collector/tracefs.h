// Where the kernel's tracing file system is, and the ids of its
// tracepoints (for perf_event_open with PERF_TYPE_TRACEPOINT).
#ifndef RINGPROF_COLLECTOR_TRACEFS_H_
#define RINGPROF_COLLECTOR_TRACEFS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ringprof::collector {

// The tracefs directory that has events/: /sys/kernel/tracing, then
// /sys/kernel/debug/tracing. When neither is mounted, tracefs is mounted
// at /sys/kernel/tracing (as perf does; needs root). NotFound when there
// is none and it cannot be mounted, with what to do.
absl::StatusOr<std::string> TracefsDir();

// The id of tracepoint `system`:`name` (events/SYSTEM/NAME/id). NotFound
// when the kernel has no such tracepoint.
absl::StatusOr<uint64_t> TracepointId(absl::string_view system, absl::string_view name);
// The same under a given tracefs directory.
absl::StatusOr<uint64_t> TracepointIdIn(const std::string& tracefs, absl::string_view system,
                                        absl::string_view name);

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_TRACEFS_H_
