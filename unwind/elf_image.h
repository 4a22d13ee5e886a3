// Small ELF facts read straight from a file with libelf: the GNU build-id.
// The collector uses it for mappings it synthesizes from /proc (the kernel
// only reports build-ids for mappings it sees being created).
#ifndef RINGPROF_UNWIND_ELF_IMAGE_H_
#define RINGPROF_UNWIND_ELF_IMAGE_H_

#include <string>

#include "absl/status/statusor.h"

namespace ringprof::unwind {

// Raw bytes of the NT_GNU_BUILD_ID note; NotFound when the file has none,
// InvalidArgument when it is not ELF.
absl::StatusOr<std::string> ReadGnuBuildId(const std::string& path);

}  // namespace ringprof::unwind

#endif  // RINGPROF_UNWIND_ELF_IMAGE_H_
