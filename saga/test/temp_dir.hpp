#pragma once
// A directory of its own for a test's SQLite files, removed with it.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace roost::saga::test {

struct temp_dir {
  temp_dir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("roost-saga-" + std::to_string(::getpid()) + "-d" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::filesystem::path path;
};

}  // namespace roost::saga::test
