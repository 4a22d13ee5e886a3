// What every command that reads a recording shares: the input options
// (-i, -p, --comm, --symfs, --no-demangle), their help text, loading the
// profile with a damage warning, and the one-line error format.
#ifndef RINGPROF_CLI_PROFILE_INPUT_H_
#define RINGPROF_CLI_PROFILE_INPUT_H_

#include <getopt.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "formats/profile.h"
#include "report/flamegraph.h"
#include "report/profile_builder.h"
#include "symbolizer/symbolizer.h"

namespace ringprof::cli {

// Long-option codes for the shared options; commands number theirs from
// kFirstCommandOption.
enum ProfileInputOption {
  kOptSymfs = 256,
  kOptNoDemangle,
  kOptComm,
  kOptTitle,
  kOptWidth,
  kOptMinWidth,
  kOptMetric,
  kFirstCommandOption
};

// getopt_long entries for the shared options (spliced into each command's
// table), and their short letters.
#define RINGPROF_PROFILE_INPUT_LONG_OPTIONS                                   \
  {"input", required_argument, nullptr, 'i'},                                 \
      {"symfs", required_argument, nullptr, ::ringprof::cli::kOptSymfs},      \
      {"no-demangle", no_argument, nullptr, ::ringprof::cli::kOptNoDemangle}, \
      {"pid", required_argument, nullptr, 'p'},                               \
      {"comm", required_argument, nullptr, ::ringprof::cli::kOptComm}, {      \
    "help", no_argument, nullptr, 'h'                                         \
  }
inline constexpr char kProfileInputShortOptions[] = "i:p:h";

extern const char kProfileInputHelp[];
// The same without -i, for commands that take recordings as arguments.
extern const char kProfileFilterHelp[];

// Options of every flame-graph drawing command (flamegraph, diff):
// --title, --width, --minwidth, --metric.
#define RINGPROF_GRAPH_LONG_OPTIONS                                              \
  {"title", required_argument, nullptr, ::ringprof::cli::kOptTitle},             \
      {"width", required_argument, nullptr, ::ringprof::cli::kOptWidth},         \
      {"minwidth", required_argument, nullptr, ::ringprof::cli::kOptMinWidth}, { \
    "metric", required_argument, nullptr, ::ringprof::cli::kOptMetric            \
  }

// Takes option `c` if it is a graph option: returns false if it is not. A
// bad value sets *error to a one-line message.
bool HandleGraphOption(int c, const char* arg, report::FlameGraphOptions* graph,
                       std::string* error);

// "ringprof <cmd>: <what>: <why>; <todo>" on stderr; returns 1. Parts that
// are not printable text (a path with a control byte) are escaped.
int FailLine(const char* cmd, const std::string& what, const std::string& why,
             const std::string& todo);

// What to do about a failed output (base/atomic_file.h), for FailLine:
// free space, create the directory, redirect a terminal, ...
std::string OutputAdvice(const absl::Status& status);

struct ProfileInput {
  std::string input = "ringprof.rpf";  // "-": standard input
  bool input_given = false;            // -i was given
  // Print the profile's warnings (Profile::warnings) on stderr; report
  // shows them in its summary instead.
  bool print_warnings = true;
  symbolizer::SymbolizerOptions symbolizer;
  report::BuildOptions build;

  // Takes option `c` if it is a shared one: returns false if it is not.
  // A bad value sets *error to a one-line message.
  bool Handle(int c, const char* arg, std::string* error);
  // The arguments left after the options: at most one, the recording (as
  // `ringprof report FILE`, like perf report's -i), not together with -i.
  // Returns false and sets *error otherwise.
  bool TakePositional(int argc, char** argv, int first, std::string* error);

  // Loads and symbolizes the recording. A damaged file gives a warning line
  // on stderr and still loads; a failure prints the error line and returns
  // nullopt.
  std::optional<formats::Profile> Load(const char* cmd) const;
  // Load() for another recording with the same options; `how` ends the
  // error's advice ("with -i", "as BASE").
  std::optional<formats::Profile> LoadPath(const char* cmd, const std::string& path,
                                           const std::string& how) const;
};

}  // namespace ringprof::cli

#endif  // RINGPROF_CLI_PROFILE_INPUT_H_
