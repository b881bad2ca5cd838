// Test helpers: reads the captured posthog-js fixtures from ../shared and temp directories.
// Header-only, for tests only. Not thread-safe (tests are single-threaded).
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace scrubd::testing {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::filesystem::path FixtureDir(const std::string& set = "posthog-js-1.449.2") {
  return std::filesystem::path(SCRUBD_SHARED_DIR) / "fixtures" / set;
}

inline std::string Fixture(const std::string& name, const std::string& set = "posthog-js-1.449.2") {
  return ReadFile(FixtureDir(set) / name);
}

// A fresh directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("scrubd-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True when `needle` occurs in any file under `dir` (recursive byte search).
inline bool AnyFileContains(const std::filesystem::path& dir, const std::string& needle) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    if (ReadFile(e.path()).find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace scrubd::testing
