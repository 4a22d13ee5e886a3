#include "collector/event_spec.h"

#include <algorithm>
#include <array>

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
};

constexpr std::array kEvents = {
    NamedEvent{"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK, true},
    NamedEvent{"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, true},
    NamedEvent{"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, true},
    NamedEvent{"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, false},
    NamedEvent{"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN, true},
    NamedEvent{"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ, true},
    NamedEvent{"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, true},
    NamedEvent{"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES, false},
    NamedEvent{"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, true},
    NamedEvent{"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS, false},
    NamedEvent{"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS, true},
    NamedEvent{"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS, true},
    NamedEvent{"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, true},
    NamedEvent{"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, false},
    NamedEvent{"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, true},
    NamedEvent{"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES, true},
    NamedEvent{"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, true},
    NamedEvent{"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, true},
    NamedEvent{"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS, false},
    NamedEvent{"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES, true},
    NamedEvent{"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES, true},
    NamedEvent{"stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
               true},
    NamedEvent{"stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
               true},
    NamedEvent{"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES, true},
};

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

std::string Suggestions(std::string_view name) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const NamedEvent& e : kEvents) scored.emplace_back(EditDistance(name, e.name), e.name);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> best;
  for (size_t i = 0; i < scored.size() && best.size() < 3; ++i) {
    if (scored[i].first <= std::max<size_t>(3, name.size() / 2)) best.push_back(scored[i].second);
  }
  if (best.empty()) return "run 'ringprof record --help' for the event list";
  return absl::StrCat("did you mean ", absl::StrJoin(best, ", "), "?");
}

}  // namespace

absl::StatusOr<EventSpec> ParseEventSpec(std::string_view text) {
  std::string_view base = text;
  std::string_view mods;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    base = text.substr(0, colon);
    mods = text.substr(colon + 1);
  }
  const NamedEvent* found = nullptr;
  for (const NamedEvent& e : kEvents) {
    if (base == e.name) found = &e;
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown event '", Sv(base), "'; ", Suggestions(base)));
  }
  EventSpec spec;
  spec.name = std::string(text);
  spec.type = found->type;
  spec.config = found->config;
  spec.unit = (found->type == PERF_TYPE_SOFTWARE && (found->config == PERF_COUNT_SW_CPU_CLOCK ||
                                                     found->config == PERF_COUNT_SW_TASK_CLOCK))
                  ? "nanoseconds"
                  : "count";
  if (!mods.empty()) {
    bool user = false;
    bool kernel = false;
    for (char c : mods) {
      if (c == 'u') {
        user = true;
      } else if (c == 'k') {
        kernel = true;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("unknown modifier '", std::string(1, c),
                                                       "' in event '", Sv(text),
                                                       "'; supported modifiers are :u and :k"));
      }
    }
    spec.exclude_user = !user;
    spec.exclude_kernel = !kernel;
  }
  return spec;
}

std::vector<std::string> KnownEventNames() {
  std::vector<std::string> names;
  for (const NamedEvent& e : kEvents) {
    if (e.canonical) names.emplace_back(e.name);
  }
  return names;
}

}  // namespace ringprof::collector
