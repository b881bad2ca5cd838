// Bounded inflate with zlib's streaming API: output grows in steps, every step is checked
// against the absolute and ratio caps before more memory is taken.
#include "ingest/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace scrubd::ingest {

size_t RequestInflateCap(const InflateLimits& limits, size_t wire_bytes) {
  double by_ratio = limits.max_ratio * static_cast<double>(wire_bytes);
  size_t ratio_cap = by_ratio >= static_cast<double>(limits.max_output)
                         ? limits.max_output
                         : std::max(kRatioFloorBytes, static_cast<size_t>(by_ratio));
  return std::min(limits.max_output, ratio_cap);
}

Result<std::string> Gunzip(std::string_view in, const InflateLimits& limits) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  std::string out;
  out.resize(std::min<size_t>(std::max<size_t>(in.size() * 4, 4096), limits.max_output));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  Status status;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= limits.max_output) {
        status = Status::TooLarge("decompressed size exceeds " + std::to_string(limits.max_output) +
                                  " bytes");
        break;
      }
      out.resize(std::min(out.size() * 2, limits.max_output));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (produced > kRatioFloorBytes &&
        static_cast<double>(produced) > limits.max_ratio * static_cast<double>(in.size())) {
      status = Status::TooLarge("decompression ratio exceeds the cap (gzip bomb?)");
      break;
    }
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (RFC 1952 allows concatenation).
      if (!LooksGzip(std::string_view(reinterpret_cast<const char*>(zs.next_in), zs.avail_in))) {
        status = Status::InvalidInput("trailing garbage after gzip stream");
        break;
      }
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out > 0) {
      status = Status::InvalidInput("truncated gzip stream");
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = Status::InvalidInput("corrupt gzip stream");
      break;
    }
  }
  inflateEnd(&zs);
  if (!status.ok()) return status;
  out.resize(produced);
  return out;
}

Result<std::string> Gzip(std::string_view in, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Status::Internal("deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::Internal("deflate did not finish");
  out.resize(n);
  return out;
}

}  // namespace scrubd::ingest
