// `ringprof report`: the per-function table of a recording, with the loss
// summary. Logic lives in report/ (LoadProfile, FormatReport).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "base/atomic_file.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "report/table.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "report";
constexpr char kUsage[] =
    "usage: ringprof report [[-i] FILE] [--sort COL] [--limit N] [--min-samples N] [--symfs DIR]\n"
    "                       [--no-demangle] [--pid PID] [--comm NAME]\n\n"
    "Prints the per-function table of a recording: Self and Total (and their\n"
    "percentages) per sample type and counter, derived columns (IPC, MPKI, miss-ratio)\n"
    "when their inputs were recorded, each counter's total and multiplexing scale,\n"
    "and a summary of everything lost while recording. See docs/REPORTS.md.\n\n"
    "  -s, --sort COL     self (default), total, name, a sample type or derived column\n"
    "                     (sorts by its Self; append :total for its Total, e.g.\n"
    "                     page-faults:total, MPKI:total)\n"
    "  -n, --limit N      rows to print (default 50; 0 prints all)\n"
    "      --min-samples N  mark ratios resting on fewer than N samples with '~'\n"
    "                     (default 10)\n";

}  // namespace

int RunReport(int argc, char** argv) {
  enum { kMinSamples = kFirstCommandOption };
  static const option kOptions[] = {RINGPROF_PROFILE_INPUT_LONG_OPTIONS,
                                    {"sort", required_argument, nullptr, 's'},
                                    {"min-samples", required_argument, nullptr, kMinSamples},
                                    {"limit", required_argument, nullptr, 'n'},
                                    {nullptr, 0, nullptr, 0}};
  const std::string shortopts = std::string(kProfileInputShortOptions) + "s:n:";
  ProfileInput in;
  in.print_warnings = false;  // the summary shows them
  report::TableOptions table;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, shortopts.c_str(), kOptions, nullptr)) != -1;) {
    std::string error;
    if (c == 'h') {
      std::printf("%s%s", kUsage, kProfileInputHelp);
      return 0;
    } else if (in.Handle(c, optarg, &error)) {
      if (!error.empty()) return FailLine(kCmd, "bad option", error, "see --help");
    } else if (c == 's') {
      table.sort = optarg;
    } else if (c == 'n') {
      if (!absl::SimpleAtoi(optarg, &table.limit))
        return FailLine(kCmd, "bad --limit", std::string("'") + optarg + "' is not a row count",
                        "pass a number, 0 for all");
    } else if (c == kMinSamples) {
      if (!absl::SimpleAtoi(optarg, &table.min_samples) || table.min_samples < 0)
        return FailLine(kCmd, "bad --min-samples",
                        std::string("'") + optarg + "' is not a sample count",
                        "pass a number >= 0");
    } else {
      std::fprintf(stderr, "%s%s", kUsage, kProfileInputHelp);
      return 2;
    }
  }
  if (std::string error; !in.TakePositional(argc, argv, optind, &error))
    return FailLine(kCmd, "bad arguments", error, "see 'ringprof report --help'");

  std::optional<formats::Profile> profile = in.Load(kCmd);
  if (!profile) return 1;
  absl::StatusOr<std::string> text = report::FormatReport(*profile, table);
  if (!text.ok())
    return FailLine(kCmd, "cannot sort the table", std::string(text.status().message()),
                    "pick one of the listed --sort columns");
  if (absl::Status s = WriteOutput(kStandardOutputPath, *text); !s.ok())
    return FailLine(kCmd, "cannot print the report", std::string(s.message()),
                    "check where standard output goes");
  return 0;
}

}  // namespace ringprof::cli
