// Output files that are whole or absent. Every file a report command writes
// (flame graphs, folded stacks, diffs, pprof profiles) goes through
// WriteOutput, so a full disk, a quota or a crash never leaves a truncated
// SVG or an empty .pb.gz where a good one was expected.
//
// A file is written to a temporary file in the target's directory
// (".<name>.XXXXXX.tmp", created with O_EXCL and O_CLOEXEC), every write
// checked, then fsync'd (which also reports errors that a network or
// quota-limited file system only finds at write-back) and closed, and only
// then renamed over the target. rename(2) within one directory is atomic: a
// reader sees the old file or the new one, never a part. On any failure the
// temporary file is removed and an existing target is left as it was. A
// process killed with SIGKILL in the middle leaves its temporary file
// behind (the target is still untouched).
//
// Permissions: a new file gets `mode` less the umask. A replaced file gets
// the same, further limited to the replaced file's permission bits, so
// replacing a file the user had made private keeps it private. pprof
// profiles are written 0600 (they hold raw kernel addresses), text outputs
// 0644.
//
// Targets that are not regular files are not replaced: a symbolic link is
// followed (its target is replaced, the link stays), and a character
// device or FIFO (/dev/null, a named pipe) is written directly, as a
// stream. "-" is the standard output, also a stream: what was written
// before a failure stays written.
#ifndef RINGPROF_BASE_ATOMIC_FILE_H_
#define RINGPROF_BASE_ATOMIC_FILE_H_

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ringprof {

// The output path that means the standard output.
inline constexpr char kStandardOutputPath[] = "-";

struct OutputOptions {
  // Permission bits of a new file, before the umask.
  mode_t mode = 0644;
  // Binary data (gzipped pprof): refuse to write it to a terminal.
  bool binary = false;
};

// What can be checked before the data is made: a binary output whose
// target is the standard output fails (FailedPrecondition) when the
// standard output is a terminal.
absl::Status CheckOutputTarget(const std::string& path, const OutputOptions& options);

// Writes `data` to `path` as described above: whole, or not at all for a
// regular file. Errors name the path and keep errno ("writing out.svg: No
// space left on device (errno 28)"); a path that is not printable text is
// shown escaped (base/escape.h).
absl::Status WriteFileAtomically(const std::string& path, std::string_view data,
                                 const OutputOptions& options = {});

// WriteFileAtomically, or the standard output when `path` is "-" (after
// CheckOutputTarget).
absl::Status WriteOutput(const std::string& path, std::string_view data,
                         const OutputOptions& options = {});

}  // namespace ringprof

#endif  // RINGPROF_BASE_ATOMIC_FILE_H_
