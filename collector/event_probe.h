// Whether an event can be counted on this machine, decided the only
// truthful way: by opening it.
//
// CPUID, libpfm4 and the generic tables all say what a CPU could count;
// only perf_event_open says what this kernel lets us count here. A VM may
// hide the PMU entirely (every hardware event fails with ENOENT), a PMU may
// lack a generic cache event, and a privilege setting may forbid kernel
// counting. ProbeEvent opens the event exactly as the profiler would for
// counting (pid -1 on CPU 0 as root, else the calling process on any CPU),
// closes it, and turns the failure into one line that says why and names
// events that do work. ListEvents does the same for every event it lists,
// so `ringprof events` never claims more than an open would give.
#ifndef RINGPROF_COLLECTOR_EVENT_PROBE_H_
#define RINGPROF_COLLECTOR_EVENT_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collector/event_spec.h"

namespace ringprof::collector {

// OK when `spec` opens as a counting event. Unsupported events (ENOENT,
// EOPNOTSUPP, ENODEV, or EINVAL for a hardware event) give Unimplemented:
// "event 'cycles' is not supported on this machine (no hardware PMU is
// available to this kernel); events that work here include: ...". Other
// failures keep their errno (PermissionDenied for EACCES/EPERM, ...).
absl::Status ProbeEvent(const EventSpec& spec);

struct EventAvailability {
  std::string name;         // parses with ParseEventSpec to what was probed
  std::string group;        // "hardware", "cache", "software" or "libpfm4"
  std::string source;       // EventSpec::source, e.g. "libpfm4 icl"
  std::string pmu;          // libpfm4 PMU name, empty for the other groups
  std::string description;  // one line (libpfm4's text for its events)
  // In the compact libpfm4 listing, the event's unit masks (the listed name
  // carries the default or the first one).
  std::vector<std::string> umasks;
  bool supported = false;
  // Supported in user mode only (:u): the caller may not count kernel mode.
  bool user_only = false;
  std::string reason;  // why it does not open, when !supported
};

struct ListEventsOptions {
  // List every event:umask combination of the libpfm4 PMUs, and libpfm4's
  // own tables of perf's generic events ("perf", "perf_raw"), instead of
  // one line per CPU PMU event.
  bool all_pmu_events = false;
  // When set, only this group ("hardware", "cache", "software") or this
  // libpfm4 PMU ("icl", "perf", ...).
  std::string only;
};

// Every generic hardware, cache and software event, then the libpfm4 PMU
// events, each opened once to decide `supported`.
absl::StatusOr<std::vector<EventAvailability>> ListEvents(const ListEventsOptions& options);
absl::StatusOr<std::vector<EventAvailability>> ListEvents(bool all_pmu_events);

// What libpfm4 and the kernel each say about PMUs, for the listing header.
struct PmuSummary {
  struct Pmu {
    std::string name;
    std::string description;
    bool os_generic = false;  // libpfm4's table of perf's generic events
  };
  std::vector<Pmu> libpfm4_present;  // empty when libpfm4 failed
  std::string libpfm4_error;         // why libpfm4 is unavailable, if it is
  bool libpfm4_forced = false;       // LIBPFM_FORCE_PMU chose the PMU
  // The kernel's core PMU in /sys/bus/event_source/devices (the one of type
  // PERF_TYPE_RAW: "cpu", "cpu_core", "armv8_pmuv3_0", ...); empty if none.
  std::string kernel_core_pmu;
  // Sentences to show the user, such as "libpfm4 reports PMU icl from
  // CPUID, but the kernel exposes no hardware PMU: hardware events cannot
  // be counted here".
  std::vector<std::string> notes;
};
PmuSummary DescribePmus();

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_EVENT_PROBE_H_
