// Test-only: file system fixtures for output tests. A small tmpfs mounted
// on a fresh directory (a full disk, or a read-only one, on demand; needs
// root), listing a directory, and reading a file.
#ifndef RINGPROF_TESTS_BASE_FS_TESTING_H_
#define RINGPROF_TESTS_BASE_FS_TESTING_H_

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ringprof::testing {

// Mounts a tmpfs with `options` ("size=64k") on a fresh directory under
// the temp dir, read-only if asked, and unmounts and removes it when
// destroyed. When that is not possible, dir() is empty and reason() says
// why (for GTEST_SKIP).
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& options, bool read_only = false) {
    if (::geteuid() != 0) {
      reason_ = "needs root to mount a tmpfs";
      return;
    }
    std::string tmpl = (std::filesystem::temp_directory_path() / "ringprof-tmpfs-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      reason_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    if (::mount("tmpfs", tmpl.c_str(), "tmpfs", read_only ? MS_RDONLY : 0, options.c_str()) != 0) {
      reason_ = "cannot mount a tmpfs (" + options + "): " + std::strerror(errno);
      ::rmdir(tmpl.c_str());
      return;
    }
    dir_ = tmpl;
  }
  ~TmpfsMount() {
    if (dir_.empty()) return;
    if (::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
    ::rmdir(dir_.c_str());
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& reason() const { return reason_; }
  std::string File(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  std::string reason_;
};

// A fresh directory, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ringprof-out-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Names in `dir` (not . and ..), hidden ones included.
inline std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.insert(e.path().filename().string());
  return names;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool WriteSmallFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  return static_cast<bool>(f);
}

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_BASE_FS_TESTING_H_
