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
#include "formats/profile.h"

namespace ringprof::formats {

// Serialized, uncompressed profile.proto bytes.
absl::StatusOr<std::string> EncodePprof(const Profile& profile);

// EncodePprof, gzipped (zlib, gzip header).
absl::StatusOr<std::string> EncodePprofGzip(const Profile& profile);

// Writes EncodePprofGzip(profile) to `path` (created or truncated). Write
// failures name the path and keep errno.
absl::Status WritePprof(const Profile& profile, const std::string& path);

}  // namespace ringprof::formats

#endif  // RINGPROF_FORMATS_PPROF_H_
