#include "cli/profile_input.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "base/escape.h"

namespace ringprof::cli {

#define RINGPROF_PROFILE_FILTER_HELP                                        \
  "      --symfs DIR    also look for binaries and debug files under DIR\n" \
  "      --no-demangle  show mangled C++ names\n"                           \
  "  -p, --pid PID      only samples of this process\n"                     \
  "      --comm NAME    only samples of processes with this comm\n"         \
  "  -h, --help         show this help\n"

const char kProfileInputHelp[] =
    "  -i, --input FILE   recording to read (default ringprof.rpf)\n" RINGPROF_PROFILE_FILTER_HELP;
const char kProfileFilterHelp[] = RINGPROF_PROFILE_FILTER_HELP;

int FailLine(const char* cmd, const std::string& what, const std::string& why,
             const std::string& todo) {
  std::fprintf(stderr, "ringprof %s: %s: %s; %s\n", cmd, EscapeIfNotPrintable(what).c_str(),
               EscapeIfNotPrintable(why).c_str(), EscapeIfNotPrintable(todo).c_str());
  return 1;
}

std::string OutputAdvice(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return "redirect standard output to a file or pass -o FILE";
    case absl::StatusCode::kResourceExhausted:
      return "free space or choose another path with -o";
    case absl::StatusCode::kNotFound:
      return "create the directory or choose another path with -o";
    case absl::StatusCode::kPermissionDenied:
      return "choose a writable path with -o";
    default:
      return "check the -o path";
  }
}

bool HandleGraphOption(int c, const char* arg, report::FlameGraphOptions* graph,
                       std::string* error) {
  switch (c) {
    case kOptTitle:
      graph->title = arg;
      return true;
    case kOptWidth:
      if (!absl::SimpleAtoi(arg, &graph->width) || graph->width < 100) {
        *error = std::string("bad --width: '") + arg + "' is not a width; pass at least 100 pixels";
      }
      return true;
    case kOptMinWidth:
      if (!absl::SimpleAtod(arg, &graph->min_width) || !(graph->min_width >= 0)) {
        *error =
            std::string("bad --minwidth: '") + arg + "' is not a pixel width; pass a number >= 0";
      }
      return true;
    case kOptMetric:
      graph->metric = arg;
      return true;
    default:
      return false;
  }
}

bool ProfileInput::Handle(int c, const char* arg, std::string* error) {
  switch (c) {
    case 'i':
      input = arg;
      return true;
    case kOptSymfs:
      symbolizer.symfs.push_back(arg);
      return true;
    case kOptNoDemangle:
      symbolizer.demangle = false;
      return true;
    case 'p':
      if (!absl::SimpleAtoi(arg, &build.pid) || build.pid == 0) {
        *error =
            std::string("bad --pid: '") + arg + "' is not a process id; pass a positive number";
      }
      return true;
    case kOptComm:
      build.comm = arg;
      return true;
    default:
      return false;
  }
}

std::optional<formats::Profile> ProfileInput::Load(const char* cmd) const {
  return LoadPath(cmd, input, "with -i");
}

std::optional<formats::Profile> ProfileInput::LoadPath(const char* cmd, const std::string& path,
                                                       const std::string& how) const {
  absl::StatusOr<formats::Profile> profile = report::LoadProfile(path, symbolizer, build);
  if (!profile.ok()) {
    FailLine(cmd, "cannot read " + path, std::string(profile.status().message()),
             "pass a recording made by 'ringprof record' " + how);
    return std::nullopt;
  }
  if (std::string w = report::DamageWarning(profile->damage); !w.empty()) {
    std::fprintf(stderr, "ringprof %s: %s: %s\n", cmd, EscapeIfNotPrintable(path).c_str(),
                 w.c_str());
  }
  return *std::move(profile);
}

}  // namespace ringprof::cli
