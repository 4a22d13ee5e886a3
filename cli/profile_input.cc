#include "cli/profile_input.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/escape.h"
#include "formats/recording.h"

namespace ringprof::cli {

#define RINGPROF_PROFILE_FILTER_HELP                                        \
  "      --symfs DIR    also look for binaries and debug files under DIR\n" \
  "      --no-demangle  show mangled C++ names\n"                           \
  "  -p, --pid PID      only samples of this process\n"                     \
  "      --comm NAME    only samples of processes with this comm\n"         \
  "  -h, --help         show this help\n"

const char kProfileInputHelp[] =
    "  -i, --input FILE   recording to read (default ringprof.rpf; '-' reads standard\n"
    "                     input); also accepted as the one argument after the "
    "options\n" RINGPROF_PROFILE_FILTER_HELP;
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
      input_given = true;
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

bool ProfileInput::TakePositional(int argc, char** argv, int first, std::string* error) {
  if (first >= argc) return true;
  if (argc - first > 1) {
    *error = std::string("unexpected argument '") + argv[first + 1] +
             "': give one recording (FILE or -i FILE)";
    return false;
  }
  if (input_given) {
    *error = std::string("both -i ") + input + " and '" + argv[first] +
             "' name a recording: give one of them";
    return false;
  }
  input = argv[first];
  input_given = true;
  return true;
}

namespace {

// When --pid or --comm leave no sample: which processes the recording
// does have, so the user can pick one.
void NoteEmptyFilter(const char* cmd, const std::string& path, const report::BuildOptions& build) {
  absl::StatusOr<formats::Recording> rec = formats::ReadRecording(path);
  if (!rec.ok()) return;
  std::map<uint32_t, uint64_t> samples_by_pid;
  for (const formats::Sample& s : rec->samples) ++samples_by_pid[s.pid];
  std::map<uint32_t, std::string> comm;
  for (const formats::TaskEvent& t : rec->tasks) {
    if ((t.kind == formats::TaskEventKind::kComm || t.kind == formats::TaskEventKind::kExec) &&
        t.pid == t.tid) {
      comm[t.pid] = t.comm;
    }
  }
  std::vector<std::pair<uint64_t, uint32_t>> top;
  top.reserve(samples_by_pid.size());
  for (const auto& [pid, n] : samples_by_pid) top.emplace_back(n, pid);
  std::sort(top.rbegin(), top.rend());
  std::string have;
  for (size_t i = 0; i < top.size() && i < 5; ++i) {
    const uint32_t pid = top[i].second;
    absl::StrAppend(&have, i ? ", " : "", pid,
                    comm.count(pid) ? " (" + EscapeText(comm[pid]) + ")" : "", ": ", top[i].first);
  }
  if (top.size() > 5) absl::StrAppend(&have, ", ...");
  std::string filter;
  if (build.pid != 0) filter = absl::StrCat("--pid ", build.pid);
  if (!build.comm.empty())
    absl::StrAppend(&filter, filter.empty() ? "" : " ", "--comm ", build.comm);
  std::fprintf(stderr, "ringprof %s: note: no sample of %s matches %s; samples by process: %s\n",
               cmd, path.c_str(), filter.c_str(), have.empty() ? "none" : have.c_str());
}

}  // namespace

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
  if (print_warnings) {
    for (const std::string& w : profile->warnings) {
      std::fprintf(stderr, "ringprof %s: warning: %s\n", cmd, w.c_str());
    }
  }
  if ((build.pid != 0 || !build.comm.empty()) && profile->samples.empty() && path != "-") {
    NoteEmptyFilter(cmd, path, build);
  }
  return *std::move(profile);
}

}  // namespace ringprof::cli
