// Small helpers for absl::Status plumbing. Every boundary with the kernel,
// libbpf, libdw or the file system returns absl::Status / absl::StatusOr;
// these macros keep the call sites short without hiding the error.
#ifndef RINGPROF_BASE_STATUS_MACROS_H_
#define RINGPROF_BASE_STATUS_MACROS_H_

#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define RP_CONCAT_INNER_(a, b) a##b
#define RP_CONCAT_(a, b) RP_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    ::absl::Status rp_status_ = (expr);      \
    if (!rp_status_.ok()) return rp_status_; \
  } while (0)

// lhs may be a declaration ("auto x") and tmp is a name: neither can be
// parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(RP_CONCAT_(rp_statusor_, __LINE__), lhs, expr)

namespace ringprof {

// Debian's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::StrCat and friends take absl::string_view, not std::string_view.
// Sv() bridges the two.
inline absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Maps an errno value to the closest absl status code and keeps the errno
// text in the message: "<what>: <strerror> (errno N)".
inline absl::Status ErrnoStatus(int err, std::string_view what) {
  // Debian's Abseil has its own absl::string_view (not std::string_view).
  std::string msg = absl::StrCat(absl::string_view(what.data(), what.size()), ": ",
                                 std::strerror(err), " (errno ", err, ")");
  switch (err) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EINVAL:
      return absl::InvalidArgumentError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case E2BIG:
      return absl::ResourceExhaustedError(msg);
    case EOPNOTSUPP:
    case ENODEV:
    case ENOSYS:
      return absl::UnimplementedError(msg);
    case EBUSY:
    case EAGAIN:
      return absl::UnavailableError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

// Convenience: ErrnoStatus(errno, what).
inline absl::Status LastErrnoStatus(std::string_view what) { return ErrnoStatus(errno, what); }

}  // namespace ringprof

#endif  // RINGPROF_BASE_STATUS_MACROS_H_
