// Test helpers: reads the captured posthog-js fixtures from ../shared and temp directories.
// Header-only, for tests only. Not thread-safe (tests are single-threaded).
#pragma once

#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
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

// The bytes of `p`, followed by their decoding when `p` starts with the zstd magic (a v2 store
// chunk), so a search over a store sees what compressed chunks hold. Decoded here with libzstd
// directly, not with the store's codec (sink/chunk_codec.h): a codec bug cannot hide stored
// bytes from the tests. Throws (the test fails) for a zstd file that does not decode.
inline std::string ReadDecoded(const std::filesystem::path& p) {
  std::string bytes = ReadFile(p);
  if (bytes.size() < 4 || bytes.compare(0, 4, "\x28\xb5\x2f\xfd") != 0) return bytes;
  unsigned long long n = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1ull << 30))
    throw std::runtime_error("zstd file without a usable content size: " + p.string());
  std::string text(n, '\0');
  size_t got = ZSTD_decompress(text.data(), text.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(got) || got != n)
    throw std::runtime_error("zstd file does not decode: " + p.string());
  return bytes + text;
}

// True when `needle` occurs in any file under `dir` (recursive byte search; zstd files are
// searched decoded too, see ReadDecoded).
inline bool AnyFileContains(const std::filesystem::path& dir, const std::string& needle) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    if (ReadDecoded(e.path()).find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace scrubd::testing
