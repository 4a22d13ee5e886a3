// `ringprof diff BASE NEW`: a differential flame graph (or two-column
// folded stacks) of two recordings. Logic lives in report/ (LoadProfile,
// RenderDiffFlameGraphSvg, DiffFoldedStacks).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "base/atomic_file.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "report/diff.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "diff";
constexpr char kUsage[] =
    "usage: ringprof diff BASE NEW [-o OUT] [--metric M] [--folded] [--title T] [--width W]\n"
    "                     [--minwidth PX] [--symfs DIR] [--no-demangle] [--pid PID]\n"
    "                     [--comm NAME]\n\n"
    "Draws a differential flame graph of two recordings: frame widths from NEW, colour\n"
    "by the change of each frame's self share of the metric (each recording normalised\n"
    "to its own total): red grew, blue shrank, saturation by the size of the change.\n"
    "Frames only in BASE are not drawn; the subtitle counts them. See docs/REPORTS.md.\n\n"
    "  -o, --output OUT   file to write; '-' or none: standard output. A file is\n"
    "                     replaced whole or not at all (written next to it, then\n"
    "                     renamed), mode 0644 less the umask\n"
    "      --metric M     sample type to compare, present in both (default: NEW's\n"
    "                     default sample type)\n"
    "      --folded       write 'stack BASE NEW' lines (raw self values) instead of SVG\n"
    "      --title T      graph title (default \"Differential Flame Graph\")\n"
    "      --width W      image width in pixels (default 1200)\n"
    "      --minwidth PX  omit frames narrower than PX pixels (default 0.1)\n";

}  // namespace

int RunDiff(int argc, char** argv) {
  enum { kFolded = kFirstCommandOption };
  static const option kOptions[] = {RINGPROF_PROFILE_INPUT_LONG_OPTIONS,
                                    {"output", required_argument, nullptr, 'o'},
                                    {"folded", no_argument, nullptr, kFolded},
                                    RINGPROF_GRAPH_LONG_OPTIONS,
                                    {nullptr, 0, nullptr, 0}};
  const std::string shortopts = std::string(kProfileInputShortOptions) + "o:";
  ProfileInput in;
  std::string output = "-";
  bool folded = false;
  report::DiffGraphOptions diff;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, shortopts.c_str(), kOptions, nullptr)) != -1;) {
    std::string error;
    if (c == 'h') {
      std::printf("%s%s", kUsage, kProfileFilterHelp);
      return 0;
    } else if (c == 'i') {
      return FailLine(kCmd, "bad option", "-i does not apply to diff",
                      "pass the two recordings as BASE NEW");
    } else if (in.Handle(c, optarg, &error) || HandleGraphOption(c, optarg, &diff.graph, &error)) {
      if (!error.empty()) return FailLine(kCmd, "bad option", error, "see --help");
    } else if (c == 'o') {
      output = optarg;
    } else if (c == kFolded) {
      folded = true;
    } else {
      std::fprintf(stderr, "%s%s", kUsage, kProfileFilterHelp);
      return 2;
    }
  }
  if (argc - optind != 2)
    return FailLine(kCmd, "wrong arguments",
                    argc - optind < 2 ? "BASE and NEW recordings are both needed"
                                      : std::string("unexpected argument ") + argv[optind + 2],
                    "run 'ringprof diff BASE.rpf NEW.rpf -o diff.svg'");
  diff.base_label = argv[optind];
  diff.new_label = argv[optind + 1];
  std::optional<formats::Profile> base = in.LoadPath(kCmd, diff.base_label, "as BASE");
  if (!base) return 1;
  std::optional<formats::Profile> next = in.LoadPath(kCmd, diff.new_label, "as NEW");
  if (!next) return 1;
  absl::StatusOr<std::string> text = folded
                                         ? report::DiffFoldedStacks(*base, *next, diff.graph.metric)
                                         : report::RenderDiffFlameGraphSvg(*base, *next, diff);
  if (!text.ok())
    return FailLine(kCmd, "cannot compare the recordings", std::string(text.status().message()),
                    "pick a --metric both recordings have");
  if (absl::Status s = WriteOutput(output, *text); !s.ok())
    return FailLine(kCmd, "cannot write the graph", std::string(s.message()), OutputAdvice(s));
  return 0;
}

}  // namespace ringprof::cli
