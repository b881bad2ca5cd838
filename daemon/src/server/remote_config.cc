// The local remote-config answer (recording on, v2 recorder, nothing else enabled) and the
// proxy to the upstream. Cookies are never passed either way (sink::Upstream::Proxy).
#include "server/remote_config.h"

#include <boost/json.hpp>

#include "server/flags_proxy.h"
#include "server/metrics.h"
#include "sink/upstream.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

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

json::object BaseConfig() {
  return json::object{{"sessionRecording", RecordingConfig()},
                      {"supportedCompression", json::array{"gzip", "gzip-js"}},
                      {"autocapture_opt_out", false},
                      {"capturePerformance", false},
                      {"autocaptureExceptions", false},
                      {"heatmaps", false},
                      {"surveys", false},
                      {"siteApps", json::array{}},
                      {"hasFeatureFlags", false}};
}

}  // namespace

RemoteConfigService::RemoteConfigService(bool answer_locally, ingest::DecodeLimits limits,
                                         PolicySource policies, sink::Upstream* upstream,
                                         Metrics* metrics, std::chrono::nanoseconds deadline)
    : answer_locally_(answer_locally),
      limits_(std::move(limits)),
      policies_(std::move(policies)),
      upstream_(upstream),
      metrics_(metrics),
      deadline_(deadline) {}

bool RemoteConfigService::Owns(std::string_view path) const {
  ingest::Endpoint ep = ingest::ClassifyPath(path);
  if (ep == ingest::Endpoint::kFlags || ep == ingest::Endpoint::kRemoteConfig) return true;
  return upstream_ && path.starts_with("/static/");
}

HttpResponse RemoteConfigService::Handle(const HttpRequest& req) {
  if (upstream_) return Proxy(req);
  return Local(req, ingest::ClassifyPath(PathOf(req)));
}

HttpResponse RemoteConfigService::Local(const HttpRequest& req, ingest::Endpoint ep) {
  if (!answer_locally_)
    return ErrorResponse(404, "not_found", "remote config is answered by the upstream");
  std::string_view path = PathOf(req);
  json::object cfg = BaseConfig();
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

HttpResponse RemoteConfigService::Proxy(const HttpRequest& req) {
  rules::RedactionCounts counts;  // flags bodies: same policy as events (flags_proxy.h)
  Deadline deadline(deadline_);   // [deadline] as for ingest: 503, nothing forwarded
  Result<sink::UpstreamRequest> up =
      BuildProxyRequest(req, *policies_(), limits_, &counts, &deadline);
  if (!up.ok() && deadline.expired()) {
    metrics_->deadline_exceeded++;
    return ErrorResponse(503, "deadline_exceeded",
                         "the request exceeded the per-request CPU deadline; retry later");
  }
  if (!up.ok())
    return ErrorResponse(HttpStatusFor(up.status()), CodeName(up.status().code()),
                         up.status().message());
  metrics_->redactions += counts.Total();
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

}  // namespace scrubd::server
