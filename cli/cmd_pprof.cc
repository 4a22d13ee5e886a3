// `ringprof pprof`: exports a recording as gzipped pprof profile.proto.
// Logic lives in report/ (LoadProfile) and formats/pprof.h (WritePprof).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "formats/pprof.h"
#include "report/profile_builder.h"

namespace ringprof::cli {
namespace {

constexpr char kUsage[] =
    "usage: ringprof pprof [-i FILE] [-o OUT] [--symfs DIR] [--no-demangle] [--pid PID] [--comm "
    "NAME]\n\n"
    "Exports a recording as a gzipped pprof profile (go tool pprof, Pyroscope,\n"
    "Parca, Perfetto, speedscope), one value column per event and counter.\n\n"
    "  -i, --input FILE   recording to read (default ringprof.rpf)\n"
    "  -o, --output OUT   profile to write (default ringprof.pb.gz)\n"
    "      --symfs DIR    also look for binaries and debug files under DIR\n"
    "      --no-demangle  keep mangled C++ names\n"
    "  -p, --pid PID      only samples of this process\n"
    "      --comm NAME    only samples of processes with this comm\n"
    "  -h, --help         show this help\n";

int Fail(const std::string& what, const std::string& why, const char* todo) {
  std::fprintf(stderr, "ringprof pprof: %s: %s; %s\n", what.c_str(), why.c_str(), todo);
  return 1;
}

}  // namespace

int RunPprof(int argc, char** argv) {
  enum { kSymfs = 256, kNoDemangle, kComm };
  static const option kOptions[] = {{"input", required_argument, nullptr, 'i'},
                                    {"output", required_argument, nullptr, 'o'},
                                    {"symfs", required_argument, nullptr, kSymfs},
                                    {"no-demangle", no_argument, nullptr, kNoDemangle},
                                    {"pid", required_argument, nullptr, 'p'},
                                    {"comm", required_argument, nullptr, kComm},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  std::string input = "ringprof.rpf", output = "ringprof.pb.gz";
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
    return Fail("unexpected argument", argv[optind], "see 'ringprof pprof --help'");

  absl::StatusOr<formats::Profile> profile = report::LoadProfile(input, sym, build);
  if (!profile.ok())
    return Fail("cannot read " + input, std::string(profile.status().message()),
                "pass a recording made by 'ringprof record' with -i");
  if (std::string w = report::DamageWarning(profile->damage); !w.empty())
    std::fprintf(stderr, "ringprof pprof: %s\n", w.c_str());
  if (absl::Status s = formats::WritePprof(*profile, output); !s.ok())
    return Fail("cannot write the profile", std::string(s.message()),
                "check the -o path and free space");
  return 0;
}

}  // namespace ringprof::cli
