// `ringprof report`: the per-function table of a recording, with the loss
// summary. Logic lives in report/ (LoadProfile, FormatReport).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "report/profile_builder.h"
#include "report/table.h"

namespace ringprof::cli {
namespace {

constexpr char kUsage[] =
    "usage: ringprof report [-i FILE] [--sort COL] [--limit N] [--symfs DIR] [--no-demangle]\n"
    "                       [--pid PID] [--comm NAME]\n\n"
    "Prints the per-function table of a recording: Self and Total per sample type,\n"
    "with a summary of everything lost while recording.\n\n"
    "  -i, --input FILE   recording to read (default ringprof.rpf)\n"
    "  -s, --sort COL     self (default), total, name, or a sample type name\n"
    "  -n, --limit N      rows to print (default 50; 0 prints all)\n"
    "      --symfs DIR    also look for binaries and debug files under DIR\n"
    "      --no-demangle  show mangled C++ names\n"
    "  -p, --pid PID      only samples of this process\n"
    "      --comm NAME    only samples of processes with this comm\n"
    "  -h, --help         show this help\n";

int Fail(const std::string& what, const std::string& why, const char* todo) {
  std::fprintf(stderr, "ringprof report: %s: %s; %s\n", what.c_str(), why.c_str(), todo);
  return 1;
}

}  // namespace

int RunReport(int argc, char** argv) {
  enum { kSymfs = 256, kNoDemangle, kComm };
  static const option kOptions[] = {{"input", required_argument, nullptr, 'i'},
                                    {"sort", required_argument, nullptr, 's'},
                                    {"limit", required_argument, nullptr, 'n'},
                                    {"symfs", required_argument, nullptr, kSymfs},
                                    {"no-demangle", no_argument, nullptr, kNoDemangle},
                                    {"pid", required_argument, nullptr, 'p'},
                                    {"comm", required_argument, nullptr, kComm},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  std::string input = "ringprof.rpf";
  report::TableOptions table;
  symbolizer::SymbolizerOptions sym;
  report::BuildOptions build;
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, "i:s:n:p:h", kOptions, nullptr)) != -1;) {
    switch (c) {
      case 'i':
        input = optarg;
        break;
      case 's':
        table.sort = optarg;
        break;
      case 'n':
        if (!absl::SimpleAtoi(optarg, &table.limit))
          return Fail("bad --limit", std::string("'") + optarg + "' is not a row count",
                      "pass a number, 0 for all");
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
    return Fail("unexpected argument", argv[optind], "see 'ringprof report --help'");

  absl::StatusOr<formats::Profile> profile = report::LoadProfile(input, sym, build);
  if (!profile.ok())
    return Fail("cannot read " + input, std::string(profile.status().message()),
                "pass a recording made by 'ringprof record' with -i");
  if (std::string w = report::DamageWarning(profile->damage); !w.empty())
    std::fprintf(stderr, "ringprof report: %s\n", w.c_str());
  absl::StatusOr<std::string> text = report::FormatReport(*profile, table);
  if (!text.ok())
    return Fail("cannot sort the table", std::string(text.status().message()),
                "pick a listed --sort key");
  if (absl::Status s = report::WriteOutput("-", *text); !s.ok())
    return Fail("cannot print the report", std::string(s.message()),
                "check where standard output goes");
  return 0;
}

}  // namespace ringprof::cli
