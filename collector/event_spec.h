// Parsing of event names given with -e / --counters into perf_event_attr
// settings.
//
// Resolution order, first match wins:
//   1. perf's generic names (cycles, instructions, cpu-clock, page-faults,
//      ...): PERF_TYPE_HARDWARE / PERF_TYPE_SOFTWARE;
//   2. perf's generic cache names "<cache>-<op>[-misses]" (LLC-load-misses,
//      L1-dcache-loads, dTLB-load-misses, ...): PERF_TYPE_HW_CACHE;
//   3. raw events "rNNNN" (hex config): PERF_TYPE_RAW;
//   4. anything else is handed to libpfm4 (MEM_LOAD_RETIRED.L3_MISS,
//      icl::MEM_LOAD_RETIRED:L3_MISS, ...), which knows the PMUs it detects
//      from CPUID and encodes for perf_events.
// A trailing perf-style modifier group (:u, :k, :uk, :h, :p, :pp, :ppp)
// works for every kind; libpfm4's own modifier syntax (:u=1, :c=2, ...) is
// passed through to libpfm4.
//
// Whether an event is supported is decided by opening it (event_probe.h),
// never by these tables: a hypervisor may hide the PMU even though CPUID
// names it, and the kernel may lack an event libpfm4 knows.
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
  std::string name;  // as written, with modifiers
  uint32_t type = PERF_TYPE_SOFTWARE;
  uint64_t config = PERF_COUNT_SW_CPU_CLOCK;
  bool exclude_user = false;
  bool exclude_kernel = false;
  std::string unit;  // unit of the event's count: "nanoseconds" or "count"

  // The rest of perf_event_attr that the encodings above can set. Copy them
  // all into the attr (ApplyEventSpec does): libpfm4 puts extra selection
  // bits in config1/config2 (offcore response, load latency threshold).
  uint64_t config1 = 0;
  uint64_t config2 = 0;
  bool exclude_hv = false;
  bool exclude_host = false;
  bool exclude_guest = false;
  uint8_t precise_ip = 0;  // 0..3, from :p/:pp/:ppp or libpfm4's precise=
  // Only valid on a group leader; libpfm4's :excl=1 and :pinned=1 set them.
  bool exclusive = false;
  bool pinned = false;

  // Where the encoding came from: "generic", "software", "cache", "raw" or
  // "libpfm4 <pmu name>".
  std::string source;
  std::string pmu;          // libpfm4 PMU name, empty for the others
  std::string description;  // one line; libpfm4's text for its events
};

// Parses "cpu-clock", "page-faults:u", "cycles:k", "LLC-load-misses",
// "r01a2", "MEM_LOAD_RETIRED.L3_MISS:u", ...
// Unknown names give InvalidArgument "unknown event 'X'; did you mean A, B,
// C?" with the nearest generic and libpfm4 names (for the PMUs present).
absl::StatusOr<EventSpec> ParseEventSpec(std::string_view text);

// Copies every field of `spec` that belongs in a perf_event_attr. Leaves
// sampling, read_format, inherit and enable settings alone.
void ApplyEventSpec(const EventSpec& spec, perf_event_attr* attr);

// A zeroed perf_event_attr for counting (not sampling) `spec`: size set,
// ApplyEventSpec applied, and read_format asking for the time enabled and
// running (so multiplexed counts can be scaled).
perf_event_attr CountingAttr(const EventSpec& spec);

// Every generic hardware and software name this table knows (canonical
// names, no aliases, no cache names).
std::vector<std::string> KnownEventNames();

// perf's generic cache names, every cache x op x result combination
// (L1-dcache-loads, L1-dcache-load-misses, ..., node-prefetch-misses).
std::vector<std::string> CacheEventNames();

// libpfm4's view of this machine: the PMUs it reports as present and their
// events. Built once per process; pfm_initialize() honours
// LIBPFM_FORCE_PMU=<pmu> (useful to test PMU-specific names on a VM).
struct Libpfm4Umask {
  std::string name;
  std::string description;
  bool is_default = false;
};
struct Libpfm4Event {
  std::string name;
  std::string description;
  std::vector<Libpfm4Umask> umasks;
};
struct Libpfm4Pmu {
  std::string name;         // e.g. "icl", "amd64_fam19h_zen3", "perf"
  std::string description;  // e.g. "Intel Icelake"
  // libpfm4's own tables of perf_events' generic events ("perf",
  // "perf_raw"), as opposed to a CPU or uncore PMU found from CPUID.
  bool os_generic = false;
  std::vector<Libpfm4Event> events;
};
// Fails only when pfm_initialize() fails.
absl::StatusOr<const std::vector<Libpfm4Pmu>*> Libpfm4PresentPmus();

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_EVENT_SPEC_H_
