// Request routing and the ingest flow. Logs and audit entries carry ids, counts and rule
// names only; payload text never reaches spdlog or the audit log.
#include "server/app.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "admit/admit.h"
#include "admit/page_gate.h"
#include "dom/dom_masker.h"
#include "scrub/identity.h"
#include "scrub/scrub.h"
#include "scrubd/audit/log.h"
#include "server/flags_proxy.h"
#include "server/keys.h"
#include "sink/local_store.h"
#include "sink/upstream.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

std::string_view Header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string_view() : std::string_view(it->second);
}

std::string CookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    size_t semi = cookies.find(';');
    std::string_view part = cookies.substr(0, semi);
    while (!part.empty() && part[0] == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name)
      return std::string(part.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    cookies.remove_prefix(semi + 1);
  }
  return {};
}

json::object CountsJson(const std::map<std::string, uint64_t>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// Raw value of `key` in the query of `target` (ids only: tokens are not percent-encoded).
std::string QueryParam(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == key)
      return std::string(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// Token from the path /array/<token>/config[.js].
std::string TokenFromConfigPath(std::string_view path) {
  path.remove_prefix(std::string_view("/array/").size());
  return std::string(path.substr(0, path.find('/')));
}

json::object RecordingConfig() {
  return json::object{{"endpoint", "/s/"},
                      {"consoleLogRecordingEnabled", true},
                      {"recorderVersion", "v2"},
                      {"sampleRate", nullptr},
                      {"minimumDurationMilliseconds", nullptr},
                      {"networkPayloadCapture", nullptr},
                      {"masking", nullptr}};
}

}  // namespace

unsigned HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return 200;
    case Code::kInvalidInput: return 400;
    case Code::kTooLarge: return 413;
    case Code::kNotFound: return 404;
    case Code::kUnauthorized: return 401;
    case Code::kInvalidConfig: return 422;
    case Code::kUnavailable:
    case Code::kIo: return 503;
    default: return 500;
  }
}

HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(json::object{{"error", code}, {"message", message}});
  return r;
}

App::App(AppConfig config, std::shared_ptr<const policies::PolicySet> policies,
         sink::LocalStore* store, dom::StateStore* state, audit::Log* audit,
         sink::Upstream* upstream)
    : config_(std::move(config)),
      policies_(std::move(policies)),
      store_(store),
      state_(state),
      audit_(audit),
      upstream_(upstream),
      aggregator_(config_.audit_aggregate_window, 4096) {}

std::shared_ptr<const policies::PolicySet> App::policies() const {
  std::lock_guard<std::mutex> lock(policy_mu_);
  return policies_;
}

void App::SwapPolicies(std::shared_ptr<const policies::PolicySet> next) {
  std::lock_guard<std::mutex> lock(policy_mu_);
  policies_ = std::move(next);
}

void App::AuditAppend(std::string_view type, const std::string& payload_json) {
  // Best effort (rejections, admin calls, reloads): the failure is logged and counted.
  if (Result<uint64_t> r = AuditRequired(type, payload_json); !r.ok()) return;
}

Result<uint64_t> App::AuditRequired(std::string_view type, const std::string& payload_json) {
  if (!audit_) return uint64_t{0};
  Result<uint64_t> r = audit_->Append(type, payload_json);
  if (!r.ok()) {
    metrics_.audit_errors++;
    spdlog::error("audit append type={} failed: {}", type, r.status().ToString());
  }
  return r;
}

// Fail closed (docs/audit.md "Ordering"): the batch entry is appended first, with the count
// about to be stored; only then is the batch written. No stored batch lacks its entry. If the
// sink then fails, a `batch_not_stored` entry names the first one's seq, so the log may
// over-report a 503 batch but never under-reports a stored one.
Status App::AuditThenSink(std::string_view path, bool recording, const std::string& pseudonym,
                          const std::string& client_ip,
                          const std::vector<ingest::Event*>& recordings,
                          const std::vector<ingest::Event*>& events, json::object entry,
                          uint64_t* stored) {
  uint64_t planned = events.size();
  for (const ingest::Event* ev : recordings) planned += ingest::SnapshotItems(ev->json)->size();
  entry["stored"] = planned;
  Result<uint64_t> seq = AuditRequired("batch", json::serialize(entry));
  if (!seq.ok()) return Status::Unavailable("audit log unavailable");
  Status s = Sink(path, recording, pseudonym, client_ip, recordings, events, stored);
  if (!s.ok()) {
    AuditAppend(
        "batch_not_stored",
        json::serialize(json::object{
            {"batch_seq", *seq}, {"session", pseudonym}, {"sink_error", CodeName(s.code())}}));
  }
  return s;
}

