#include "collector/vdso.h"

#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/memfd.h"
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
  // The vDSO's address, read from /proc/self/maps, is an integer.
  image.bytes_.assign(reinterpret_cast<const char*>(start),  // NOLINT(performance-no-int-to-ptr)
                      end - start);
  ASSIGN_OR_RETURN(image.fd_, MemfdWithBytes("ringprof-vdso", image.bytes_));
  image.path_ = FdPath(image.fd_);
  return image;
}

}  // namespace ringprof::collector
