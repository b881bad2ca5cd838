// OpenDSR 2.0 routes over the Service: parse (opendsr.h), submit / read / cancel, render.
#include <boost/json.hpp>

#include "scrubd/common/env.h"
#include "subjects/api.h"
#include "subjects/opendsr.h"

namespace scrubd::subjects {

namespace {

ApiReply DsrError(unsigned code, std::string_view message, std::string_view reason) {
  return {code, "application/json",
          DsrErrorBody(static_cast<int>(code), message,
                       {{"Request", std::string(reason), std::string(message)}})};
}

NewRequest FromDsr(DsrRequest d) {
  NewRequest r;
  r.id = std::move(d.subject_request_id);
  r.type = std::move(d.subject_request_type);
  r.regulation = std::move(d.regulation);
  r.submitted_ms = d.submitted_ms;
  r.callback_urls = std::move(d.callback_urls);
  for (DsrIdentity& i : d.identities) {
    std::string type = i.type == "controller_customer_id" ? "distinct_id" : i.type;
    r.identities.push_back({std::move(type), std::move(i.value), std::move(i.format)});
  }
  return r;
}

std::string ResultsUrl(const RequestRecord& r) {
  if (r.type == "erasure" || r.status != "completed") return {};
  return "/v1/requests/" + r.id + "/results";
}

ApiReply StatusOf(Service& service, const std::string& id, const ApiOptions& opts) {
  Result<std::optional<RequestRecord>> r = service.Get(id);
  if (!r.ok()) return DsrError(503, "subject requests are unavailable", "Unavailable");
  if (!r->has_value()) return DsrError(404, "no such request", "NotFound");
  const RequestRecord& rec = **r;
  std::string receipt = rec.type == "erasure" && rec.status == "completed" ? rec.result_json : "";
  return {200, "application/json",
          StatusResponse(rec, ResultsUrl(rec), receipt, opts.controller_id)};
}

ApiReply Create(Service& service, const ApiRequest& req, const ApiOptions& opts) {
  DsrLimits limits;
  limits.max_body_bytes = opts.max_body_bytes;
  Result<DsrRequest> parsed = ParseDsrRequest(req.body, limits);
  if (!parsed.ok()) return {400, "application/json", DsrErrorBody(parsed.status())};
  Result<RequestRecord> r = service.Submit(FromDsr(std::move(parsed).value()));
  if (!r.ok()) {
    if (r.status().code() == Code::kInvalidInput)
      return DsrError(400, r.status().message(), "IllegalArgumentException");
    return DsrError(503, "subject requests are unavailable; retry later", "Unavailable");
  }
  return {201, "application/json",
          CreatedResponse(opts.controller_id, r->id, r->received_ms, r->expected_ms, req.body)};
}

ApiReply Results(Service& service, const std::string& id) {
  Result<std::string> bytes = service.ReadResults(id);
  if (!bytes.ok()) return DsrError(404, "no results for this request", "NotFound");
  return {200, "application/zip", std::move(bytes).value()};
}

}  // namespace

ApiReply HandleOpenDsr(Service& service, const ApiRequest& req, const ApiOptions& opts) {
  std::string_view path = req.path;
  if (path == "/v1/discovery") {
    if (req.method != "GET") return DsrError(405, "use GET", "MethodNotAllowed");
    return {200, "application/json", DiscoveryResponse(opts.controller_id)};
  }
  constexpr std::string_view kRequests = "/v1/requests";
  if (path == kRequests || path == "/v1/requests/") {
    if (req.method != "POST") return DsrError(405, "use POST", "MethodNotAllowed");
    if (req.body.size() > opts.max_body_bytes)
      return DsrError(413, "request body too large", "RequestTooLarge");
    return Create(service, req, opts);
  }
  if (!path.starts_with("/v1/requests/")) return DsrError(404, "unknown endpoint", "NotFound");
  std::string_view rest = path.substr(kRequests.size() + 1);
  std::string id(rest.substr(0, rest.find('/')));
  if (!IsUuidV4(id))
    return DsrError(400, "subject_request_id must be a UUID v4", "IllegalArgumentException");
  std::string_view tail = rest.substr(id.size());
  if (tail == "/results" && req.method == "GET") return Results(service, id);
  if (!tail.empty()) return DsrError(404, "unknown endpoint", "NotFound");
  if (req.method == "GET") return StatusOf(service, id, opts);
  if (req.method == "DELETE") {
    Result<RequestRecord> r = service.Cancel(id);
    if (!r.ok()) {
      if (r.status().code() == Code::kNotFound) return DsrError(404, "no such request", "NotFound");
      if (r.status().code() == Code::kInvalidInput)
        return DsrError(400, "only a pending request can be cancelled", "IllegalStateException");
      return DsrError(503, "subject requests are unavailable", "Unavailable");
    }
    return {202, "application/json", CancelledResponse(opts.controller_id, id, r->updated_ms)};
  }
  return DsrError(405, "use GET or DELETE", "MethodNotAllowed");
}

}  // namespace scrubd::subjects