void App::AuditPolicies(std::string_view type, const std::string& caller) {
  json::array files;
  for (const auto& p : policies()->policies())
    files.push_back(json::object{
        {"file", p->file}, {"sha256", p->sha256}, {"version", p->version}, {"name", p->name}});
  AuditAppend(type, json::serialize(json::object{
                        {"caller", caller}, {"result", "ok"}, {"policies", std::move(files)}}));
}

Status App::Reload(const std::string& caller) {
  Result<std::shared_ptr<const policies::PolicySet>> next =
      policies::LoadPolicySet(config_.policy_files, config_.policy_options);
  json::object entry{{"caller", caller}};
  if (!next.ok()) {
    entry["result"] = "rejected";
    entry["error"] = next.status().message();  // file:line:col + rule text, never traffic
    AuditAppend("policy_reload", json::serialize(entry));
    spdlog::warn("policy reload rejected, keeping current policies: {}", next.status().message());
    return next.status();
  }
  SwapPolicies(std::move(next).value());
  AuditPolicies("policy_reload", caller);
  spdlog::info("policies reloaded by {}", caller);
  return Status::Ok();
}

HttpResponse App::Handle(const HttpRequest& req) {
  metrics_.requests++;
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/admin/") || path == "/admin") return Admin(req, path);
  if (path == "/healthz") return HttpResponse{200, "application/json", R"({"status":"ok"})", {}};
  if (path == "/metrics") {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    auto line = [&](const char* n, uint64_t v) {
      r.body += std::string("scrubd_") + n + " " + std::to_string(v) + "\n";
    };
    line("requests_total", metrics_.requests);
    line("batches_ok_total", metrics_.batches_ok);
    line("batches_rejected_total", metrics_.batches_rejected);
    line("events_in_total", metrics_.events_in);
    line("events_stored_total", metrics_.events_stored);
    line("events_dropped_total", metrics_.events_dropped);
    line("redactions_total", metrics_.redactions);
    line("sink_errors_total", metrics_.sink_errors);
    r.body += TransportMetricsText();
    line("audit_errors_total", metrics_.audit_errors);
    line("deadline_exceeded_total", metrics_.deadline_exceeded);
    if (upstream_) r.body += upstream_->MetricsText();
    return r;
  }
  ingest::Endpoint ep = ingest::ClassifyPath(path);
  switch (ep) {
    case ingest::Endpoint::kRecording:
    case ingest::Endpoint::kEvents:
      if (req.method != "POST") return ErrorResponse(405, "method_not_allowed", "use POST");
      return Ingest(req, ep);
    case ingest::Endpoint::kFlags:
    case ingest::Endpoint::kRemoteConfig:
      if (upstream_) return Proxy(req);
      return RemoteConfig(req, ep);
    case ingest::Endpoint::kUnknown: break;
  }
  if (upstream_ && path.starts_with("/static/")) return Proxy(req);
  return ErrorResponse(404, "not_found", "unknown endpoint");
}

HttpResponse App::RemoteConfig(const HttpRequest& req, ingest::Endpoint ep) {
  if (!config_.answer_remote_config)
    return ErrorResponse(404, "not_found", "remote config is answered by the upstream");
  std::string_view path = std::string_view(req.target).substr(0, req.target.find('?'));
  json::object cfg{{"sessionRecording", RecordingConfig()},
                   {"supportedCompression", json::array{"gzip", "gzip-js"}},
                   {"autocapture_opt_out", false},
                   {"capturePerformance", false},
                   {"autocaptureExceptions", false},
                   {"heatmaps", false},
                   {"surveys", false},
                   {"siteApps", json::array{}},
                   {"hasFeatureFlags", false}};
  if (ep == ingest::Endpoint::kFlags) {
    cfg["featureFlags"] = json::object{};
    cfg["featureFlagPayloads"] = json::object{};
    cfg["flags"] = json::object{};
    cfg["errorsWhileComputingFlags"] = false;
    cfg["requestId"] = "scrubd-local";
    return HttpResponse{200, "application/json", json::serialize(cfg), {}};
  }
  std::string token = TokenFromConfigPath(path);
  if (!ingest::ValidToken(token)) return ErrorResponse(400, "invalid_input", "invalid token");
  cfg["token"] = token;
  if (path.ends_with(".js")) {
    std::string js =
        "(function(){window._POSTHOG_REMOTE_CONFIG=window._POSTHOG_REMOTE_CONFIG||{};"
        "window._POSTHOG_REMOTE_CONFIG[" +
        json::serialize(json::value(token)) + "]={config:" + json::serialize(cfg) +
        ",siteApps:[]};})();";
    return HttpResponse{200, "application/javascript", std::move(js), {}};
  }
  return HttpResponse{200, "application/json", json::serialize(cfg), {}};
}

