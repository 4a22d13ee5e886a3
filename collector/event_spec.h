// Parsing of event names given with -e into perf_event_attr settings.
// Knows perf's generic hardware and software names and the :u/:k
// modifiers. Whether an event is supported is decided by opening it, never
// by this table (a hypervisor may hide the PMU).
#ifndef RINGPROF_COLLECTOR_EVENT_SPEC_H_
#define RINGPROF_COLLECTOR_EVENT_SPEC_H_

#include <linux/perf_event.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ringprof::collector {

struct EventSpec {
  std::string name;  // canonical name, with modifiers as written
  uint32_t type = PERF_TYPE_SOFTWARE;
  uint64_t config = PERF_COUNT_SW_CPU_CLOCK;
  bool exclude_user = false;
  bool exclude_kernel = false;
  std::string unit;  // unit of the event's count: "nanoseconds" or "count"
};

// Parses "cpu-clock", "page-faults:u", "cycles:k", ...
// Unknown names give InvalidArgument naming the closest known names.
absl::StatusOr<EventSpec> ParseEventSpec(std::string_view text);

// Every generic name this table knows (canonical names, no aliases).
std::vector<std::string> KnownEventNames();

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_EVENT_SPEC_H_
