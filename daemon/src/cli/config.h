// `scrubd serve` configuration: defaults, then the YAML config file (--config), then flags,
// which win. Pure parsing; no I/O beyond reading the config file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::cli {

struct ServeConfig {
  std::string listen = "127.0.0.1:8080";
  std::vector<std::string> policy_files;  // empty: the embedded default policy
  std::string data_dir = "./var";
  size_t max_body_bytes = 25u << 20;
  size_t max_decompressed_bytes = 64u << 20;
  size_t max_inflight_body_bytes = 256u << 20;
  std::string admin_token_file;
  std::string admin_tokens_file;  // `<role> <token>` lines, mode 0600 (docs/admin.md)
  std::string admin_listen;       // HOST:PORT of a separate admin listener; empty: none
  bool answer_remote_config = true;
  bool events_require_session_id = true;
  int workers = 2;
  std::string log_level = "info";
  size_t dom_max_bytes = 512u << 20;
  int64_t dom_idle_timeout_s = 1800;
  std::string upstream;              // empty: local store only
  bool upstream_and_store = false;   // with an upstream: also write the local store
  bool upstream_reencode_cv = true;  // re-compress nested rrweb fields (cv 2024-10)
  bool upstream_insecure = false;    // skip TLS verification (tests/dev only)
  size_t spool_max_bytes = size_t{1} << 30;
  // HTTP-layer limits (docs/limits.md); 0 means derived at start.
  size_t max_connections = 0;               // from RLIMIT_NOFILE
  size_t max_connections_per_peer = 0;      // max(64, max_connections / 4)
  size_t max_peer_inflight_body_bytes = 0;  // max(max_body, max_inflight / 4)
  int64_t idle_timeout_s = 30;              // waiting for request headers
  std::string admin_origin;                 // the one Origin given CORS on /admin*
  int64_t request_deadline_ms = 2000;       // CPU per ingest request; 0: none (config file only)
  // Upstream erasure (docs/subjects.md#upstream-erasure): all three or none.
  std::string posthog_api_host;               // private API host, e.g. https://eu.posthog.com
  std::string posthog_project_id;             // numeric project id
  std::string posthog_api_key_file;           // personal API key, file mode 0600
  bool dsr_callbacks_allow_loopback = false;  // OpenDSR callbacks to 127.0.0.0/8, ::1
  int64_t request_retention_days = 1095;  // purge: finished subject requests (docs/retention.md)
  int64_t bundle_retention_days = 30;     // purge: access bundles
  std::string path_prefix;  // e.g. "/ingest": posthog routes answered under it (docs/consent.md)
  size_t consent_quarantine_bytes = 64u << 20;  // opt_in batches held before consent (memory)
  bool check = false;  // --check (flag only): load as serve does, then exit (serve_setup.h)
};

// Errors: kInvalidInput for bad flags (usage), kInvalidConfig for a bad config file
// (message carries file:line:col).
Result<ServeConfig> ParseServeArgs(int argc, char** argv);

// kInvalidInput unless `p` is empty or a path prefix such as "/ingest".
Status CheckPathPrefix(const std::string& p);

// kInvalidInput naming `flag` unless `v` is HOST:PORT with a numeric port, or empty (not set).
Status CheckListenAddress(const char* flag, const std::string& v);

}  // namespace scrubd::cli
