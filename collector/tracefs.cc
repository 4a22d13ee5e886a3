#include "collector/tracefs.h"

#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace ringprof::collector {
namespace {

constexpr char kTracefs[] = "/sys/kernel/tracing";
constexpr char kDebugTracing[] = "/sys/kernel/debug/tracing";

bool HasEvents(const std::string& dir) {
  return access(absl::StrCat(dir, "/events").c_str(), F_OK) == 0;
}

}  // namespace

absl::StatusOr<std::string> TracefsDir() {
  for (const char* dir : {kTracefs, kDebugTracing}) {
    if (HasEvents(dir)) return std::string(dir);
  }
  if (mount("nodev", kTracefs, "tracefs", 0, nullptr) == 0 && HasEvents(kTracefs)) {
    return std::string(kTracefs);
  }
  const int err = errno;
  return absl::NotFoundError(
      absl::StrCat("no tracefs (neither ", kTracefs, " nor ", kDebugTracing,
                   " has events/, and mounting ", kTracefs, " failed: ", strerror(err),
                   "); mount it with 'mount -t tracefs nodev ", kTracefs, "'"));
}

absl::StatusOr<uint64_t> TracepointIdIn(const std::string& tracefs, absl::string_view system,
                                        absl::string_view name) {
  const std::string path = absl::StrCat(tracefs, "/events/", system, "/", name, "/id");
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("the kernel has no tracepoint ", system, ":", name, " (", path, ")"));
    }
    return LastErrnoStatus(absl::StrCat("reading ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  uint64_t id = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ss.str()), &id)) {
    return absl::DataLossError(absl::StrCat(path, " does not hold a tracepoint id"));
  }
  return id;
}

absl::StatusOr<uint64_t> TracepointId(absl::string_view system, absl::string_view name) {
  ASSIGN_OR_RETURN(std::string dir, TracefsDir());
  return TracepointIdIn(dir, system, name);
}

}  // namespace ringprof::collector
