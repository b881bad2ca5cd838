// A directory of captured posthog-js requests (`scrubd capture`, the test fixtures): pairs of
// NNNN.body (the raw body) and NNNN.meta.json ({method, path, headers, len}), read into
// server::HttpRequest values. Bounded and strict; errors name the file and the key, never a
// value (a header or path may hold personal data). Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "scrubd/common/status.h"
#include "server/http_types.h"

namespace scrubd::workbench {

struct CapturedRequest {
  std::string name;             // "0004": the file stem
  server::HttpRequest request;  // headers lower-cased; peer 127.0.0.1
};

struct CaptureLimits {
  size_t max_requests = 10000;
  size_t max_body_bytes = 25u << 20;  // serve's default --max-body-bytes
  uint64_t max_total_bytes = uint64_t{1} << 30;
  size_t max_meta_bytes = 1u << 20;
};

// Reads every NNNN.body + NNNN.meta.json pair of `dir`, sorted by name (numerically for names
// of digits). Other files are ignored; a body without its meta (or the reverse), a name that is
// not [A-Za-z0-9_-]{1,64}, a meta that is not {method: token, path: "/...", headers: {name:
// string}, len: body size} (other keys ignored), a duplicate header (case-insensitive) or a
// limit passed is kInvalidInput ("capture dir: 0004.meta.json: ..."); an unreadable file kIo.
// An empty directory is kInvalidInput.
Result<std::vector<CapturedRequest>> LoadCaptureDir(const std::filesystem::path& dir,
                                                    const CaptureLimits& limits = {});

}  // namespace scrubd::workbench