HttpResponse App::Ingest(const HttpRequest& req, ingest::Endpoint endpoint) {
  Deadline deadline(config_.request_deadline);  // [deadline] this request's CPU budget
  std::string_view target = req.target;
  size_t q = target.find('?');
  ingest::RequestView view{req.body, Header(req, "content-type"),
                           q == std::string_view::npos ? std::string_view() : target.substr(q + 1)};
  const char* ep_name = endpoint == ingest::Endpoint::kRecording ? "recording" : "events";
  Result<ingest::Batch> decoded = ingest::DecodeBatch(endpoint, view, config_.limits);
  if (!decoded.ok()) {
    metrics_.batches_rejected++;
    const Status& s = decoded.status();
    spdlog::warn("rejected {} batch: {} ({} bytes)", ep_name, CodeName(s.code()), req.body.size());
    AuditAppend("batch_rejected", json::serialize(json::object{{"endpoint", ep_name},
                                                               {"reason", CodeName(s.code())},
                                                               {"detail", s.message()},
                                                               {"bytes", req.body.size()}}));
    return ErrorResponse(HttpStatusFor(s), CodeName(s.code()), s.message());
  }
  ingest::Batch& batch = decoded.value();
  std::shared_ptr<const policies::PolicySet> set = policies();  // this request's snapshot
  // A routing id shaped like personal data would be stored and logged raw: reject the whole
  // request (never logging the id), scanned with the event's policy or the first one.
  for (const ingest::Event& ev : batch.events) {
    const policies::Policy* policy = set->ForToken(ev.token);
    if (!policy && !set->policies().empty()) policy = set->policies().front().get();
    if (!policy || !policy->scanner || !scrub::RoutingIdLooksPersonal(ev, *policy->scanner))
      continue;
    metrics_.batches_rejected++;
    spdlog::warn("rejected {} batch: invalid_input, routing id looks like personal data ({} bytes)",
                 ep_name, req.body.size());
    AuditAppend("batch_rejected", json::serialize(json::object{{"endpoint", ep_name},
                                                               {"reason", "invalid_input"},
                                                               {"detail", "routing id"},
                                                               {"bytes", req.body.size()}}));
    return ErrorResponse(400, "invalid_input", "routing id looks like personal data");
  }

  admit::RequestSignals signals;
  signals.gpc = Header(req, "sec-gpc") == "1";
  signals.dnt = Header(req, "dnt") == "1";
  signals.tcf_consent = CookieValue(Header(req, "cookie"), "euconsent-v2");
  admit::TombstoneCheck no_tombstones;  // erasure tombstones arrive with the subjects module

  admit::PageGate page_gate(state_);  // blocking.urls, per window (docs/blocking.md)
  scrub::Scrubber scrubber(state_);
  scrubber.set_deadline(&deadline);  // [deadline]
  scrub::Report report;
  std::vector<ingest::Event*> recordings;
  std::vector<ingest::Event*> events;                              // analytics events
  policies::ClientIpMode ip_mode = policies::ClientIpMode::kPass;  // strictest admitted policy
  for (ingest::Event& ev : batch.events) {
    metrics_.events_in++;
    const policies::Policy* policy = set->ForToken(ev.token);
    admit::Verdict v = admit::Admit(ev, policy, signals, no_tombstones);
    if (v != admit::Verdict::kAdmit) {
      report.dropped[admit::VerdictName(v)]++;
      report.events_in++;
      continue;
    }
    if (!page_gate.Apply(ev, *policy, &report.dropped, &report.events_in)) continue;
    if (!scrubber.ScrubEvent(ev, *policy, &report)) continue;
    ip_mode = std::min(ip_mode, policy->identity.client_ip);
    (ev.is_snapshot ? recordings : events).push_back(&ev);
  }
  if (report.deadline_exceeded || deadline.ExpiredNow()) {  // [deadline] nothing is stored
    metrics_.batches_rejected++;
    metrics_.deadline_exceeded++;
    spdlog::warn("rejected {} batch: deadline_exceeded ({} bytes)", ep_name, req.body.size());
    AuditAppend("batch_rejected", json::serialize(json::object{{"endpoint", ep_name},
                                                               {"reason", "deadline_exceeded"},
                                                               {"bytes", req.body.size()}}));
    return ErrorResponse(503, "deadline_exceeded",
                         "the batch exceeded the per-request CPU deadline; retry later");
  }

  const std::string session = batch.events.empty() ? "" : batch.events.front().session_id;
  const std::string token = batch.events.empty() ? "" : batch.events.front().token;
  const std::string pseudonym = session.empty() ? "" : Pseudonym(config_.pseudonym_key, session);
  const std::string client_ip = scrub::ForwardedClientAddress(
      ip_mode, req.peer, Header(req, "x-forwarded-for"), Header(req, "x-real-ip"));
  uint64_t dropped = 0;
  for (const auto& [k, n] : report.dropped) dropped += n;
  json::object entry{{"endpoint", ep_name},
                     {"token", token},
                     {"session", pseudonym},
                     {"events_in", report.events_in},
                     {"events_out", report.events_out},
                     {"redactions_by_rule", CountsJson(report.counts.by_rule)},
                     {"redactions_by_method", CountsJson(report.counts.by_method)},
                     {"scan_errors", report.counts.errors},
                     {"dropped", CountsJson(report.dropped)}};
  uint64_t stored = 0;
  Status sink_status =
      AuditThenSink(target.substr(0, q), endpoint == ingest::Endpoint::kRecording, pseudonym,
                    client_ip, recordings, events, std::move(entry), &stored);
  metrics_.redactions += report.counts.Total();
  metrics_.events_dropped += dropped;
  if (!sink_status.ok()) {
    metrics_.batches_rejected++;
    metrics_.sink_errors++;
    // Store and audit messages name the failed step and errno, never a path or a raw id.
    spdlog::error("sink failed for token={} session={}: {}", token, pseudonym,
                  sink_status.ToString());
    return ErrorResponse(503, "unavailable", "storage is unavailable; retry later");
  }
  metrics_.batches_ok++;
  metrics_.events_stored += stored;
  spdlog::info("{} batch token={} session={} in={} stored={} redactions={} dropped={}", ep_name,
               token, pseudonym, report.events_in, stored, report.counts.Total(), dropped);
  return HttpResponse{200, "application/json", R"({"status":1})", {}};
}

