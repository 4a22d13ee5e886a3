#include <cstdio>
#include <cstring>
#include <string_view>

#include "cli/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"record", ringprof::cli::RunRecord,
     "sample a command, process or the whole system into a recording"},
    {"report", ringprof::cli::RunReport, "per-function table of a recording, with what was lost"},
    {"flamegraph", ringprof::cli::RunFlamegraph,
     "interactive SVG flame graph (or --folded stacks)"},
    {"pprof", ringprof::cli::RunPprof, "export a recording as gzipped pprof profile.proto"},
    {"diff", ringprof::cli::RunDiff, "differential flame graph of two recordings (BASE NEW)"},
    {"addr2line", ringprof::cli::RunAddr2line,
     "symbolize addresses in an ELF file (binutils-compatible)"},
    {"events", ringprof::cli::RunEvents, "list the events this machine can count (each opened)"},
};

void PrintUsage(std::FILE* out) {
  std::fprintf(out,
               "usage: ringprof <command> [options]\n\n"
               "A continuous profiler for Linux: perf_event sampling, BPF stack capture,\n"
               "offline symbolization by build-id.\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-11s %s\n", c.name, c.summary);
  std::fprintf(out, "\nRun 'ringprof <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    PrintUsage(stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("ringprof 0.1.0\n");
    return 0;
  }
  for (const Command& c : kCommands) {
    if (cmd == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "ringprof: unknown command '%s'; run 'ringprof --help' for the list\n",
               argv[1]);
  return 2;
}
