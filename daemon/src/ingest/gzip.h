// Bounded gzip/zlib inflate for untrusted bodies and nested rrweb `cv` fields, plus gzip
// deflate for re-encoding. Pure functions; thread-safe. Caps are enforced while inflating,
// so a gzip bomb costs at most `max_output` bytes of memory and is rejected as kTooLarge.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd::ingest {

struct InflateLimits {
  size_t max_output = 64u << 20;  // absolute cap on decompressed bytes
  double max_ratio = 1100.0;      // output/input cap, checked once output passes 1 MiB
};

// Output below this many bytes is never refused by a ratio cap (small bodies compress well).
inline constexpr size_t kRatioFloorBytes = size_t{1} << 20;

// The decompressed-byte cap of one whole request, the body and every nested field together:
// the absolute cap, and the ratio cap against the `wire_bytes` the client sent (never below
// kRatioFloorBytes). A split bomb (many small fields) is refused as a whole.
size_t RequestInflateCap(const InflateLimits& limits, size_t wire_bytes);

inline bool LooksGzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b;
}

// Inflates a gzip stream (concatenated members allowed). Truncated or corrupt input is
// kInvalidInput; exceeding a limit is kTooLarge.
Result<std::string> Gunzip(std::string_view in, const InflateLimits& limits);

// Compresses `in` as a gzip stream (used to re-encode `cv` fields for upstreams).
Result<std::string> Gzip(std::string_view in, int level = 6);

}  // namespace scrubd::ingest
