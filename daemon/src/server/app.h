// The router: maps an HTTP request to the component that answers it (ingest pipeline, admin
// API, remote config / proxy, metrics) and owns the policy snapshot and those components.
// No sockets here, so the whole ingest -> admit -> scrub -> sink flow is testable directly.
// Thread-safe: Handle may run on many threads; policy swaps are atomic and a request keeps
// the snapshot it started with. Set*/Mount/AddMetricsSource are called before serving.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"
#include "server/admin_api.h"
#include "server/auditor.h"
#include "server/batch_sink.h"
#include "server/console_api.h"
#include "server/http_types.h"
#include "server/ingest_pipeline.h"
#include "server/metrics.h"
#include "server/remote_config.h"
#include "server/roles.h"

namespace scrubd::dom {
class StateStore;
}
namespace scrubd::audit {
class Log;
}
namespace scrubd::sink {
class LocalStore;
class Upstream;
}  // namespace scrubd::sink

namespace scrubd::server {

struct AppConfig {
  ingest::DecodeLimits limits;
  std::string admin_token;  // role admin, as "Authorization: Bearer <token>" (empty: none)
  std::vector<RoleToken> admin_tokens;    // more tokens with roles (--admin-tokens-file)
  bool answer_remote_config = true;       // serve /flags, /decide, /array/<token>/config locally
  std::vector<std::string> policy_files;  // for /admin/reload (empty: embedded default)
  policies::LoadOptions policy_options;
  std::string pseudonym_key;        // HMAC key for session ids in logs and the audit log
  bool upstream_and_store = false;  // with an upstream: also write the local store
  std::chrono::seconds audit_aggregate_window{60};  // admin denials, transport rejections
  // CPU time one ingest request may spend decoding and scrubbing; past it the batch is
  // rejected whole with 503 deadline_exceeded (docs/masking.md). 0: no deadline.
  std::chrono::nanoseconds request_deadline{std::chrono::milliseconds(2000)};
  // "/ingest": the public posthog routes are answered under it only (the site's reverse proxy
  // deployment); /healthz, /metrics and /admin stay at the root. Empty: at the root.
  std::string path_prefix;
};

class App {
 public:
  // All pointers must outlive the App. `audit` may be null (tests). With `upstream`, cleaned
  // batches are spooled for it (and also stored locally if config.upstream_and_store), and
  // /flags, /decide, /array/<token>/config[.js] and /static/* are proxied to it.
  App(AppConfig config, std::shared_ptr<const policies::PolicySet> policies,
      sink::LocalStore* store, dom::StateStore* state, audit::Log* audit,
      sink::Upstream* upstream = nullptr);

  // The HTTP layer's entry: strips config.path_prefix from the target in place (a public
  // route without it answers 404), then Handle.
  HttpResponse HandleRaw(HttpRequest& req, Surface surface);
  // Every route (the single listener).
  HttpResponse Handle(const HttpRequest& req) { return Handle(req, Surface::kAll); }
  // The routes of one listener; the others answer 404 there.
  HttpResponse Handle(const HttpRequest& req, Surface surface);
  // True for the paths the admin API answers (/admin*, mounted prefixes): the HTTP layer
  // gives them the admin CORS treatment.
  bool IsAdminRoute(std::string_view target) const;

  std::shared_ptr<const policies::PolicySet> policies() const;
  // When the snapshot in force was loaded (Unix ms): construction or the last swap.
  int64_t policies_loaded_ms() const { return policies_loaded_ms_.load(); }
  // Atomically replaces the snapshot (SIGHUP / admin reload); audited.
  void SwapPolicies(std::shared_ptr<const policies::PolicySet> next);
  // Audits the current snapshot (file, sha256, version, name per policy) as a `type` entry.
  void AuditPolicies(std::string_view type, const std::string& caller);
  // Reloads config.policy_files; keeps the old snapshot on error and says why.
  Status Reload(const std::string& caller);
  // A 400/413/503 the HTTP layer answered before Handle (or a refused connection): counted
  // on /metrics by status and reason, audited once per peer+reason per window with a count.
  // `reason` is a fixed token from http_server.cc; the peer is audited as a pseudonym.
  void RecordTransportRejection(unsigned status, std::string_view reason, const std::string& peer);
  // Writes the summaries of aggregation windows that ended (all of them when `all`).
  void FlushAuditAggregates(bool all = false);

  // Hooks for the subjects module (ingest_pipeline.h); call before serving.
  void SetIngestHooks(IngestHooks* hooks, std::shared_mutex* erasure_lock) {
    ingest_.SetHooks(hooks, erasure_lock);
  }
  // Routes `prefix` on the admin surface to `h` for roles allowing `role`, GET / HEAD for
  // `read_role` too when given (admin_api.h).
  void Mount(std::string prefix, Role role, AdminApi::Handler h,
             std::optional<Role> read_role = {}) {
    admin_.Mount(std::move(prefix), role, std::move(h), read_role);
  }
  // The console's subject requests and holds lists (console_api.h); call before serving.
  void SetConsoleLists(ConsoleList subject_requests, ConsoleList holds) {
    console_.SetLists(std::move(subject_requests), std::move(holds));
  }
  // The consent gate and quarantine (ingest_pipeline.h SetConsent); call before serving.
  void SetConsent(consent::ConsentGate* gate, consent::Quarantine* quarantine) {
    ingest_.SetConsent(gate, quarantine);
  }
  uint64_t ExpireHeld(int64_t now_ms) { return ingest_.ExpireHeld(now_ms); }
  uint64_t DiscardAllHeld(std::string_view reason) { return ingest_.DiscardAllHeld(reason); }
  // Appends an audit entry through the app's auditor (the consent gate's ledger entries).
  void Audit(std::string_view type, const std::string& json) { auditor_.Append(type, json); }
  // Appends `text()` to /metrics (metrics.h); call before serving.
  void AddMetricsSource(std::function<std::string()> text) { renderer_.AddSource(std::move(text)); }
  const Metrics& metrics() const { return metrics_; }
  const AppConfig& config() const { return config_; }

 private:
  HttpResponse MetricsResponse() const;
  HttpResponse Public(const HttpRequest& req, std::string_view path);

  AppConfig config_;
  std::shared_ptr<const policies::PolicySet> policies_;  // guarded by policy_mu_
  mutable std::mutex policy_mu_;
  std::atomic<int64_t> policies_loaded_ms_{0};
  sink::Upstream* upstream_;  // null: local store only
  Metrics metrics_;
  Auditor auditor_;
  LabeledCounter transport_{"scrubd_transport_rejections_total"};
  std::unique_ptr<BatchSink> sink_;
  IngestPipeline ingest_;
  AdminApi admin_;
  ConsoleApi console_;  // mounted on admin_ (/admin/api/)
  RemoteConfigService remote_;
  MetricsRenderer renderer_;
};

}  // namespace scrubd::server
