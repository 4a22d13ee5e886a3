#include "collector/event_probe.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof::collector {
namespace {

// The kernel's core PMU registers itself with type PERF_TYPE_RAW; it is the
// PMU that serves PERF_TYPE_HARDWARE and PERF_TYPE_HW_CACHE events.
std::string KernelCorePmu() {
  std::error_code ec;
  for (const auto& dev : std::filesystem::directory_iterator("/sys/bus/event_source/devices", ec)) {
    std::ifstream in(dev.path() / "type");
    std::string text;
    uint32_t type = 0;
    if (std::getline(in, text) && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &type) &&
        type == PERF_TYPE_RAW) {
      return dev.path().filename().string();
    }
  }
  return "";
}

bool ServedByCorePmu(uint32_t type) {
  return type == PERF_TYPE_HARDWARE || type == PERF_TYPE_HW_CACHE || type == PERF_TYPE_RAW;
}

bool IsHardwareKind(uint32_t type) { return ServedByCorePmu(type) || type >= PERF_TYPE_MAX; }

// Opens `spec` for counting as the profiler would and closes it; returns 0
// or the errno of the failed perf_event_open. Not as root, where the
// kernel refuses to count kernel mode (kernel.perf_event_paranoid >= 2),
// it tries user mode alone, as perf does, and sets *user_only when only
// that opens.
int OpenCountingErrno(const EventSpec& spec, bool* user_only = nullptr) {
  perf_event_attr attr = CountingAttr(spec);
  attr.disabled = 1;
  bool root = geteuid() == 0;
  pid_t pid = root ? -1 : 0;
  int cpu = root ? 0 : -1;
  auto open_errno = [&]() {
    int fd =
        static_cast<int>(syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return errno;
    ScopedFd owner(fd);
    return 0;
  };
  int err = open_errno();
  if ((err == EACCES || err == EPERM) && !root && user_only != nullptr && !attr.exclude_kernel) {
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    if (open_errno() == 0) {
      *user_only = true;
      return 0;
    }
  }
  return err;
}

bool IsUnsupportedErrno(int err, const EventSpec& spec) {
  return err == ENOENT || err == EOPNOTSUPP || err == ENODEV ||
         (err == EINVAL && IsHardwareKind(spec.type));
}

// Why an unsupported event fails, in words.
std::string UnsupportedReason(int err, const EventSpec& spec, const std::string& core_pmu) {
  if (ServedByCorePmu(spec.type) && core_pmu.empty()) {
    return "no hardware PMU is available to this kernel";
  }
  std::string what;
  switch (err) {
    case ENOENT:
      what = "the kernel does not provide this event";
      break;
    case EOPNOTSUPP:
      what = "the PMU cannot count this event";
      break;
    case ENODEV:
      what = "the PMU this event belongs to is not present";
      break;
    default:
      what = "the PMU rejected this encoding";
      break;
  }
  return absl::StrCat(what, ": ", std::strerror(err), ", errno ", err);
}

std::string OpenFailureReason(int err, const EventSpec& spec, const std::string& core_pmu) {
  if (IsUnsupportedErrno(err, spec)) return UnsupportedReason(err, spec, core_pmu);
  if (err == EACCES || err == EPERM) {
    return absl::StrCat("permission denied (errno ", err,
                        "); counting needs CAP_PERFMON (run as root) or a lower "
                        "kernel.perf_event_paranoid");
  }
  return absl::StrCat("perf_event_open failed: ", std::strerror(err), " (errno ", err, ")");
}

// Generic hardware and software names that open here.
std::string WorkingGenericEvents() {
  std::vector<std::string> ok;
  for (const std::string& name : KnownEventNames()) {
    absl::StatusOr<EventSpec> spec = ParseEventSpec(name);
    if (spec.ok() && OpenCountingErrno(*spec) == 0) ok.push_back(name);
  }
  if (ok.empty()) return "none of the generic events (run 'ringprof events')";
  return absl::StrJoin(ok, ", ");
}

struct Lister {
  explicit Lister(const ListEventsOptions& o) : options(o), core_pmu(KernelCorePmu()) {}

  const ListEventsOptions& options;
  std::string core_pmu;
  std::vector<EventAvailability> out;

  bool Wanted(std::string_view group_or_pmu) const {
    return options.only.empty() || options.only == group_or_pmu;
  }

  void Add(std::string name, std::string group, std::string description,
           std::vector<std::string> umasks = {}) {
    EventAvailability e;
    e.name = std::move(name);
    e.group = std::move(group);
    e.description = std::move(description);
    e.umasks = std::move(umasks);
    absl::StatusOr<EventSpec> spec = ParseEventSpec(e.name);
    if (!spec.ok()) {
      e.source = e.group;
      e.reason = absl::StrCat("cannot be encoded: ", spec.status().message());
    } else {
      e.source = spec->source;
      e.pmu = spec->pmu;
      if (e.description.empty()) e.description = spec->description;
      int err = OpenCountingErrno(*spec, &e.user_only);
      e.supported = err == 0;
      if (!e.supported) e.reason = OpenFailureReason(err, *spec, core_pmu);
    }
    out.push_back(std::move(e));
  }

  void AddLibpfm4Pmu(const Libpfm4Pmu& pmu) {
    for (const Libpfm4Event& event : pmu.events) {
      std::string qualified = absl::StrCat(pmu.name, "::", event.name);
      if (event.umasks.empty()) {
        Add(qualified, "libpfm4", event.description);
        continue;
      }
      if (options.all_pmu_events) {
        for (const Libpfm4Umask& u : event.umasks) {
          Add(absl::StrCat(qualified, ":", u.name), "libpfm4",
              absl::StrCat(event.description, ": ", u.description));
        }
        continue;
      }
      bool has_default = false;
      std::vector<std::string> names;
      for (const Libpfm4Umask& u : event.umasks) {
        has_default = has_default || u.is_default;
        names.push_back(u.name);
      }
      // Without a default unit mask libpfm4 needs one; show the first.
      std::string listed =
          has_default ? qualified : absl::StrCat(qualified, ":", event.umasks.front().name);
      Add(listed, "libpfm4", event.description, std::move(names));
    }
  }
};

}  // namespace

