// `ringprof pprof`: exports a recording as gzipped pprof profile.proto.
// Logic lives in report/ (LoadProfile) and formats/pprof.h (WritePprof,
// which writes through base/atomic_file.h).
#include <getopt.h>

#include <cstdio>
#include <string>

#include "base/atomic_file.h"
#include "cli/commands.h"
#include "cli/profile_input.h"
#include "formats/pprof.h"

namespace ringprof::cli {
namespace {

constexpr char kCmd[] = "pprof";
constexpr char kUsage[] =
    "usage: ringprof pprof [[-i] FILE] [-o OUT] [--symfs DIR] [--no-demangle] [--pid PID]\n"
    "                      [--comm NAME]\n\n"
    "Exports a recording as a gzipped pprof profile (go tool pprof, Pyroscope,\n"
    "Parca, Perfetto, speedscope), one value column per event and counter.\n\n"
    "  -o, --output OUT   profile to write (default ringprof.pb.gz); '-': standard\n"
    "                     output, unless it is a terminal. A file is replaced whole or\n"
    "                     not at all (written next to it, then renamed), mode 0600\n"
    "                     less the umask: profiles hold raw kernel addresses\n";

}  // namespace

int RunPprof(int argc, char** argv) {
  static const option kOptions[] = {RINGPROF_PROFILE_INPUT_LONG_OPTIONS,
                                    {"output", required_argument, nullptr, 'o'},
                                    {nullptr, 0, nullptr, 0}};
  const std::string shortopts = std::string(kProfileInputShortOptions) + "o:";
  ProfileInput in;
  std::string output = "ringprof.pb.gz";
  optind = 1;
  for (int c; (c = getopt_long(argc, argv, shortopts.c_str(), kOptions, nullptr)) != -1;) {
    std::string error;
    if (c == 'h') {
      std::printf("%s%s", kUsage, kProfileInputHelp);
      return 0;
    } else if (in.Handle(c, optarg, &error)) {
      if (!error.empty()) return FailLine(kCmd, "bad option", error, "see --help");
    } else if (c == 'o') {
      output = optarg;
    } else {
      std::fprintf(stderr, "%s%s", kUsage, kProfileInputHelp);
      return 2;
    }
  }
  if (std::string error; !in.TakePositional(argc, argv, optind, &error))
    return FailLine(kCmd, "bad arguments", error, "see 'ringprof pprof --help'");

  // Before the (slow) load: a gzipped profile is not for a terminal.
  if (absl::Status s = CheckOutputTarget(output, formats::kPprofOutput); !s.ok())
    return FailLine(kCmd, "will not write the profile", std::string(s.message()), OutputAdvice(s));
  std::optional<formats::Profile> profile = in.Load(kCmd);
  if (!profile) return 1;
  if (absl::Status s = formats::WritePprof(*profile, output); !s.ok())
    return FailLine(kCmd, "cannot write the profile", std::string(s.message()), OutputAdvice(s));
  return 0;
}

}  // namespace ringprof::cli
