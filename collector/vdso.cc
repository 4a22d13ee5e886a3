#include "collector/vdso.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace ringprof::collector {

absl::StatusOr<VdsoImage> VdsoImage::Capture() {
  std::ifstream in("/proc/self/maps");
  if (!in) return LastErrnoStatus("reading /proc/self/maps");
  std::string line;
  uint64_t start = 0;
  uint64_t end = 0;
  while (std::getline(in, line)) {
    if (!absl::EndsWith(line, "[vdso]")) continue;
    std::vector<absl::string_view> range =
        absl::StrSplit(absl::string_view(line).substr(0, line.find(' ')), '-');
    if (range.size() != 2 || !absl::SimpleHexAtoi(range[0], &start) ||
        !absl::SimpleHexAtoi(range[1], &end) || end <= start) {
      return absl::InternalError(absl::StrCat("unreadable [vdso] line in /proc/self/maps: ", line));
    }
    break;
  }
  if (end == 0) return absl::NotFoundError("this process has no [vdso] mapping");
  VdsoImage image;
  image.fd_ = ScopedFd(memfd_create("ringprof-vdso", MFD_CLOEXEC));
  if (!image.fd_.valid()) return LastErrnoStatus("creating a memfd for the vDSO image");
  image.bytes_.assign(reinterpret_cast<const char*>(start), end - start);
  const char* bytes = image.bytes_.data();
  for (uint64_t done = 0; done < end - start;) {
    ssize_t n = write(image.fd_.get(), bytes + done, end - start - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return LastErrnoStatus("copying the vDSO image");
    done += static_cast<uint64_t>(n);
  }
  image.path_ = absl::StrCat("/proc/self/fd/", image.fd_.get());
  return image;
}

}  // namespace ringprof::collector
