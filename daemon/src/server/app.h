// The request handler: a pure function from an HTTP request to a response, over the current
// policy snapshot, the DOM state store, the local store and the audit log. No sockets here,
// so the whole ingest -> admit -> scrub -> sink flow is testable directly. Thread-safe:
// Handle may run on many threads; policy swaps are atomic and a request keeps the snapshot
// it started with.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"
#include "server/audit_aggregate.h"

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

struct HttpRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;  // remote address, for admin audit entries
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct AppConfig {
  ingest::DecodeLimits limits;
  std::string admin_token;                // required as "Authorization: Bearer <token>" on /admin
  bool answer_remote_config = true;       // serve /flags, /decide, /array/<token>/config locally
  std::vector<std::string> policy_files;  // for /admin/reload (empty: embedded default)
  policies::LoadOptions policy_options;
  std::string pseudonym_key;        // HMAC key for session ids in logs and the audit log
  bool upstream_and_store = false;  // with an upstream: also write the local store
  std::chrono::seconds audit_aggregate_window{60};  // admin denials, transport rejections
  // CPU time one ingest request may spend decoding and scrubbing; past it the batch is
  // rejected whole with 503 deadline_exceeded (docs/masking.md). 0: no deadline.
  std::chrono::nanoseconds request_deadline{std::chrono::milliseconds(2000)};
};

// Counters exposed on /metrics (Prometheus text).
struct Metrics {
  std::atomic<uint64_t> requests{0}, batches_ok{0}, batches_rejected{0}, events_in{0},
      events_stored{0}, events_dropped{0}, redactions{0}, sink_errors{0}, scrub_errors{0},
      audit_errors{0},  // audit appends that failed (a batch or export behind one: 503)
      deadline_exceeded{0};
};

class App {
 public:
  // All pointers must outlive the App. `audit` may be null (tests). With `upstream`, cleaned
  // batches are spooled for it (and also stored locally if config.upstream_and_store), and
  // /flags, /decide, /array/<token>/config[.js] and /static/* are proxied to it.
  App(AppConfig config, std::shared_ptr<const policies::PolicySet> policies,
      sink::LocalStore* store, dom::StateStore* state, audit::Log* audit,
      sink::Upstream* upstream = nullptr);

  HttpResponse Handle(const HttpRequest& req);

  std::shared_ptr<const policies::PolicySet> policies() const;
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
  const Metrics& metrics() const { return metrics_; }
  const AppConfig& config() const { return config_; }

 private:
  HttpResponse Ingest(const HttpRequest& req, ingest::Endpoint endpoint);
  // Makes the cleaned batch durable: the upstream spool and/or the local store. `stored` is
  // the number of events (rrweb and analytics) written; set only on success. `client_ip` is
  // the already scrubbed client address spooled with the batch for the upstream.
  Status Sink(std::string_view path, bool recording, const std::string& batch_id,
              const std::string& client_ip, const std::vector<ingest::Event*>& recordings,
              const std::vector<ingest::Event*>& events, uint64_t* stored);
  HttpResponse RemoteConfig(const HttpRequest& req, ingest::Endpoint endpoint);
  HttpResponse Admin(const HttpRequest& req, std::string_view path);
  HttpResponse Proxy(const HttpRequest& req);
  void AuditAppend(std::string_view type, const std::string& payload_json);
  void AuditAggregated(const std::string& key, std::string_view type,
                       const boost::json::object& fields);
  void AuditAdminDenied(const HttpRequest& req, std::string_view path);
  std::string TransportMetricsText() const;
  // Fail-closed append: the caller must not act (store, export) unless this is ok.
  Result<uint64_t> AuditRequired(std::string_view type, const std::string& payload_json);
  // Audits then sinks a cleaned batch (the order is in docs/audit.md): 503 when either fails.
  Status AuditThenSink(std::string_view path, bool recording, const std::string& pseudonym,
                       const std::string& client_ip, const std::vector<ingest::Event*>& recordings,
                       const std::vector<ingest::Event*>& events, boost::json::object entry,
                       uint64_t* stored);

  AppConfig config_;
  std::shared_ptr<const policies::PolicySet> policies_;  // guarded by policy_mu_
  mutable std::mutex policy_mu_;
  sink::LocalStore* store_;
  dom::StateStore* state_;
  audit::Log* audit_;
  sink::Upstream* upstream_;  // null: local store only
  Metrics metrics_;
  AuditAggregator aggregator_;
  mutable std::mutex transport_mu_;
  std::map<std::pair<unsigned, std::string>, uint64_t> transport_;  // guarded by transport_mu_
};

// The admin route class of an /admin path ("reload", "sessions", "export", ... or "unknown"):
// what audit entries record instead of the raw path, which may carry ids or personal data.
std::string_view AdminRouteClass(std::string_view path);

// {"error": code, "message": msg} with the matching 4xx/5xx status.
HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message);
unsigned HttpStatusFor(const Status& s);

}  // namespace scrubd::server
