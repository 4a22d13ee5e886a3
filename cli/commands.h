// Subcommands of the `ringprof` binary. Each parses its own flags, prints
// `--help`, writes errors as one line on stderr and returns the exit code.
// They hold no logic of their own beyond argument handling.
#ifndef RINGPROF_CLI_COMMANDS_H_
#define RINGPROF_CLI_COMMANDS_H_

namespace ringprof::cli {

int RunRecord(int argc, char** argv);      // cli/cmd_record.cc
int RunReport(int argc, char** argv);      // cli/cmd_report.cc
int RunFlamegraph(int argc, char** argv);  // cli/cmd_flamegraph.cc
int RunPprof(int argc, char** argv);       // cli/cmd_pprof.cc
int RunDiff(int argc, char** argv);        // cli/cmd_diff.cc
int RunAddr2line(int argc, char** argv);   // cli/cmd_addr2line.cc
int RunEvents(int argc, char** argv);      // cli/cmd_events.cc

}  // namespace ringprof::cli

#endif  // RINGPROF_CLI_COMMANDS_H_