Status App::Sink(std::string_view path, bool recording, const std::string& batch_id,
                 const std::string& client_ip, const std::vector<ingest::Event*>& recordings,
                 const std::vector<ingest::Event*>& events, uint64_t* stored) {
  uint64_t count = events.size();
  for (const ingest::Event* ev : recordings) count += ingest::SnapshotItems(ev->json)->size();
  if (upstream_) {
    sink::OutgoingBatch out;
    out.path = std::string(path);
    out.recording = recording;
    out.batch_id = batch_id;
    out.client_ip = client_ip;
    for (const ingest::Event* ev : recordings)
      out.events.push_back({sink::TokenOf(ev->json), &ev->json});
    for (const ingest::Event* ev : events)
      out.events.push_back({sink::TokenOf(ev->json), &ev->json});
    if (Status s = upstream_->Enqueue(out); !s.ok()) return s;
    if (!config_.upstream_and_store) {
      *stored = count;  // durable in the spool; the local store is not used
      return Status::Ok();
    }
  }
  // Index columns and paths come from the scrubbed JSON only (sink::ChunkOf, StoredEventOf),
  // all derived before anything is written.
  std::vector<sink::RecordingChunk> chunks;
  std::vector<sink::StoredEvent> rows;
  for (const ingest::Event* ev : recordings) {
    Result<sink::RecordingChunk> chunk = sink::ChunkOf(ev->json);
    if (!chunk.ok()) return chunk.status();
    chunks.push_back(std::move(chunk).value());
  }
  for (const ingest::Event* ev : events) {
    Result<sink::StoredEvent> row = sink::StoredEventOf(ev->json);
    if (!row.ok()) return row.status();
    rows.push_back(std::move(row).value());
  }
  for (const sink::RecordingChunk& chunk : chunks)
    if (Status s = store_->WriteRecording(chunk); !s.ok()) return s;
  if (!rows.empty())
    if (Status s = store_->WriteEvents(rows); !s.ok()) return s;
  *stored = count;
  return Status::Ok();
}

