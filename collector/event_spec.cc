#include "collector/event_spec.h"

#include <perfmon/pfmlib_perf_event.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace ringprof::collector {
using ::ringprof::Sv;
namespace {

struct NamedEvent {
  const char* name;
  uint32_t type;
  uint64_t config;
  bool canonical;  // false for aliases
  const char* description;
};

constexpr std::array kEvents = {
    NamedEvent{"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, true,
               "high-resolution per-CPU timer (nanoseconds)"},
    NamedEvent{"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, true,
               "clock running while the task runs (nanoseconds)"},
    NamedEvent{"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, true,
               "page faults, minor and major"},
    NamedEvent{"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, false, ""},
    NamedEvent{"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, true,
               "page faults served without I/O"},
    NamedEvent{"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, true,
               "page faults that needed I/O"},
    NamedEvent{"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, true,
               "context switches"},
    NamedEvent{"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, false, ""},
    NamedEvent{"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, true,
               "migrations of the task to another CPU"},
    NamedEvent{"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, false, ""},
    NamedEvent{"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, true,
               "unaligned accesses fixed up by the kernel"},
    NamedEvent{"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, true,
               "instructions emulated by the kernel"},
    NamedEvent{"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true, "CPU core cycles"},
    NamedEvent{"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, false, ""},
    NamedEvent{"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true,
               "instructions retired"},
    NamedEvent{"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, true,
               "last-level cache accesses (PMU-defined)"},
    NamedEvent{"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, true,
               "last-level cache misses (PMU-defined)"},
    NamedEvent{"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, true,
               "branch instructions retired"},
    NamedEvent{"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, false, ""},
    NamedEvent{"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, true,
               "mispredicted branches"},
    NamedEvent{"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, true, "bus cycles"},
    NamedEvent{"stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
               true, "cycles the front end issued nothing"},
    NamedEvent{"idle-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
               false, ""},
    NamedEvent{"stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
               true, "cycles the back end executed nothing"},
    NamedEvent{"idle-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
               false, ""},
    NamedEvent{"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, true,
               "reference cycles, unaffected by frequency scaling"},
};

// perf's spelling of the PERF_TYPE_HW_CACHE ids, ops and results.
constexpr std::array<std::pair<const char*, uint32_t>, 7> kCaches = {{
    {"L1-dcache", PERF_COUNT_HW_CACHE_L1D},
    {"L1-icache", PERF_COUNT_HW_CACHE_L1I},
    {"LLC", PERF_COUNT_HW_CACHE_LL},
    {"dTLB", PERF_COUNT_HW_CACHE_DTLB},
    {"iTLB", PERF_COUNT_HW_CACHE_ITLB},
    {"branch", PERF_COUNT_HW_CACHE_BPU},
    {"node", PERF_COUNT_HW_CACHE_NODE},
}};
constexpr std::array<std::pair<const char*, uint32_t>, 3> kCacheOps = {{
    {"load", PERF_COUNT_HW_CACHE_OP_READ},
    {"store", PERF_COUNT_HW_CACHE_OP_WRITE},
    {"prefetch", PERF_COUNT_HW_CACHE_OP_PREFETCH},
}};

std::string CacheName(size_t cache, size_t op, bool miss) {
  std::string op_name = kCacheOps[op].first;
  // perf writes "prefetches", "loads", "stores" for accesses.
  std::string tail = miss ? "-misses" : (op_name == "prefetch" ? "es" : "s");
  return absl::StrCat(kCaches[cache].first, "-", op_name, tail);
}

bool FindCacheEvent(std::string_view name, uint64_t* config, std::string* description) {
  for (size_t c = 0; c < kCaches.size(); ++c) {
    for (size_t o = 0; o < kCacheOps.size(); ++o) {
      for (bool miss : {false, true}) {
        if (name != CacheName(c, o, miss)) continue;
        uint64_t result =
            miss ? PERF_COUNT_HW_CACHE_RESULT_MISS : PERF_COUNT_HW_CACHE_RESULT_ACCESS;
        *config = kCaches[c].second | (uint64_t{kCacheOps[o].second} << 8) | (result << 16);
        *description = absl::StrCat(kCaches[c].first, " ", kCacheOps[o].first,
                                    miss ? " misses" : " accesses", " (PMU-defined)");
        return true;
      }
    }
  }
  return false;
}

// "r" followed by 1..16 hex digits, as perf writes raw events.
bool ParseRaw(std::string_view name, uint64_t* config) {
  if (name.size() < 2 || name.size() > 17 || name[0] != 'r') return false;
  uint64_t v = 0;
  for (char ch : name.substr(1)) {
    int d;
    if (ch >= '0' && ch <= '9') {
      d = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      d = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      d = ch - 'A' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *config = v;
  return true;
}

// A modifier group in perf's letter syntax: any of u, k, h, and p up to 3
// times.
bool IsPerfModifierGroup(std::string_view mods) {
  if (mods.empty()) return false;
  return std::all_of(mods.begin(), mods.end(),
                     [](char c) { return c == 'u' || c == 'k' || c == 'h' || c == 'p'; });
}

absl::Status ApplyModifiers(std::string_view text, std::string_view mods, EventSpec* spec) {
  bool user = false;
  bool kernel = false;
  bool hv = false;
  int precise = 0;
  for (char c : mods) {
    if (c != 'p' && std::count(mods.begin(), mods.end(), c) > 1) {
      return absl::InvalidArgumentError(absl::StrCat("modifier '", std::string(1, c),
                                                     "' is given twice in event '", Sv(text),
                                                     "'; give each of :u, :k, :h once"));
    }
    switch (c) {
      case 'u':
        user = true;
        break;
      case 'k':
        kernel = true;
        break;
      case 'h':
        hv = true;
        break;
      case 'p':
        ++precise;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown modifier '", std::string(1, c), "' in event '", Sv(text),
                         "'; supported modifiers are :u, :k, :h and :p (up to :ppp)"));
    }
  }
  if (precise > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many 'p' modifiers in event '", Sv(text), "'; at most :ppp"));
  }
  if (user || kernel || hv) {
    spec->exclude_user = !user;
    spec->exclude_kernel = !kernel;
    spec->exclude_hv = !hv;
  }
  if (precise > 0) spec->precise_ip = static_cast<uint8_t>(precise);
  return absl::OkStatus();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// libpfm4 matches names case-insensitively and accepts "." and ":" between
// an event and its unit mask; compare in that normal form, without the PMU
// prefix and without attribute settings such as ":c=2".
std::string NormalForSuggestion(std::string_view name) {
  if (size_t pmu_sep = name.find("::"); pmu_sep != std::string_view::npos) {
    name = name.substr(pmu_sep + 2);
  }
  std::vector<absl::string_view> parts;
  for (size_t start = 0; start <= name.size();) {
    size_t end = std::min(name.find(':', start), name.size());
    std::string_view part = name.substr(start, end - start);
    if (part.find('=') == std::string_view::npos) parts.push_back(Sv(part));
    start = end + 1;
  }
  return absl::AsciiStrToLower(absl::StrJoin(parts, "."));
}

// Every name a user could mean, with its normal form: generic, cache, and
// libpfm4's events and event.umask pairs of the PMUs present. Built once.
using Candidates = std::vector<std::pair<std::string, std::string>>;
const Candidates& SuggestionCandidates() {
  static const Candidates* names = [] {
    auto* out = new Candidates();
    auto add = [out](std::string name) {
      std::string normal = NormalForSuggestion(name);
      out->emplace_back(std::move(name), std::move(normal));
    };
    for (const NamedEvent& e : kEvents) add(e.name);
    for (std::string& n : CacheEventNames()) add(std::move(n));
    absl::StatusOr<const std::vector<Libpfm4Pmu>*> pmus = Libpfm4PresentPmus();
    if (pmus.ok()) {
      for (const Libpfm4Pmu& pmu : **pmus) {
        for (const Libpfm4Event& e : pmu.events) {
          add(e.name);
          for (const Libpfm4Umask& u : e.umasks) add(absl::StrCat(e.name, ".", u.name));
        }
      }
    }
    return out;
  }();
  return *names;
}

std::string Suggestions(std::string_view name) {
  std::string query = NormalForSuggestion(name);
  std::vector<std::pair<size_t, const std::pair<std::string, std::string>*>> scored;
  for (const auto& candidate : SuggestionCandidates()) {
    scored.emplace_back(EditDistance(query, candidate.second), &candidate);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> best;
  std::vector<std::string_view> seen;  // normal forms, to drop case variants
  size_t limit = std::max<size_t>(3, query.size() / 3);
  for (const auto& [distance, candidate] : scored) {
    if (best.size() == 3 || distance > limit || distance >= query.size()) break;
    if (std::find(seen.begin(), seen.end(), candidate->second) != seen.end()) continue;
    seen.push_back(candidate->second);
    best.push_back(candidate->first);
  }
  if (best.empty()) return "run 'ringprof events' for the events this machine has";
  return absl::StrCat("did you mean ", absl::StrJoin(best, ", "), "?");
}

absl::Status Libpfm4InitStatus() {
  static const int rc = pfm_initialize();
  if (rc != PFM_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("libpfm4 initialisation failed: ", pfm_strerror(rc),
                     "; PMU-specific event names are unavailable, generic names still work"));
  }
  return absl::OkStatus();
}

// Unit masks of the libpfm4 event `base` (the name before its first ':' or
// '.'), for the error message when libpfm4 rejects a unit mask.
std::string UmaskHint(std::string_view text) {
  size_t pmu_sep = text.find("::");
  size_t start = pmu_sep == std::string_view::npos ? 0 : pmu_sep + 2;
  std::string base(text.substr(0, text.find_first_of(":.", start)));
  int idx = pfm_find_event(base.c_str());
  if (idx < 0) return "";
  pfm_event_info_t info;
  std::memset(&info, 0, sizeof(info));
  info.size = sizeof(info);
  if (pfm_get_event_info(idx, PFM_OS_PERF_EVENT_EXT, &info) != PFM_SUCCESS) return "";
  std::vector<std::string> umasks;
  for (int a = 0; a < info.nattrs; ++a) {
    pfm_event_attr_info_t ainfo;
    std::memset(&ainfo, 0, sizeof(ainfo));
    ainfo.size = sizeof(ainfo);
    if (pfm_get_event_attr_info(idx, a, PFM_OS_PERF_EVENT_EXT, &ainfo) != PFM_SUCCESS) continue;
    if (ainfo.type == PFM_ATTR_UMASK) umasks.emplace_back(ainfo.name);
  }
  if (umasks.empty()) return "";
  return absl::StrCat(" (unit masks of ", info.name, ": ", absl::StrJoin(umasks, ", "), ")");
}

// Says so when libpfm4 knows no CPU PMU here, the usual reason a
// PMU-specific name is unknown.
std::string CpuPmuHint() {
  absl::StatusOr<const std::vector<Libpfm4Pmu>*> pmus = Libpfm4PresentPmus();
  if (!pmus.ok()) return "";
  for (const Libpfm4Pmu& p : **pmus) {
    if (!p.os_generic) return "";
  }
  return " (libpfm4 recognises no CPU PMU on this machine, so PMU-specific names are unavailable)";
}

absl::StatusOr<EventSpec> EncodeWithLibpfm4(std::string_view text, std::string_view encode) {
  if (absl::Status init = Libpfm4InitStatus(); !init.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown event '", Sv(encode), "'; ",
                                                   Suggestions(encode), " (", init.message(), ")"));
  }
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  pfm_perf_encode_arg_t arg;
  std::memset(&arg, 0, sizeof(arg));
  arg.attr = &attr;
  arg.size = sizeof(arg);
  std::string encode_str(encode);
  int rc = pfm_get_os_event_encoding(encode_str.c_str(), PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT,
                                     &arg);
  if (rc == PFM_ERR_NOTFOUND) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown event '", Sv(encode), "'; ", Suggestions(encode), CpuPmuHint()));
  }
  if (rc != PFM_SUCCESS) {
    // libpfm4 knows the event but not the unit mask or attribute (a misspelt
    // MEM_LOAD_RETIRED.L3_MIS gives "invalid event attribute").
    return absl::InvalidArgumentError(absl::StrCat("event '", Sv(text),
                                                   "' is not valid for libpfm4 (", pfm_strerror(rc),
                                                   "); ", Suggestions(encode), UmaskHint(encode)));
  }
  if (attr.sample_period != 0 || attr.freq) {
    return absl::InvalidArgumentError(
        absl::StrCat("event '", Sv(text),
                     "' sets a period or frequency through libpfm4; set them with -c or -F"));
  }
  EventSpec spec;
  spec.type = attr.type;
  spec.config = attr.config;
  spec.config1 = attr.config1;
  spec.config2 = attr.config2;
  spec.exclude_user = attr.exclude_user;
  spec.exclude_kernel = attr.exclude_kernel;
  spec.exclude_hv = attr.exclude_hv;
  spec.exclude_host = attr.exclude_host;
  spec.exclude_guest = attr.exclude_guest;
  spec.precise_ip = static_cast<uint8_t>(attr.precise_ip);
  spec.exclusive = attr.exclusive;
  spec.pinned = attr.pinned;
  pfm_event_info_t info;
  std::memset(&info, 0, sizeof(info));
  info.size = sizeof(info);
  if (pfm_get_event_info(arg.idx, PFM_OS_PERF_EVENT_EXT, &info) == PFM_SUCCESS) {
    if (info.desc != nullptr) spec.description = info.desc;
    pfm_pmu_info_t pinfo;
    std::memset(&pinfo, 0, sizeof(pinfo));
    pinfo.size = sizeof(pinfo);
    if (pfm_get_pmu_info(info.pmu, &pinfo) == PFM_SUCCESS && pinfo.name != nullptr) {
      spec.pmu = pinfo.name;
    }
  }
  spec.source = absl::StrCat("libpfm4 ", spec.pmu.empty() ? "?" : spec.pmu);
  return spec;
}

}  // namespace

absl::StatusOr<EventSpec> ParseEventSpec(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty event name");
  // Longer than any real name; also bounds the edit-distance work.
  constexpr size_t kMaxName = 512;
  if (text.size() > kMaxName) {
    return absl::InvalidArgumentError(
        absl::StrCat("event name of ", text.size(), " bytes is too long (at most ", kMaxName, ")"));
  }
  // perf's own names never contain ':', so the first ':' ends the name.
  std::string_view base = text;
  std::string_view mods;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    base = text.substr(0, colon);
    mods = text.substr(colon + 1);
  }
  if (text.back() == ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("event '", Sv(text),
                     "' ends with ':' but gives no modifier; add one (:u, :k, "
                     ":h, :p) or drop the ':'"));
  }
  EventSpec spec;
  bool perf_name = false;
  for (const NamedEvent& e : kEvents) {
    if (base != e.name) continue;
    spec.type = e.type;
    spec.config = e.config;
    spec.source = e.type == PERF_TYPE_SOFTWARE ? "software" : "generic";
    const NamedEvent* described = &e;
    for (const NamedEvent& c : kEvents) {
      if (c.canonical && c.type == e.type && c.config == e.config) described = &c;
    }
    spec.description = described->description;
    perf_name = true;
    break;
  }
  if (!perf_name && FindCacheEvent(base, &spec.config, &spec.description)) {
    spec.type = PERF_TYPE_HW_CACHE;
    spec.source = "cache";
    perf_name = true;
  }
  if (!perf_name && ParseRaw(base, &spec.config)) {
    spec.type = PERF_TYPE_RAW;
    spec.source = "raw";
    spec.description = absl::StrCat("raw PMU event, config 0x", absl::Hex(spec.config));
    perf_name = true;
  }
  if (perf_name) {
    RETURN_IF_ERROR(ApplyModifiers(text, mods, &spec));
  } else {
    // libpfm4: "[pmu::]EVENT[:UMASK|.UMASK][:attr=val]...[:perf-modifiers]".
    std::string_view encode = text;
    std::string_view perf_mods;
    size_t last = text.rfind(':');
    if (last != std::string_view::npos && last > 0 && text[last - 1] != ':' &&
        IsPerfModifierGroup(text.substr(last + 1))) {
      encode = text.substr(0, last);
      perf_mods = text.substr(last + 1);
    }
    ASSIGN_OR_RETURN(spec, EncodeWithLibpfm4(text, encode));
    RETURN_IF_ERROR(ApplyModifiers(text, perf_mods, &spec));
  }
  if (spec.precise_ip > 0 && spec.type == PERF_TYPE_SOFTWARE) {
    return absl::InvalidArgumentError(
        absl::StrCat("precise sampling (:p) is not supported for '", Sv(base),
                     "': it is a software event, which has no skid to correct; drop the :p"));
  }
  spec.name = std::string(text);
  spec.unit = (spec.type == PERF_TYPE_SOFTWARE &&
               (spec.config == PERF_COUNT_SW_CPU_CLOCK || spec.config == PERF_COUNT_SW_TASK_CLOCK))
                  ? "nanoseconds"
                  : "count";
  return spec;
}

perf_event_attr CountingAttr(const EventSpec& spec) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  ApplyEventSpec(spec, &attr);
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  return attr;
}

void ApplyEventSpec(const EventSpec& spec, perf_event_attr* attr) {
  attr->type = spec.type;
  attr->config = spec.config;
  attr->config1 = spec.config1;
  attr->config2 = spec.config2;
  attr->exclude_user = spec.exclude_user;
  attr->exclude_kernel = spec.exclude_kernel;
  attr->exclude_hv = spec.exclude_hv;
  attr->exclude_host = spec.exclude_host;
  attr->exclude_guest = spec.exclude_guest;
  attr->precise_ip = spec.precise_ip;
  attr->exclusive = spec.exclusive;
  attr->pinned = spec.pinned;
}

std::vector<std::string> KnownEventNames() {
  std::vector<std::string> names;
  for (const NamedEvent& e : kEvents) {
    if (e.canonical) names.emplace_back(e.name);
  }
  return names;
}

std::vector<std::string> CacheEventNames() {
  std::vector<std::string> names;
  for (size_t c = 0; c < kCaches.size(); ++c) {
    for (size_t o = 0; o < kCacheOps.size(); ++o) {
      for (bool miss : {false, true}) names.push_back(CacheName(c, o, miss));
    }
  }
  return names;
}

absl::StatusOr<const std::vector<Libpfm4Pmu>*> Libpfm4PresentPmus() {
  RETURN_IF_ERROR(Libpfm4InitStatus());
  static const std::vector<Libpfm4Pmu>* pmus = [] {
    auto* out = new std::vector<Libpfm4Pmu>();
    // pfm_for_all_pmus() increments an enum, which C++ does not allow.
    for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
      pfm_pmu_info_t pinfo;
      std::memset(&pinfo, 0, sizeof(pinfo));
      pinfo.size = sizeof(pinfo);
      if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &pinfo) != PFM_SUCCESS || !pinfo.is_present)
        continue;
      Libpfm4Pmu pmu;
      pmu.name = pinfo.name;
      pmu.description = pinfo.desc != nullptr ? pinfo.desc : "";
      pmu.os_generic = pinfo.type == PFM_PMU_TYPE_OS_GENERIC;
      for (int i = pinfo.first_event; i != -1; i = pfm_get_event_next(i)) {
        pfm_event_info_t info;
        std::memset(&info, 0, sizeof(info));
        info.size = sizeof(info);
        if (pfm_get_event_info(i, PFM_OS_PERF_EVENT_EXT, &info) != PFM_SUCCESS) continue;
        Libpfm4Event event;
        event.name = info.name;
        event.description = info.desc != nullptr ? info.desc : "";
        for (int a = 0; a < info.nattrs; ++a) {
          pfm_event_attr_info_t ainfo;
          std::memset(&ainfo, 0, sizeof(ainfo));
          ainfo.size = sizeof(ainfo);
          if (pfm_get_event_attr_info(i, a, PFM_OS_PERF_EVENT_EXT, &ainfo) != PFM_SUCCESS ||
              ainfo.type != PFM_ATTR_UMASK) {
            continue;
          }
          event.umasks.push_back(Libpfm4Umask{ainfo.name, ainfo.desc != nullptr ? ainfo.desc : "",
                                              static_cast<bool>(ainfo.is_dfl)});
        }
        pmu.events.push_back(std::move(event));
      }
      out->push_back(std::move(pmu));
    }
    return out;
  }();
  return pmus;
}

}  // namespace ringprof::collector
