// An anonymous in-memory file holding given bytes, for libraries that want
// a path ("/proc/self/fd/N") to something that has no file on disk, such as
// the vDSO image.
#ifndef RINGPROF_BASE_MEMFD_H_
#define RINGPROF_BASE_MEMFD_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof {

// A close-on-exec memfd named `name` that holds `bytes`.
inline absl::StatusOr<ScopedFd> MemfdWithBytes(const char* name, std::string_view bytes) {
  ScopedFd fd(memfd_create(name, MFD_CLOEXEC));
  if (!fd.valid()) return LastErrnoStatus(absl::StrCat("creating memfd ", name));
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return LastErrnoStatus(absl::StrCat("writing memfd ", name));
    done += static_cast<size_t>(n);
  }
  return fd;
}

// The path that opens `fd` in this process.
inline std::string FdPath(const ScopedFd& fd) { return absl::StrCat("/proc/self/fd/", fd.get()); }

}  // namespace ringprof

#endif  // RINGPROF_BASE_MEMFD_H_
