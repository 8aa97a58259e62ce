// Helpers for the traces tests: a temporary directory that files are written
// into, and the path of a real trace in shared/ (tests skip, naming it, when
// shared/ is absent).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace flotilla::testing {

class TempDir {
 public:
  TempDir() {
    static int n = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("flotilla_traces_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to NAME inside the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& dir() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string shared_trace(const std::string& rel) {
  return std::string(FLOTILLA_SHARED_DIR) + "/data/traces/" + rel;
}

}  // namespace flotilla::testing

// Skips the test, naming the file, when a real trace is not there.
#define SKIP_UNLESS_EXISTS(path)                                              \
  do {                                                                        \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << (path); \
  } while (0)