absl::Status ProbeEvent(const EventSpec& spec) {
  int err = OpenCountingErrno(spec);
  if (err == 0) return absl::OkStatus();
  std::string core_pmu = KernelCorePmu();
  if (IsUnsupportedErrno(err, spec)) {
    return absl::UnimplementedError(
        absl::StrCat("event '", spec.name, "' is not supported on this machine (",
                     UnsupportedReason(err, spec, core_pmu),
                     "); events that work here include: ", WorkingGenericEvents()));
  }
  bool root = geteuid() == 0;
  return ErrnoStatus(
      err, absl::StrCat("perf_event_open(", spec.name, ", pid ", root ? -1 : 0, ", cpu ",
                        root ? 0 : -1, ") for counting: ", OpenFailureReason(err, spec, core_pmu)));
}

absl::StatusOr<std::vector<EventAvailability>> ListEvents(const ListEventsOptions& options) {
  Lister lister(options);
  if (lister.Wanted("hardware")) {
    for (const std::string& name : KnownEventNames()) {
      absl::StatusOr<EventSpec> spec = ParseEventSpec(name);
      if (spec.ok() && spec->type == PERF_TYPE_HARDWARE) lister.Add(name, "hardware", "");
    }
  }
  if (lister.Wanted("cache")) {
    for (const std::string& name : CacheEventNames()) lister.Add(name, "cache", "");
  }
  if (lister.Wanted("software")) {
    for (const std::string& name : KnownEventNames()) {
      absl::StatusOr<EventSpec> spec = ParseEventSpec(name);
      if (spec.ok() && spec->type == PERF_TYPE_SOFTWARE) lister.Add(name, "software", "");
    }
  }
  absl::StatusOr<const std::vector<Libpfm4Pmu>*> pmus = Libpfm4PresentPmus();
  if (pmus.ok()) {
    for (const Libpfm4Pmu& pmu : **pmus) {
      bool named = options.only == pmu.name;
      if (!named && (!options.only.empty() || (pmu.os_generic && !options.all_pmu_events))) {
        continue;
      }
      lister.AddLibpfm4Pmu(pmu);
    }
  } else if (!options.only.empty() && lister.out.empty()) {
    return pmus.status();
  }
  if (!options.only.empty() && lister.out.empty()) {
    return absl::NotFoundError(absl::StrCat("no event group or libpfm4 PMU named '", options.only,
                                            "' is present; groups are hardware, cache, software"));
  }
  return std::move(lister.out);
}

absl::StatusOr<std::vector<EventAvailability>> ListEvents(bool all_pmu_events) {
  ListEventsOptions options;
  options.all_pmu_events = all_pmu_events;
  return ListEvents(options);
}

PmuSummary DescribePmus() {
  PmuSummary s;
  s.kernel_core_pmu = KernelCorePmu();
  // libpfm4 forces a PMU whenever the variable is set, even to "" (then it
  // takes the first PMU of its table).
  s.libpfm4_forced = std::getenv("LIBPFM_FORCE_PMU") != nullptr;
  absl::StatusOr<const std::vector<Libpfm4Pmu>*> pmus = Libpfm4PresentPmus();
  std::vector<std::string> cpu_pmus;
  if (pmus.ok()) {
    for (const Libpfm4Pmu& p : **pmus) {
      s.libpfm4_present.push_back({p.name, p.description, p.os_generic});
      if (!p.os_generic) cpu_pmus.push_back(p.name);
    }
  } else {
    s.libpfm4_error = std::string(pmus.status().message());
    s.notes.push_back(s.libpfm4_error);
  }
  std::string origin = s.libpfm4_forced ? "(forced by LIBPFM_FORCE_PMU)" : "from CPUID";
  if (s.kernel_core_pmu.empty()) {
    if (!cpu_pmus.empty()) {
      s.notes.push_back(absl::StrCat(
          "libpfm4 reports PMU ", absl::StrJoin(cpu_pmus, ", "), " ", origin,
          ", but the kernel exposes no hardware PMU: hardware events cannot be counted here"));
    } else {
      s.notes.push_back(
          "the kernel exposes no hardware PMU (and libpfm4 recognises none for this CPU): "
          "hardware events cannot be counted here; software events can be");
    }
  } else if (pmus.ok() && cpu_pmus.empty()) {
    s.notes.push_back(absl::StrCat(
        "libpfm4 does not recognise this CPU's PMU; generic hardware, cache and raw rNNNN "
        "events still go to the kernel's '",
        s.kernel_core_pmu, "' PMU"));
  }
  if (geteuid() != 0) {
    std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
    std::string paranoid;
    std::getline(in, paranoid);
    s.notes.push_back(absl::StrCat(
        "not running as root: 'ringprof record' needs root (CAP_BPF and CAP_PERFMON) for "
        "every event; this list says what this user may count on its own processes with "
        "perf_event_open. kernel.perf_event_paranoid is ",
        paranoid.empty() ? "unknown" : paranoid,
        " (2 or more forbids counting kernel mode: such events are marked ':u only')"));
  }
  return s;
}

}  // namespace ringprof::collector
