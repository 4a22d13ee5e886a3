#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "base/escape.h"
#include "base/scoped_fd.h"
#include "base/status_macros.h"

namespace ringprof {
namespace {

absl::Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus(what);
    if (n == 0) return ErrnoStatus(EIO, what);  // a write(2) of > 0 bytes never returns 0
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status RefuseTerminal(std::string_view name) {
  return absl::FailedPreconditionError(
      absl::StrCat(Sv(name), " is a terminal and the output is binary"));
}

// Six characters for a temporary file name. O_EXCL makes a collision a
// retry, not a clobber, so a weak source only costs retries.
std::string RandomSuffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6];
  if (::getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof bytes)) {
    static uint64_t counter = 0;
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (static_cast<uint64_t>(::getpid()) << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^
                 (++counter * 0x9E3779B97F4A7C15ull);
    for (unsigned char& b : bytes) {
      b = static_cast<unsigned char>(x);
      x = (x >> 8) | (x << 56);
    }
  }
  std::string out;
  for (unsigned char b : bytes) out.push_back(kChars[b % (sizeof kChars - 1)]);
  return out;
}

// A character device or FIFO: written in place, as a stream.
absl::Status WriteStream(const std::string& path, std::string_view data,
                         const OutputOptions& options, const std::string& what) {
  ScopedFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return LastErrnoStatus(what);
  if (options.binary && ::isatty(fd.get())) return RefuseTerminal(EscapeIfNotPrintable(path));
  RETURN_IF_ERROR(WriteAll(fd.get(), data, what));
  if (::close(fd.Release()) != 0) return LastErrnoStatus(what);
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckOutputTarget(const std::string& path, const OutputOptions& options) {
  if (options.binary && path == kStandardOutputPath && ::isatty(STDOUT_FILENO))
    return RefuseTerminal("standard output");
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view data,
                                 const OutputOptions& options) {
  const std::string shown = EscapeIfNotPrintable(path);
  const std::string what = absl::StrCat("writing ", shown);
  if (path.empty()) return absl::InvalidArgumentError("no output path given");

  std::string target = path;
  mode_t perm = options.mode & 07777;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return ErrnoStatus(EISDIR, what);
    if (!S_ISREG(st.st_mode)) return WriteStream(path, data, options, what);
    perm &= st.st_mode & 07777;
    struct stat link {};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      char* real = ::realpath(path.c_str(), nullptr);
      if (real == nullptr) return LastErrnoStatus(what);
      target = real;
      std::free(real);
    }
  } else if (errno != ENOENT) {
    return LastErrnoStatus(what);
  }
  // A missing directory shows up below, when the temporary file cannot be
  // created in it.

  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return ErrnoStatus(EISDIR, what);
  // Room for ".", ".XXXXXX.tmp" within NAME_MAX (255) bytes.
  const std::string stem = absl::StrCat(Sv(dir), ".", Sv(std::string_view(name).substr(0, 200)));

  ScopedFd fd;
  std::string temp;
  for (int attempt = 0; !fd.valid(); ++attempt) {
    temp = absl::StrCat(stem, ".", RandomSuffix(), ".tmp");
    fd.Reset(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perm));
    if (!fd.valid() && (errno != EEXIST || attempt == 100)) return LastErrnoStatus(what);
  }
  absl::Status status = WriteAll(fd.get(), data, what);
  // fsync: the data is on disk before the name points at it (else a crash
  // soon after the rename can leave an empty file under the new name), and
  // write-back errors (quota, network file systems) are reported here. File
  // systems that cannot sync say EINVAL; that is not a failure to write.
  if (status.ok() && ::fsync(fd.get()) != 0 && errno != EINVAL && errno != ENOSYS &&
      errno != EOPNOTSUPP)
    status = LastErrnoStatus(what);
  if (status.ok() && ::close(fd.Release()) != 0) status = LastErrnoStatus(what);
  if (status.ok() && ::rename(temp.c_str(), target.c_str()) != 0)
    status = LastErrnoStatus(absl::StrCat("replacing ", shown));
  if (!status.ok()) {
    fd.Reset();
    ::unlink(temp.c_str());
  }
  return status;
}

absl::Status WriteOutput(const std::string& path, std::string_view data,
                         const OutputOptions& options) {
  if (path != kStandardOutputPath) return WriteFileAtomically(path, data, options);
  RETURN_IF_ERROR(CheckOutputTarget(path, options));
  // Text printed through stdio comes first.
  std::fflush(stdout);
  return WriteAll(STDOUT_FILENO, data, "writing standard output");
}

}  // namespace ringprof
