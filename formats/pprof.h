// pprof export: encodes a formats::Profile as pprof's profile.proto
// (formats/profile.proto, field numbers as in google/pprof) and writes it
// gzipped, which is what `go tool pprof`, Pyroscope, Parca, Perfetto and
// speedscope read.
//
// The Profile model already has pprof's shape (ids, leaf-first location
// lists, inline chains as several Lines per Location), so encoding is a
// direct copy plus string-table interning. EncodePprof checks the
// invariants that make `go tool pprof` reject a file (zero or duplicate
// ids, dangling references, value counts that do not match the sample
// types) and reports them instead of writing a file pprof cannot open.
#ifndef RINGPROF_FORMATS_PPROF_H_
#define RINGPROF_FORMATS_PPROF_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/atomic_file.h"
#include "formats/profile.h"

namespace ringprof::formats {

// Serialized, uncompressed profile.proto bytes. Every string in the table
// is valid UTF-8: strings of `profile` that are not printable text are
// escaped (base/escape.h).
absl::StatusOr<std::string> EncodePprof(const Profile& profile);

// EncodePprof, gzipped (zlib, gzip header).
absl::StatusOr<std::string> EncodePprofGzip(const Profile& profile);

// How pprof files are written: 0600 (before the umask), since a profile
// holds raw kernel addresses (KASLR offsets) and what ran; never to a
// terminal, since it is gzipped binary.
inline constexpr OutputOptions kPprofOutput = {.mode = 0600, .binary = true};

// Writes EncodePprofGzip(profile) to `path` whole or not at all, or to the
// standard output when `path` is "-" (base/atomic_file.h, kPprofOutput).
// Failures name the path and keep errno; a terminal on the standard output
// is refused (FailedPrecondition) before anything is encoded.
absl::Status WritePprof(const Profile& profile, const std::string& path);

}  // namespace ringprof::formats

#endif  // RINGPROF_FORMATS_PPROF_H_
