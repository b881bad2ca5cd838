// A small ZIP archive writer (PKWARE APPNOTE 6.3.x: local headers, stored or raw-deflate data
// via zlib, CRC-32, central directory, end record) and a minimal reader for tests. No ZIP64:
// an archive or member of 4 GiB or more, or over 65,535 members, is refused with kTooLarge.
// Used for the data-subject access bundle (`scrubd export`). A ZipWriter is single-threaded;
// ReadZip is a stateless function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"

namespace scrubd::zip {

enum class Method : uint16_t { kStored = 0, kDeflate = 8 };

inline constexpr uint64_t kMaxZip32Bytes = 0xFFFFFFFFull;  // 4 GiB - 1
inline constexpr size_t kMaxMembers = 0xFFFF;

struct ZipOptions {
  int64_t mtime_unix_s = 0;             // every member's time (DOS, UTC); before 1980 -> 1980-01-01
  uint64_t max_bytes = kMaxZip32Bytes;  // archive size cap; never above kMaxZip32Bytes
};

// Builds the archive in memory (the caller's bundle must fit in memory).
class ZipWriter {
 public:
  explicit ZipWriter(ZipOptions options = {});

  // `name`: 1..255 printable ASCII characters, '/'-separated, no leading '/', no '\\', no
  // empty, "." or ".." component, unique in the archive. Deflated members that would not shrink
  // are stored. kInvalidInput for a bad name; kTooLarge past the caps; kInternal on zlib error.
  Status Add(std::string_view name, std::string_view data, Method method = Method::kDeflate);
  // The finished archive (central directory and end record appended). Once only.
  Result<std::string> Finish();
  // Finish, then WriteFileDurably(env, path, archive, 0600).
  Status WriteTo(Env* env, const std::filesystem::path& path);

  size_t members() const { return central_count_; }

 private:
  ZipOptions options_;
  uint16_t dos_time_ = 0, dos_date_ = 0;
  std::string out_;      // local headers and data so far
  std::string central_;  // central directory records so far
  size_t central_count_ = 0;
  std::vector<std::string> names_;
  bool finished_ = false;
};

struct ZipMember {
  std::string name;
  std::string data;
  Method method = Method::kStored;
};
// Reads an archive this writer could produce (no ZIP64, encryption or data descriptors),
// checking every CRC-32 and that local and central headers agree. kCorruption otherwise.
Result<std::vector<ZipMember>> ReadZip(std::string_view archive);

}  // namespace scrubd::zip
