// `ringprof flamegraph`: an interactive SVG flame graph, or folded stacks.
// Logic lives in report/ (LoadProfile, RenderFlameGraphSvg, FoldedStacks).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"

namespace ringprof::cli {
namespace {

constexpr char kUsage[] =
    "usage: ringprof flamegraph [-i FILE] [-o OUT] [--folded] [--title T] [--width W]\n"
    "                           [--minwidth PX] [--metric M] [--symfs DIR] [--no-demangle]\n"
    "                           [--pid PID] [--comm NAME]\n\n"
    "Writes an interactive SVG flame graph (hover, click to zoom, regex search),\n"
    "or folded stacks with --folded.\n\n"
    "  -i, --input FILE   recording to read (default ringprof.rpf)\n"
    "  -o, --output OUT   file to write; '-' or none: standard output\n"
    "      --folded       write folded stacks ('a;b;c COUNT') instead of SVG\n"
    "      --title T      graph title (default \"Flame Graph\")\n"
    "      --width W      image width in pixels (default 1200)\n"
    "      --minwidth PX  omit frames narrower than PX pixels (default 0.1)\n"
    "      --metric M     sample type that sizes frames (default samples)\n"
    "      --symfs DIR    also look for binaries and debug files under DIR\n"
    "      --no-demangle  show mangled C++ names\n"
    "  -p, --pid PID      only samples of this process\n"
    "      --comm NAME    only samples of processes with this comm\n"
    "  -h, --help         show this help\n";

int Fail(const std::string& what, const std::string& why, const char* todo) {
  std::fprintf(stderr, "ringprof flamegraph: %s: %s; %s\n", what.c_str(), why.c_str(), todo);
  return 1;
}

}  // namespace

int RunFlamegraph(int argc, char** argv) {
  enum { kFolded = 256, kTitle, kWidth, kMinWidth, kMetric, kSymfs, kNoDemangle, kComm };
  static const option kOptions[] = {{"input", required_argument, nullptr, 'i'},
                                    {"output", required_argument, nullptr, 'o'},
                                    {"folded", no_argument, nullptr, kFolded},
                                    {"title", required_argument, nullptr, kTitle},
                                    {"width", required_argument, nullptr, kWidth},
                                    {"minwidth", required_argument, nullptr, kMinWidth},
                                    {"metric", required_argument, nullptr, kMetric},
                                    {"symfs", required_argument, nullptr, kSymfs},
                                    {"no-demangle", no_argument, nullptr, kNoDemangle},
                                    {"pid", required_argument, nullptr, 'p'},
                                    {"comm", required_argument, nullptr, kComm},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  std::string input = "ringprof.rpf", output = "-";
  bool folded = false;
  report::FlameGraphOptions graph;
  symbolizer::SymbolizerOptions sym;
  report::BuildOptions build;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "i:o:p:h", kOptions, nullptr)) != -1;) {
    switch (c) {
      case 'i':
        input = optarg;
        break;
      case 'o':
        output = optarg;
        break;
      case kFolded:
        folded = true;
        break;
      case kTitle:
        graph.title = optarg;
        break;
      case kWidth:
        if (!absl::SimpleAtoi(optarg, &graph.width) || graph.width < 100)
          return Fail("bad --width", std::string("'") + optarg + "' is not a width",
                      "pass at least 100 pixels");
        break;
      case kMinWidth:
        if (!absl::SimpleAtod(optarg, &graph.min_width) || !(graph.min_width >= 0))
          return Fail("bad --minwidth", std::string("'") + optarg + "' is not a pixel width",
                      "pass a number >= 0");
        break;
      case kMetric:
        graph.metric = optarg;
        break;
      case kSymfs:
        sym.symfs.push_back(optarg);
        break;
      case kNoDemangle:
        sym.demangle = false;
        break;
      case 'p':
        if (!absl::SimpleAtoi(optarg, &build.pid) || build.pid == 0)
          return Fail("bad --pid", std::string("'") + optarg + "' is not a process id",
                      "pass a positive number");
        break;
      case kComm:
        build.comm = optarg;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        return 0;
      default:
        std::fputs(kUsage, stderr);
        return 2;
    }
  }
  if (optind < argc)
    return Fail("unexpected argument", argv[optind], "see 'ringprof flamegraph --help'");

  absl::StatusOr<formats::Profile> profile = report::LoadProfile(input, sym, build);
  if (!profile.ok())
    return Fail("cannot read " + input, std::string(profile.status().message()),
                "pass a recording made by 'ringprof record' with -i");
  if (std::string w = report::DamageWarning(profile->damage); !w.empty())
    std::fprintf(stderr, "ringprof flamegraph: %s\n", w.c_str());
  absl::StatusOr<std::string> text = folded ? report::FoldedStacks(*profile, graph.metric)
                                            : report::RenderFlameGraphSvg(*profile, graph);
  if (!text.ok())
    return Fail("cannot draw the graph", std::string(text.status().message()),
                "pick a listed --metric");
  if (absl::Status s = report::WriteOutput(output, *text); !s.ok())
    return Fail("cannot write the graph", std::string(s.message()),
                "check the -o path and free space");
  return 0;
}

}  // namespace ringprof::cli
