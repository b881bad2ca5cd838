// `scrubd capture`: a capture-only server for staging sites (docs/capture.md). It answers
// posthog-js as serve's embedded default does and writes every request raw to --out through
// server::CaptureRecorder; it never forwards and is never part of serve. Called from main only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "scrubd/common/status.h"

namespace scrubd::cli {

struct CaptureConfig {
  std::string listen;  // HOST:PORT, required
  std::string out;     // the capture directory, required
  std::chrono::seconds duration{600};
  uint64_t max_bytes = uint64_t{1} << 30;  // all files written
  uint64_t max_body_bytes = 25u << 20;     // one request's body (413 above)
};

// Parses the arguments after "capture". Errors name the flag and never quote its value.
Result<CaptureConfig> ParseCaptureArgs(int argc, char** argv);

// "90s", "10m", "2h" or plain seconds; 1 s .. 24 h.
Result<std::chrono::seconds> ParseCaptureDuration(const std::string& v);

// argv starts after "capture". Exit codes: 0 stopped after --duration, a signal or
// --max-bytes; 1 a write failed or it could not listen; 2 usage or a bad --out.
int Capture(int argc, char** argv);

}  // namespace scrubd::cli
