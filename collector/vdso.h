// The vDSO image, for unwinding through it. Every process maps the same
// kernel-provided vDSO, which has no file on disk, so its .eh_frame (or
// .sframe) is unreachable by path. ringprof copies its own mapping of it
// into a memfd once per recording; the table builders and the dwarf
// unwinder then read that as the file behind every process's [vdso], and
// the recording stores the image (an IMAGE chunk) for symbolizing.
#ifndef RINGPROF_COLLECTOR_VDSO_H_
#define RINGPROF_COLLECTOR_VDSO_H_

#include <string>

#include "absl/status/statusor.h"
#include "base/scoped_fd.h"

namespace ringprof::collector {

class VdsoImage {
 public:
  // Copies this process's [vdso] (found in /proc/self/maps) into a memfd.
  static absl::StatusOr<VdsoImage> Capture();
  // A path that opens the copy ("/proc/self/fd/N"), valid while this lives.
  const std::string& path() const { return path_; }
  // The image itself.
  const std::string& bytes() const { return bytes_; }

 private:
  ScopedFd fd_;
  std::string path_;
  std::string bytes_;
};

}  // namespace ringprof::collector

#endif  // RINGPROF_COLLECTOR_VDSO_H_
