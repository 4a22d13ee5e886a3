// `ringprof flamegraph`: an interactive SVG flame graph, or folded stacks.
// Logic lives in report/ (LoadProfile, RenderFlameGraphSvg, FoldedStacks).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "base/atomic_file.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "report/flamegraph.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "flamegraph";
constexpr char kUsage[] =
    "usage: ringprof flamegraph [[-i] FILE] [-o OUT] [--folded] [--title T] [--width W]\n"
    "                           [--minwidth PX] [--metric M] [--color-by A/B] [--symfs DIR]\n"
    "                           [--no-demangle] [--pid PID] [--comm NAME]\n\n"
    "Writes an interactive SVG flame graph (hover, click to zoom, regex search),\n"
    "or folded stacks with --folded. The cache-miss flame graph is\n"
    "  ringprof flamegraph --metric cycles --color-by cache-misses/instructions\n\n"
    "  -o, --output OUT   file to write; '-' or none: standard output. A file is\n"
    "                     replaced whole or not at all (written next to it, then\n"
    "                     renamed), mode 0644 less the umask\n"
    "      --folded       write folded stacks ('a;b;c COUNT') instead of SVG\n"
    "      --title T      graph title (default \"Flame Graph\")\n"
    "      --width W      image width in pixels (default 1200)\n"
    "      --minwidth PX  omit frames narrower than PX pixels (default 0.1)\n"
    "      --metric M     sample type that sizes frames (default samples)\n"
    "      --color-by A/B colour frames by the ratio of two sample types (inclusive)\n"
    "                     on a blue-to-red gradient with a legend; frames with no B\n"
    "                     are grey\n";

}  // namespace

int RunFlamegraph(int argc, char** argv) {
  enum { kFolded = kFirstCommandOption, kColorBy };
  static const option kOptions[] = {RINGPROF_PROFILE_INPUT_LONG_OPTIONS,
                                    {"output", required_argument, nullptr, 'o'},
                                    {"folded", no_argument, nullptr, kFolded},
                                    RINGPROF_GRAPH_LONG_OPTIONS,
                                    {"color-by", required_argument, nullptr, kColorBy},
                                    {nullptr, 0, nullptr, 0}};
  const std::string shortopts = std::string(kProfileInputShortOptions) + "o:";
  ProfileInput in;
  std::string output = "-";
  bool folded = false;
  report::FlameGraphOptions graph;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, shortopts.c_str(), kOptions, nullptr)) != -1;) {
    std::string error;
    if (c == 'h') {
      std::printf("%s%s", kUsage, kProfileInputHelp);
      return 0;
    } else if (in.Handle(c, optarg, &error) || HandleGraphOption(c, optarg, &graph, &error)) {
      if (!error.empty()) return FailLine(kCmd, "bad option", error, "see --help");
    } else if (c == 'o') {
      output = optarg;
    } else if (c == kFolded) {
      folded = true;
    } else if (c == kColorBy) {
      graph.color_by = optarg;
    } else {
      std::fprintf(stderr, "%s%s", kUsage, kProfileInputHelp);
      return 2;
    }
  }
  if (std::string error; !in.TakePositional(argc, argv, optind, &error))
    return FailLine(kCmd, "bad arguments", error, "see 'ringprof flamegraph --help'");

  std::optional<formats::Profile> profile = in.Load(kCmd);
  if (!profile) return 1;
  if (folded && !graph.color_by.empty())
    return FailLine(kCmd, "bad options", "--color-by colours the SVG; folded stacks have no colour",
                    "drop --folded or --color-by");
  absl::StatusOr<std::string> text = folded ? report::FoldedStacks(*profile, graph.metric)
                                            : report::RenderFlameGraphSvg(*profile, graph);
  if (!text.ok())
    return FailLine(kCmd, "cannot draw the graph", std::string(text.status().message()),
                    "pick listed sample types for --metric and --color-by");
  if (absl::Status s = WriteOutput(output, *text); !s.ok())
    return FailLine(kCmd, "cannot write the graph", std::string(s.message()), OutputAdvice(s));
  return 0;
}

}  // namespace ringprof::cli
