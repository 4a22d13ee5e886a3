// Runs `ringprof addr2line` without linking the whole ringprof binary, so
// the symbolizer tests do not depend on the collector building.
#include "cli/commands.h"

int main(int argc, char** argv) {
  argv[0] = const_cast<char*>("addr2line");
  return ringprof::cli::RunAddr2line(argc, argv);
}
