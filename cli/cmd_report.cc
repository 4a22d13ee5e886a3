// `ringprof report`: the per-function table of a recording, with the loss
// summary. Logic lives in report/ (LoadProfile, FormatReport).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "report/table.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "report";
constexpr char kUsage[] =
    "usage: ringprof report [-i FILE] [--sort COL] [--limit N] [--symfs DIR] [--no-demangle]\n"
    "                       [--pid PID] [--comm NAME]\n\n"
    "Prints the per-function table of a recording: Self and Total per sample type,\n"
    "with a summary of everything lost while recording.\n\n"
    "  -s, --sort COL     self (default), total, name, or a sample type name\n"
    "  -n, --limit N      rows to print (default 50; 0 prints all)\n";

}  // namespace

int RunReport(int argc, char** argv) {
  static const option kOptions[] = {RINGPROF_PROFILE_INPUT_LONG_OPTIONS,
                                    {"sort", required_argument, nullptr, 's'},
                                    {"limit", required_argument, nullptr, 'n'},
                                    {nullptr, 0, nullptr, 0}};
  const std::string shortopts = std::string(kProfileInputShortOptions) + "s:n:";
  ProfileInput in;
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
    } else {
      std::fprintf(stderr, "%s%s", kUsage, kProfileInputHelp);
      return 2;
    }
  }
  if (optind < argc)
    return FailLine(kCmd, "unexpected argument", argv[optind], "see 'ringprof report --help'");

  std::optional<formats::Profile> profile = in.Load(kCmd);
  if (!profile) return 1;
  absl::StatusOr<std::string> text = report::FormatReport(*profile, table);
  if (!text.ok())
    return FailLine(kCmd, "cannot sort the table", std::string(text.status().message()),
                    "pick a listed --sort key");
  if (absl::Status s = report::WriteOutput("-", *text); !s.ok())
    return FailLine(kCmd, "cannot print the report", std::string(s.message()),
                    "check where standard output goes");
  return 0;
}

}  // namespace ringprof::cli
