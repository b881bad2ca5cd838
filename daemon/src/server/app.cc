// The router and the policy snapshot. Each concern lives in its component: ingest_pipeline,
// batch_sink, admin_api (+ roles), remote_config (+ flags_proxy), metrics, auditor.
#include "server/app.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "sink/upstream.h"
#include "ui/assets.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

TokenTable TokensOf(const AppConfig& c) {
  std::vector<RoleToken> all = c.admin_tokens;
  if (!c.admin_token.empty()) all.push_back({Role::kAdmin, c.admin_token});
  return TokenTable(all);
}

IngestConfig IngestConfigOf(const AppConfig& c) {
  return IngestConfig{c.limits, c.pseudonym_key, c.request_deadline};
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

App::App(AppConfig config, std::shared_ptr<const policies::PolicySet> policies,
         sink::LocalStore* store, dom::StateStore* state, audit::Log* audit,
         sink::Upstream* upstream)
    : config_(std::move(config)),
      policies_(std::move(policies)),
      upstream_(upstream),
      auditor_(audit, &metrics_.audit_errors, config_.audit_aggregate_window),
      sink_(MakeBatchSink(store, upstream, config_.upstream_and_store)),
      ingest_(
          IngestConfigOf(config_), [this] { return this->policies(); }, state, sink_.get(),
          &auditor_, &metrics_),
      admin_(TokensOf(config_), config_.pseudonym_key, &auditor_, store,
             [this](const std::string& caller) { return Reload(caller); }),
      console_(ConsoleDeps{store, audit, &auditor_, config_.pseudonym_key,
                           [this] { return this->policies(); },
                           [this] { return policies_loaded_ms(); }}),
      remote_(
          config_.answer_remote_config, config_.limits, [this] { return this->policies(); },
          upstream, &metrics_, config_.request_deadline),
      renderer_(&metrics_) {
  policies_loaded_ms_ = NowMs();
  console_.MountOn(&admin_);
  renderer_.AddSource([this] { return transport_.Text(); });
  renderer_.AddSource([this] { return admin_.MetricsText(); });
  renderer_.AddSource([this] { return ingest_.MetricsText(); });
  if (upstream_) renderer_.AddSource([this] { return upstream_->MetricsText(); });
}

std::shared_ptr<const policies::PolicySet> App::policies() const {
  std::lock_guard<std::mutex> lock(policy_mu_);
  return policies_;
}

void App::SwapPolicies(std::shared_ptr<const policies::PolicySet> next) {
  std::lock_guard<std::mutex> lock(policy_mu_);
  policies_ = std::move(next);
  policies_loaded_ms_ = NowMs();
}

void App::AuditPolicies(std::string_view type, const std::string& caller) {
  json::array files;
  for (const auto& p : policies()->policies())
    files.push_back(json::object{
        {"file", p->file}, {"sha256", p->sha256}, {"version", p->version}, {"name", p->name}});
  auditor_.Append(type, json::serialize(json::object{
                            {"caller", caller}, {"result", "ok"}, {"policies", std::move(files)}}));
}

Status App::Reload(const std::string& caller) {
  Result<std::shared_ptr<const policies::PolicySet>> next =
      policies::LoadPolicySet(config_.policy_files, config_.policy_options);
  json::object entry{{"caller", caller}};
  if (!next.ok()) {
    entry["result"] = "rejected";
    entry["error"] = next.status().message();  // file:line:col + rule text, never traffic
    auditor_.Append("policy_reload", json::serialize(entry));
    spdlog::warn("policy reload rejected, keeping current policies: {}", next.status().message());
    return next.status();
  }
  SwapPolicies(std::move(next).value());
  AuditPolicies("policy_reload", caller);
  spdlog::info("policies reloaded by {}", caller);
  return Status::Ok();
}

bool App::IsAdminRoute(std::string_view target) const {
  return admin_.Owns(target.substr(0, target.find('?')));
}

HttpResponse App::MetricsResponse() const {
  return HttpResponse{200, "text/plain; version=0.0.4", renderer_.Render(), {}};
}

HttpResponse App::HandleRaw(HttpRequest& req, Surface surface) {
  const std::string& prefix = config_.path_prefix;
  if (prefix.empty()) return Handle(req, surface);
  std::string_view target = req.target;
  if (target.substr(0, prefix.size()) == prefix &&
      (target.size() == prefix.size() || target[prefix.size()] == '/' ||
       target[prefix.size()] == '?')) {
    req.target.erase(0, prefix.size());
    if (req.target.empty() || req.target[0] != '/') req.target.insert(0, "/");
    std::string_view path = PathOf(req);
    if (path == "/healthz" || path == "/metrics" || admin_.Owns(path))
      return ErrorResponse(404, "not_found", "unknown endpoint");  // those live at the root
    return Handle(req, surface == Surface::kAdmin ? surface : Surface::kPublic);
  }
  std::string_view path = PathOf(req);
  if (path == "/healthz" || path == "/metrics" || admin_.Owns(path)) return Handle(req, surface);
  metrics_.requests++;
  return ErrorResponse(404, "not_found", "unknown endpoint (posthog routes are under the prefix)");
}

// /metrics: unauthenticated on the single listener (as before roles existed, for scrapers
// and the tests that read it); on a separate admin listener it needs auditor or admin.
HttpResponse App::Handle(const HttpRequest& req, Surface surface) {
  metrics_.requests++;
  std::string_view path = PathOf(req);
  // The console's static files need no token (the page signs in); they hold no session data.
  if (surface != Surface::kPublic && ui::IsUiPath(path)) return ui::HandleUiRequest(req);
  if (surface != Surface::kPublic && admin_.Owns(path)) return admin_.Handle(req);
  if (path == "/healthz") return HttpResponse{200, "application/json", R"({"status":"ok"})", {}};
  if (path == "/metrics" && surface == Surface::kAll) return MetricsResponse();
  if (path == "/metrics" && surface == Surface::kAdmin)
    return admin_.Authorize(req, "metrics", Role::kAuditor, [this] { return MetricsResponse(); });
  if (surface == Surface::kAdmin) return ErrorResponse(404, "not_found", "unknown endpoint");
  return Public(req, path);
}

HttpResponse App::Public(const HttpRequest& req, std::string_view path) {
  ingest::Endpoint ep = ingest::ClassifyPath(path);
  if (ep == ingest::Endpoint::kRecording || ep == ingest::Endpoint::kEvents) {
    if (req.method != "POST") return ErrorResponse(405, "method_not_allowed", "use POST");
    return ingest_.Handle(req, ep);
  }
  if (remote_.Owns(path)) return remote_.Handle(req);
  return ErrorResponse(404, "not_found", "unknown endpoint");
}

}  // namespace scrubd::server
