// Config file keys mirror the flags one to one (docs/configuration.md).
#include "cli/config.h"

#include <yaml-cpp/yaml.h>

#include <cstring>

#include "scrubd/common/yaml_check.h"

namespace scrubd::cli {
namespace {

using yamlcheck::Type;

Status ApplyConfigFile(const std::string& file, ServeConfig* c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return Status::InvalidConfig(file + ": cannot open config file");
  } catch (const YAML::Exception& e) {
    return Status::InvalidConfig(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root || root.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, root, "config",
      {{"listen", Type::kString, "HOST:PORT"},
       {"policy", Type::kStringList, "policy files"},
       {"data_dir", Type::kString, "data directory"},
       {"max_body_bytes", Type::kInt, "request body cap"},
       {"max_decompressed_bytes", Type::kInt, "inflate cap per request"},
       {"max_inflight_body_bytes", Type::kInt, "all bodies being read or handled"},
       {"admin_token_file", Type::kString, "admin bearer token file"},
       {"admin_tokens_file", Type::kString, "admin tokens with roles (docs/admin.md)"},
       {"admin_listen", Type::kString, "HOST:PORT of a separate admin listener"},
       {"answer_remote_config", Type::kBool, "answer /flags and config locally"},
       {"events_require_session_id", Type::kBool, "reject /e/ events without $session_id"},
       {"workers", Type::kInt, "scrub worker threads"},
       {"log_level", Type::kString, "spdlog level"},
       {"dom_state_max_bytes", Type::kInt, "memory cap of DOM state"},
       {"dom_idle_timeout_seconds", Type::kInt, "idle window eviction"},
       {"upstream", Type::kString, "forward cleaned batches to this URL (docs/upstream.md)"},
       {"upstream_and_store", Type::kBool, "with an upstream, also write the local store"},
       {"upstream_reencode_cv", Type::kBool, "re-compress nested rrweb fields for upstream"},
       {"upstream_insecure", Type::kBool, "skip upstream TLS verification (tests/dev)"},
       {"dsr_callbacks_allow_loopback", Type::kBool,
        "let OpenDSR status callbacks go to loopback addresses (tests, one-host setups)"},
       {"spool_max_bytes", Type::kInt, "cap on bytes waiting for the upstream"},
       {"max_connections", Type::kInt, "open connections (0: from RLIMIT_NOFILE)"},
       {"max_connections_per_peer", Type::kInt, "open connections per client address"},
       {"max_peer_inflight_body_bytes", Type::kInt, "body bytes in flight per client address"},
       {"idle_timeout_seconds", Type::kInt, "wait for request headers (keep-alive)"},
       {"admin_origin", Type::kString, "the one Origin given CORS headers on /admin"},
       {"request_deadline_ms", Type::kInt, "CPU ms per ingest request, 0: none"},
       {"posthog_api_host", Type::kString, "PostHog private API host for upstream erasure"},
       {"posthog_project_id", Type::kString, "PostHog project id for upstream erasure"},
       {"posthog_api_key_file", Type::kString, "PostHog personal API key file (0600)"},
       {"subject_request_retention_days", Type::kInt,
        "days finished subject requests are kept by purge (docs/retention.md)"},
       {"access_bundle_retention_days", Type::kInt, "days access bundles are kept by purge"},
       {"path_prefix", Type::kString, "serve posthog routes under this prefix, e.g. /ingest"},
       {"consent_quarantine_bytes", Type::kInt, "memory for batches waiting for consent"}});
  if (!s.ok()) return s;
  c->listen = yamlcheck::GetString(root, "listen", c->listen);
  c->policy_files = yamlcheck::GetStringList(root, "policy", c->policy_files);
  c->data_dir = yamlcheck::GetString(root, "data_dir", c->data_dir);
  c->max_body_bytes = static_cast<size_t>(
      yamlcheck::GetInt(root, "max_body_bytes", static_cast<int64_t>(c->max_body_bytes)));
  c->max_decompressed_bytes = static_cast<size_t>(yamlcheck::GetInt(
      root, "max_decompressed_bytes", static_cast<int64_t>(c->max_decompressed_bytes)));
  c->max_inflight_body_bytes = static_cast<size_t>(yamlcheck::GetInt(
      root, "max_inflight_body_bytes", static_cast<int64_t>(c->max_inflight_body_bytes)));
  c->admin_token_file = yamlcheck::GetString(root, "admin_token_file", c->admin_token_file);
  c->admin_tokens_file = yamlcheck::GetString(root, "admin_tokens_file", c->admin_tokens_file);
  c->admin_listen = yamlcheck::GetString(root, "admin_listen", c->admin_listen);
  c->answer_remote_config =
      yamlcheck::GetBool(root, "answer_remote_config", c->answer_remote_config);
  c->events_require_session_id =
      yamlcheck::GetBool(root, "events_require_session_id", c->events_require_session_id);
  c->workers = static_cast<int>(yamlcheck::GetInt(root, "workers", c->workers));
  c->log_level = yamlcheck::GetString(root, "log_level", c->log_level);
  c->dom_max_bytes = static_cast<size_t>(
      yamlcheck::GetInt(root, "dom_state_max_bytes", static_cast<int64_t>(c->dom_max_bytes)));
  c->dom_idle_timeout_s =
      yamlcheck::GetInt(root, "dom_idle_timeout_seconds", c->dom_idle_timeout_s);
  c->upstream = yamlcheck::GetString(root, "upstream", c->upstream);
  c->upstream_and_store = yamlcheck::GetBool(root, "upstream_and_store", c->upstream_and_store);
  c->upstream_reencode_cv =
      yamlcheck::GetBool(root, "upstream_reencode_cv", c->upstream_reencode_cv);
  c->upstream_insecure = yamlcheck::GetBool(root, "upstream_insecure", c->upstream_insecure);
  c->dsr_callbacks_allow_loopback =
      yamlcheck::GetBool(root, "dsr_callbacks_allow_loopback", c->dsr_callbacks_allow_loopback);
  c->spool_max_bytes = static_cast<size_t>(
      yamlcheck::GetInt(root, "spool_max_bytes", static_cast<int64_t>(c->spool_max_bytes)));
  auto size_key = [&](const char* key, size_t* v) {
    *v = static_cast<size_t>(yamlcheck::GetInt(root, key, static_cast<int64_t>(*v)));
  };
  size_key("max_connections", &c->max_connections);
  size_key("consent_quarantine_bytes", &c->consent_quarantine_bytes);
  c->path_prefix = yamlcheck::GetString(root, "path_prefix", c->path_prefix);
  size_key("max_connections_per_peer", &c->max_connections_per_peer);
  size_key("max_peer_inflight_body_bytes", &c->max_peer_inflight_body_bytes);
  c->idle_timeout_s = yamlcheck::GetInt(root, "idle_timeout_seconds", c->idle_timeout_s);
  c->admin_origin = yamlcheck::GetString(root, "admin_origin", c->admin_origin);
  c->request_deadline_ms = yamlcheck::GetInt(root, "request_deadline_ms", c->request_deadline_ms);
  c->request_retention_days =
      yamlcheck::GetInt(root, "subject_request_retention_days", c->request_retention_days);
  c->bundle_retention_days =
      yamlcheck::GetInt(root, "access_bundle_retention_days", c->bundle_retention_days);
  if (c->request_retention_days < 1 || c->request_retention_days > 36500)
    return yamlcheck::Error(file, root["subject_request_retention_days"],
                            "subject_request_retention_days must be within 1..36500");
  if (c->bundle_retention_days < 1 || c->bundle_retention_days > 36500)
    return yamlcheck::Error(file, root["access_bundle_retention_days"],
                            "access_bundle_retention_days must be within 1..36500");
  if (c->request_deadline_ms < 0)
    return Status::InvalidConfig(file + ": request_deadline_ms must be >= 0");
  c->posthog_api_host = yamlcheck::GetString(root, "posthog_api_host", c->posthog_api_host);
  c->posthog_project_id = yamlcheck::GetString(root, "posthog_project_id", c->posthog_project_id);
  c->posthog_api_key_file =
      yamlcheck::GetString(root, "posthog_api_key_file", c->posthog_api_key_file);
  return Status::Ok();
}

Result<size_t> ParseSize(const std::string& flag, const std::string& v) {
  // Digits only: strtoull alone takes "-1" (and " 5", "+5") and wraps "-1" to 2^64-1, which
  // turned a limit such as --max-body-bytes -1 into no limit; an overflow is refused too.
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidInput(flag + " needs a positive integer");
  char* end = nullptr;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (*end != '\0' || n == 0) return Status::InvalidInput(flag + " needs a positive integer");
  return static_cast<size_t>(n);
}

// --posthog-api-host / --posthog-project-id / --posthog-api-key-file; false for other flags.
bool ApplyPosthogFlag(const std::string& a, const std::string& v, ServeConfig* c) {
  std::string* field = a == "--posthog-api-host"       ? &c->posthog_api_host
                       : a == "--posthog-project-id"   ? &c->posthog_project_id
                       : a == "--posthog-api-key-file" ? &c->posthog_api_key_file
                                                       : nullptr;
  if (field) *field = v;
  return field != nullptr;
}

// The upstream erasure settings come as a set: a partial one would silently skip the
// upstream on every erasure. The values themselves are checked when the eraser is built
// (subjects::LoadPosthogEraseConfig), which also reads the key file. A usage error when a flag
// took part, else a config file error.
Status CheckPosthogErasure(const ServeConfig& c, bool from_flags) {
  int given =
      !c.posthog_api_host.empty() + !c.posthog_project_id.empty() + !c.posthog_api_key_file.empty();
  if (given == 0 || given == 3) return Status::Ok();
  std::string m =
      "posthog_api_host, posthog_project_id and posthog_api_key_file (--posthog-api-host, "
      "--posthog-project-id, --posthog-api-key-file) go together: give all three or none";
  return from_flags ? Status::InvalidInput(m) : Status::InvalidConfig(m);
}

}  // namespace

// "" or "/" followed by path characters, no trailing '/', no dot segment, no query.
Status CheckPathPrefix(const std::string& p) {
  if (p.empty()) return Status::Ok();
  bool ok =
      p.size() >= 2 && p.size() <= 64 && p[0] == '/' && p.back() != '/' &&
      p.find("//") == std::string::npos && p.find("/.") == std::string::npos &&
      p.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_.") ==
          std::string::npos;
  for (const char* root : {"/admin", "/metrics", "/healthz", "/v1"})
    if (p == root || p.rfind(std::string(root) + "/", 0) == 0) ok = false;  // they stay at /
  if (ok) return Status::Ok();
  return Status::InvalidInput(
      "--path-prefix must look like /ingest (not under /admin, /metrics, /healthz or /v1; a '/' "
      "then letters, digits, '-', '_', '.', '/'; no trailing '/', at most 64 characters)");
}

// HOST:PORT with a numeric port (the server resolves the host); "" is allowed (not set).
Status CheckListenAddress(const char* flag, const std::string& v) {
  size_t colon = v.rfind(':');
  bool ok = v.empty() || (colon != std::string::npos && colon > 0 && colon + 1 < v.size() &&
                          v.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
                          v.size() - colon - 1 <= 5);
  if (ok) return Status::Ok();
  return Status::InvalidInput(std::string(flag) + " must be HOST:PORT, got '" + v + "'");
}

Result<ServeConfig> ParseServeArgs(int argc, char** argv) {
  ServeConfig c;
  // The config file is applied first so that flags win whatever their order.
  for (int i = 0; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--config")) {
      if (Status s = ApplyConfigFile(argv[i + 1], &c); !s.ok()) return s;
    }
  bool policies_from_flags = false;
  bool posthog_from_flags = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= argc) return Status::InvalidInput(a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--no-remote-config") {
      c.answer_remote_config = false;
      continue;
    }
    if (a == "--dsr-callbacks-allow-loopback" || a == "--check") {
      (a == "--check" ? c.check : c.dsr_callbacks_allow_loopback) = true;
      continue;
    }
    if (a == "--upstream-and-store" || a == "--upstream-insecure" ||
        a == "--no-upstream-reencode-cv") {
      if (a == "--upstream-and-store")
        c.upstream_and_store = true;
      else if (a == "--upstream-insecure")
        c.upstream_insecure = true;
      else
        c.upstream_reencode_cv = false;
      continue;
    }
    Result<std::string> v = value();
    if (!v.ok()) return v.status();
    if (a == "--config") continue;
    if (a == "--listen") {
      c.listen = *v;
    } else if (a == "--policy") {
      if (!policies_from_flags) c.policy_files.clear();
      policies_from_flags = true;
      c.policy_files.push_back(*v);
    } else if (a == "--data-dir") {
      c.data_dir = *v;
    } else if (a == "--admin-token-file") {
      c.admin_token_file = *v;
    } else if (a == "--admin-tokens-file") {
      c.admin_tokens_file = *v;
    } else if (a == "--admin-listen") {
      c.admin_listen = *v;
    } else if (a == "--upstream") {
      c.upstream = *v;
    } else if (a == "--log-level") {
      c.log_level = *v;
    } else if (a == "--admin-origin") {
      c.admin_origin = *v;
    } else if (a == "--path-prefix") {
      c.path_prefix = *v;
    } else if (ApplyPosthogFlag(a, *v, &c)) {
      posthog_from_flags = true;
    } else if (a == "--max-connections" || a == "--max-connections-per-peer" ||
               a == "--max-peer-inflight-body-bytes" || a == "--idle-timeout-seconds") {
      Result<size_t> n = ParseSize(a, *v);
      if (!n.ok()) return n.status();
      if (a == "--max-connections")
        c.max_connections = *n;
      else if (a == "--max-connections-per-peer")
        c.max_connections_per_peer = *n;
      else if (a == "--max-peer-inflight-body-bytes")
        c.max_peer_inflight_body_bytes = *n;
      else
        c.idle_timeout_s = static_cast<int64_t>(std::min<size_t>(*n, 86400));
    } else if (a == "--max-body-bytes" || a == "--max-decompressed-bytes" ||
               a == "--max-inflight-body-bytes" || a == "--workers" || a == "--spool-max-bytes" ||
               a == "--request-deadline-ms" || a == "--consent-quarantine-bytes") {
      Result<size_t> n = ParseSize(a, *v);
      if (!n.ok()) return n.status();
      if (a == "--max-body-bytes")
        c.max_body_bytes = *n;
      else if (a == "--max-decompressed-bytes")
        c.max_decompressed_bytes = *n;
      else if (a == "--max-inflight-body-bytes")
        c.max_inflight_body_bytes = *n;
      else if (a == "--spool-max-bytes")
        c.spool_max_bytes = *n;
      else if (a == "--request-deadline-ms")
        c.request_deadline_ms = static_cast<int64_t>(*n);
      else if (a == "--consent-quarantine-bytes")
        c.consent_quarantine_bytes = *n;
      else
        c.workers = static_cast<int>(std::min<size_t>(*n, 64));
    } else {
      return Status::InvalidInput("unknown option '" + a + "'");
    }
  }
  if (Status s = CheckPosthogErasure(c, posthog_from_flags); !s.ok()) return s;
  if (Status s = CheckListenAddress("--admin-listen", c.admin_listen); !s.ok()) return s;
  if (Status s = CheckPathPrefix(c.path_prefix); !s.ok()) return s;
  return c;
}

}  // namespace scrubd::cli