HttpResponse App::Proxy(const HttpRequest& req) {
  rules::RedactionCounts counts;  // flags bodies: same policy as events (flags_proxy.h)
  Deadline deadline(config_.request_deadline);  // [deadline] as for ingest: 503, none forwarded
  Result<sink::UpstreamRequest> up =
      BuildProxyRequest(req, *policies(), config_.limits, &counts, &deadline);
  if (!up.ok() && deadline.expired()) {
    metrics_.deadline_exceeded++;
    return ErrorResponse(503, "deadline_exceeded",
                         "the request exceeded the per-request CPU deadline; retry later");
  }
  if (!up.ok())
    return ErrorResponse(HttpStatusFor(up.status()), CodeName(up.status().code()),
                         up.status().message());
  metrics_.redactions += counts.Total();
  Result<sink::UpstreamResponse> resp = upstream_->Proxy(*up);
  if (!resp.ok()) return ErrorResponse(502, "unavailable", "upstream unreachable");
  HttpResponse r;
  r.status = resp->status;
  r.content_type.clear();
  r.body = std::move(resp->body);
  for (auto& [k, v] : resp->headers) {
    if (k == "content-type")
      r.content_type = std::move(v);
    else
      r.headers.emplace_back(std::move(k), std::move(v));
  }
  if (r.content_type.empty()) r.content_type = "application/octet-stream";
  return r;
}

HttpResponse App::Admin(const HttpRequest& req, std::string_view path) {
  std::string_view auth = Header(req, "authorization");
  std::string expected = "Bearer " + config_.admin_token;
  bool ok = !config_.admin_token.empty() && auth.size() == expected.size() &&
            CRYPTO_memcmp(auth.data(), expected.data(), expected.size()) == 0;
  // Callers are named by a keyed pseudonym of their address, paths by route class and hash.
  std::string caller = "admin@" + Pseudonym(config_.pseudonym_key, req.peer);
  if (!ok) {
    AuditAdminDenied(req, path);
    return ErrorResponse(401, "unauthorized", "admin endpoints need Authorization: Bearer <token>");
  }
  AuditAppend("admin_call",
              json::serialize(json::object{{"route", AdminRouteClass(path)},
                                           {"path_hash", Pseudonym(config_.pseudonym_key, path)},
                                           {"method", req.method},
                                           {"caller", caller}}));
  if (path == "/admin/reload" && req.method == "POST") {
    Status s = Reload(caller);
    if (!s.ok()) return ErrorResponse(422, "invalid_config", s.message());
    return HttpResponse{200, "application/json", R"({"status":"reloaded"})", {}};
  }
  if (path == "/admin/sessions" && req.method == "GET") {
    Result<std::vector<sink::SessionInfo>> list = store_->ListSessions(1000);
    if (!list.ok()) return ErrorResponse(503, "unavailable", list.status().message());
    json::array out;
    for (const auto& s : *list)
      out.push_back(json::object{{"token", s.token},
                                 {"session_id", s.session_id},
                                 {"distinct_id", s.distinct_id},
                                 {"first_ts", s.first_ts},
                                 {"last_ts", s.last_ts},
                                 {"first_url", s.first_url},
                                 {"bytes", s.bytes},
                                 {"events", s.events}});
    return HttpResponse{200, "application/json", json::serialize(out), {}};
  }
  constexpr std::string_view kExport = "/admin/sessions/";
  constexpr std::string_view kExportSuffix = "/export";
  if (path.size() > kExport.size() + kExportSuffix.size() && path.starts_with(kExport) &&
      path.ends_with(kExportSuffix) && req.method == "GET") {
    std::string id(
        path.substr(kExport.size(), path.size() - kExport.size() - kExportSuffix.size()));
    if (!ingest::ValidSessionId(id)) return ErrorResponse(400, "invalid_input", "bad session id");
    std::string token = QueryParam(req.target, "token");
    std::string window = QueryParam(req.target, "window");
    if ((!token.empty() && !ingest::ValidToken(token)) ||
        (!window.empty() && !ingest::ValidSessionId(window)))
      return ErrorResponse(400, "invalid_input", "bad token or window id");
    // Scoped by token; without one, kInvalidInput when several tokens hold the id.
    Result<std::string> body = store_->ExportSession(id, token, window);
    if (!body.ok())
      return ErrorResponse(HttpStatusFor(body.status()), CodeName(body.status().code()),
                           body.status().message());
    // Fail closed: an export that cannot be audited is not handed out.
    if (!AuditRequired("export", json::serialize(
                                     json::object{{"session", Pseudonym(config_.pseudonym_key, id)},
                                                  {"token", token},
                                                  {"caller", caller}}))
             .ok())
      return ErrorResponse(503, "unavailable", "audit log unavailable; retry later");
    return HttpResponse{200, "application/json", std::move(body).value(), {}};
  }
  return ErrorResponse(404, "not_found", "unknown admin endpoint");
}

}  // namespace scrubd::server
