// Test-only: reading and writing whole files, and a scratch directory that
// is removed with its contents when the test is done with it.
#ifndef RINGPROF_TESTS_COMMON_FILES_H_
#define RINGPROF_TESTS_COMMON_FILES_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ringprof::testing {

// The whole file, or "" when it cannot be read.
inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Creates (truncates) `path` with `data`; false on failure.
inline bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  f.flush();
  return static_cast<bool>(f);
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction. path() is "" if it could not be made.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ringprof-test") {
    std::error_code ec;
    std::filesystem::path base = std::filesystem::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace ringprof::testing

#endif  // RINGPROF_TESTS_COMMON_FILES_H_
