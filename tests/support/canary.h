// Test helpers that look for a planted canary in every byte of a directory (the data dir:
// store, index, spool, audit log, DOM state). Header-only, for tests only; depends on the
// standard library, gtest and libzstd alone. Not thread-safe (read the dir once writers are idle).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "support/fixtures.h"

namespace scrubd::testing {

// How a file's bytes are searched: as they are, or a readable view of them (e.g. with gzip
// streams inflated) appended to them.
using BytesView = std::function<std::string(std::string_view)>;

// Every regular file under `dir` (recursive), path -> bytes (zstd files, v2 store chunks,
// followed by their decoding: ReadDecoded); empty when `dir` is missing.
inline std::map<std::string, std::string> FilesUnder(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[e.path().string()] = ReadDecoded(e.path());
  return files;
}

// Every byte of every regular file under `dir`, each file followed by a newline; with `view`,
// each file's bytes are replaced by view(bytes).
inline std::string DirBytes(const std::filesystem::path& dir, const BytesView& view = nullptr) {
  std::string all;
  for (const auto& [path, bytes] : FilesUnder(dir)) {
    all += view ? view(bytes) : bytes;
    all += '\n';
  }
  return all;
}

// Fails (non-fatally) once per file under `dir` that holds `canary`, naming the file relative
// to `dir`; `view` as for DirBytes. Returns the number of such files.
inline size_t ExpectAbsentEverywhere(const std::filesystem::path& dir, std::string_view canary,
                                     const BytesView& view = nullptr) {
  size_t hits = 0;
  if (canary.empty()) return hits;
  for (const auto& [path, bytes] : FilesUnder(dir)) {
    if ((view ? view(bytes) : bytes).find(canary) == std::string::npos) continue;
    ++hits;
    ADD_FAILURE() << "'" << canary << "' found in "
                  << std::filesystem::relative(path, dir).string();
  }
  return hits;
}

}  // namespace scrubd::testing
