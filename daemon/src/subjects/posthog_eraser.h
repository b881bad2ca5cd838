// Erasure at the PostHog upstream: looks persons up by distinct id through PostHog's private
// API and deletes them with their events and recordings (docs/subjects.md#upstream-erasure).
// Called by the subjects service off the request workers; an eraser is thread-compatible (one
// Erase at a time per instance), LoadPosthogEraseConfig and RetryDelay are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"
#include "sink/upstream.h"

namespace scrubd::subjects {

struct PosthogEraseConfig {
  std::string api_host;    // https://eu.posthog.com (private API host, not eu.i.posthog.com)
  std::string project_id;  // decimal digits
  std::string api_key;     // personal API key, read from a 0600 file; never logged
};

// Validates the host (https, or http to a loopback address only: the bearer key never crosses
// a network in clear), the project id (1-20 decimal digits) and the key file (owner-only mode,
// a non-empty single token of printable ASCII after trimming whitespace). kInvalidConfig with
// the reason; messages name the file, never its content. `env` null: Env::Default().
Result<PosthogEraseConfig> LoadPosthogEraseConfig(const std::string& api_host,
                                                  const std::string& project_id,
                                                  const std::filesystem::path& key_file,
                                                  Env* env = nullptr);

// A Beast client for cfg.api_host with response bodies capped for the person API
// (addition to the brief's interface, for the caller's convenience).
Result<std::unique_ptr<sink::UpstreamClient>> MakePosthogApiClient(const PosthogEraseConfig& cfg,
                                                                   bool insecure = false);

enum class EraseAttempt { kDone, kRetry, kFailed };

struct UpstreamEraseResult {
  EraseAttempt outcome = EraseAttempt::kFailed;
  uint64_t persons_found = 0;    // distinct person uuids found by this attempt
  uint64_t persons_deleted = 0;  // of those, acknowledged gone (2xx, or 404: already gone)
  std::string detail;            // a code such as "lookup_http_503"; never an id or the key
  // Addition to the brief: the server's Retry-After (seconds form, capped at
  // kMaxRetryAfter) on a kRetry; 0 when absent. NextRetryDelay combines it with RetryDelay.
  std::chrono::milliseconds retry_after{0};
};

class UpstreamEraser {
 public:
  virtual ~UpstreamEraser() = default;
  // One attempt over every distinct id (pseudonyms as forwarded, e.g. pid_...). Idempotent:
  // a retry after a partial attempt finds the persons left and finishes them. Empty ids are
  // skipped (PostHog ignores an empty filter and would list every person).
  virtual UpstreamEraseResult Erase(const std::vector<std::string>& distinct_ids) = 0;
};

// `client` talks to cfg.api_host (MakePosthogApiClient); not owned, must outlive the eraser.
std::unique_ptr<UpstreamEraser> MakePosthogEraser(PosthogEraseConfig cfg,
                                                  sink::UpstreamClient* client);

inline constexpr std::chrono::milliseconds kRetryBase{2000};
inline constexpr std::chrono::milliseconds kRetryMax{600000};        // 10 minutes
inline constexpr std::chrono::milliseconds kMaxRetryAfter{3600000};  // 1 hour

// Backoff schedule: attempt n (1-based; 0 reads as 1) waits a uniform value in [d/2, d] with
// d = min(kRetryMax, kRetryBase * 2^(n-1)). For a fixed `unit_random` in [0, 1) the schedule
// is non-decreasing in n and never exceeds kRetryMax.
std::chrono::milliseconds RetryDelay(uint32_t attempt);
std::chrono::milliseconds RetryDelay(uint32_t attempt, double unit_random);
// The wait before the next attempt: max(RetryDelay(attempt), r.retry_after).
std::chrono::milliseconds NextRetryDelay(const UpstreamEraseResult& r, uint32_t attempt);

}  // namespace scrubd::subjects
