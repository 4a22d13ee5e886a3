// `ringprof events`: lists what this machine can count. Every line comes
// from actually opening the event (collector/event_probe.h), so it never
// claims an event that would fail at record time.
#include <getopt.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "collector/event_probe.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "events";
constexpr char kUsage[] =
    "usage: ringprof events [--all] [--supported | --unsupported] [--pmu NAME]\n\n"
    "Lists the events this machine can count, each one checked by opening it as a\n"
    "counting event: perf's generic hardware, cache and software events, then the\n"
    "events of the PMUs libpfm4 reports as present. Names print as -e accepts them.\n\n"
    "      --all           every event:umask of the libpfm4 PMUs, and libpfm4's own\n"
    "                      tables of perf's generic events (PMUs perf, perf_raw)\n"
    "      --supported     only events that open here\n"
    "      --unsupported   only events that do not open here (with the reason)\n"
    "      --pmu NAME      only this group (hardware, cache, software) or libpfm4 PMU\n"
    "  -h, --help          this text\n";

std::string Shorten(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  return text.substr(0, width - 3) + "...";
}

std::string GroupTitle(const collector::EventAvailability& e,
                       const collector::PmuSummary& summary) {
  if (e.group == "hardware") return "generic hardware events (PERF_TYPE_HARDWARE)";
  if (e.group == "cache") return "generic cache events (PERF_TYPE_HW_CACHE)";
  if (e.group == "software") return "software events (PERF_TYPE_SOFTWARE)";
  for (const auto& p : summary.libpfm4_present) {
    if (p.name == e.pmu) return absl::StrCat("libpfm4 PMU ", p.name, " (", p.description, ")");
  }
  return absl::StrCat("libpfm4 PMU ", e.pmu);
}

}  // namespace

int RunEvents(int argc, char** argv) {
  enum { kAll = 1000, kSupported, kUnsupported, kPmu };
  static const option kOptions[] = {{"all", no_argument, nullptr, kAll},
                                    {"supported", no_argument, nullptr, kSupported},
                                    {"unsupported", no_argument, nullptr, kUnsupported},
                                    {"pmu", required_argument, nullptr, kPmu},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  collector::ListEventsOptions options;
  bool only_supported = false;
  bool only_unsupported = false;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "h", kOptions, nullptr)) != -1;) {
    if (c == 'h') {
      std::printf("%s", kUsage);
      return 0;
    } else if (c == kAll) {
      options.all_pmu_events = true;
    } else if (c == kSupported) {
      only_supported = true;
    } else if (c == kUnsupported) {
      only_unsupported = true;
    } else if (c == kPmu) {
      options.only = optarg;
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
  }
  if (optind < argc) {
    return FailLine(kCmd, "unexpected argument", argv[optind], "see 'ringprof events --help'");
  }
  if (only_supported && only_unsupported) {
    return FailLine(kCmd, "bad options", "--supported and --unsupported exclude each other",
                    "give at most one of them");
  }

  collector::PmuSummary summary = collector::DescribePmus();
  absl::StatusOr<std::vector<collector::EventAvailability>> events = collector::ListEvents(options);
  if (!events.ok()) {
    return FailLine(kCmd, "cannot list events", std::string(events.status().message()),
                    "run 'ringprof events' without --pmu to see the groups and PMUs");
  }

  std::vector<std::string> present;
  for (const auto& p : summary.libpfm4_present) {
    present.push_back(p.os_generic ? absl::StrCat(p.name, " (perf's generic events)") : p.name);
  }
  std::printf("PMUs: libpfm4 reports %s%s; kernel hardware PMU: %s\n",
              present.empty() ? "none" : absl::StrJoin(present, ", ").c_str(),
              summary.libpfm4_forced ? " (forced by LIBPFM_FORCE_PMU)" : "",
              summary.kernel_core_pmu.empty() ? "none" : summary.kernel_core_pmu.c_str());
  for (const std::string& note : summary.notes) std::printf("note: %s\n", note.c_str());

  size_t supported = 0;
  size_t unsupported = 0;
  std::string title;
  for (const collector::EventAvailability& e : *events) {
    (e.supported ? supported : unsupported)++;
    if ((only_supported && !e.supported) || (only_unsupported && e.supported)) continue;
    std::string t = GroupTitle(e, summary);
    if (t != title) {
      std::printf("\n%s:\n", t.c_str());
      title = t;
    }
    std::string detail = e.supported ? Shorten(e.description, 72) : e.reason;
    if (e.supported && e.umasks.size() > 1) {
      absl::StrAppend(&detail, " [", e.umasks.size(), " unit masks; --all lists them]");
    }
    const char* state = !e.supported ? "not supported" : e.user_only ? ":u only" : "supported";
    std::printf("  %-34s %-13s  %s\n", e.name.c_str(), state, detail.c_str());
  }
  std::printf(
      "\nraw events: rNNNN (hex config of the core PMU), for example r01a2; they open only "
      "where the kernel exposes a hardware PMU\n");
  size_t user_only = 0;
  for (const collector::EventAvailability& e : *events) user_only += e.user_only ? 1 : 0;
  std::printf(
      "%zu supported (%zu of them in user mode only, :u), %zu not supported (each opened "
      "once as a counting event)\n",
      supported, user_only, unsupported);
  return 0;
}

}  // namespace ringprof::cli
