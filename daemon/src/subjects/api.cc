// Admin subject routes (the CLI's) and their JSON. OpenDSR is in api_opendsr.cc.
#include "subjects/api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>

#include "scrubd/common/env.h"
#include "subjects/deadlines.h"
#include "subjects/opendsr.h"

namespace scrubd::subjects {
namespace json = boost::json;

namespace {

ApiReply Error(unsigned status, std::string_view code, std::string_view message) {
  return ErrorReply(status, code, message);
}

ApiReply FromStatus(const Status& s) {
  switch (s.code()) {
    case Code::kInvalidInput: return Error(400, "invalid_input", s.message());
    case Code::kNotFound: return Error(404, "not_found", s.message());
    case Code::kTooLarge: return Error(413, "too_large", s.message());
    default: return Error(503, "unavailable", "subject requests are unavailable; retry later");
  }
}

std::string StringField(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The CLI's request body; identities are raw and stay in memory.
Result<NewRequest> ParseAdminRequest(const std::string& body) {
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 8;
  json::value v = json::parse(body, ec, {}, po);
  if (ec || !v.is_object()) return Status::InvalidInput("body must be a JSON object");
  const json::object& o = v.as_object();
  NewRequest r;
  r.type = StringField(o, "type");
  r.regulation = StringField(o, "regulation");
  if (r.regulation.empty()) r.regulation = "gdpr";
  r.reason = StringField(o, "reason");
  if (r.reason.size() > 1024) return Status::InvalidInput("reason is at most 1024 bytes");
  const json::value* ids = o.if_contains("identities");
  if (!ids || !ids->is_array() || ids->as_array().empty() || ids->as_array().size() > 16)
    return Status::InvalidInput("identities must be a list of 1..16 objects");
  for (const json::value& i : ids->as_array()) {
    if (!i.is_object()) return Status::InvalidInput("an identity must be an object");
    Identity id{StringField(i.as_object(), "type"), StringField(i.as_object(), "value"),
                StringField(i.as_object(), "format")};
    if (id.format.empty()) id.format = "raw";
    r.identities.push_back(std::move(id));
  }
  return r;
}

ApiReply Bundle(Service& service, const std::string& id) {
  Result<std::string> bytes = service.ReadResults(id);
  if (!bytes.ok()) return FromStatus(bytes.status());
  return {200, "application/zip", std::move(bytes).value()};
}

}  // namespace

std::string RecordJson(const RequestRecord& r) {
  json::object o{{"request_id", r.id},
                 {"type", r.type},
                 {"regulation", r.regulation},
                 {"status", r.status},
                 {"received_time", FormatRfc3339Ms(r.received_ms)},
                 {"submitted_time", FormatRfc3339Ms(r.submitted_ms)},
                 {"expected_completion_time", FormatRfc3339Ms(r.expected_ms)},
                 {"updated_time", FormatRfc3339Ms(r.updated_ms)}};
  if (!r.result_json.empty()) {
    boost::system::error_code ec;
    json::value v = json::parse(r.result_json, ec);
    if (!ec) o[r.status == "completed" && r.type == "erasure" ? "receipt" : "progress"] = v;
    if (!ec && r.status == "completed" && r.type != "erasure") o["results"] = v;
  }
  return json::serialize(o);
}

ApiReply HandleAdminSubjects(Service& service, const ApiRequest& req, const ApiOptions& opts) {
  constexpr std::string_view kBase = "/admin/subjects/requests";
  std::string_view path = req.path;
  if (!path.starts_with(kBase)) return Error(404, "not_found", "unknown subjects endpoint");
  std::string_view rest = path.substr(kBase.size());
  if (rest.empty() || rest == "/") {
    if (req.method != "POST") return Error(405, "method_not_allowed", "use POST");
    if (req.body.size() > opts.max_body_bytes) return Error(413, "too_large", "body too large");
    Result<NewRequest> parsed = ParseAdminRequest(req.body);
    if (!parsed.ok()) return FromStatus(parsed.status());
    Result<RequestRecord> r = service.Submit(std::move(parsed).value());
    if (!r.ok()) return FromStatus(r.status());
    Result<std::optional<RequestRecord>> now = service.Get(r->id);  // inline runs finish here
    return {201, "application/json", RecordJson(now.ok() && now->has_value() ? **now : *r)};
  }
  rest.remove_prefix(1);
  std::string id(rest.substr(0, rest.find('/')));
  if (!IsUuidV4(id)) return Error(400, "invalid_input", "bad request id");
  std::string_view tail = rest.substr(id.size());
  if (tail == "/bundle" && req.method == "GET") return Bundle(service, id);
  if (!tail.empty()) return Error(404, "not_found", "unknown subjects endpoint");
  if (req.method != "GET") return Error(405, "method_not_allowed", "use GET");
  Result<std::optional<RequestRecord>> r = service.Get(id);
  if (!r.ok()) return FromStatus(r.status());
  if (!r->has_value()) return Error(404, "not_found", "no such request");
  return {200, "application/json", RecordJson(**r)};
}

ApiReply ListRequests(Service& service, std::string_view query) {
  if (!query.empty()) return Error(400, "invalid_input", "this list takes no query parameters");
  SubjectStore* index = service.stores().index;
  if (!index) return Error(503, "unavailable", "subject requests are unavailable");
  Result<std::vector<RequestRecord>> open = index->Unfinished();
  Result<std::vector<RequestRecord>> done = open.ok()
                                                ? index->FinishedBefore(INT64_MAX)
                                                : Result<std::vector<RequestRecord>>(open.status());
  if (!done.ok()) return FromStatus(done.status());
  std::vector<RequestRecord> all = std::move(open).value();
  for (RequestRecord& r : *done) all.push_back(std::move(r));
  std::sort(all.begin(), all.end(), [](const RequestRecord& a, const RequestRecord& b) {
    return a.received_ms != b.received_ms ? a.received_ms > b.received_ms : a.id > b.id;
  });
  json::array out;
  for (size_t i = 0; i < all.size() && i < kMaxListedRequests; ++i)
    out.push_back(json::parse(RecordJson(all[i])));
  return {200, "application/json",
          json::serialize(json::object{{"requests", std::move(out)}, {"total", all.size()}})};
}

ApiReply ErrorReply(unsigned status, std::string_view code, std::string_view message) {
  return {status, "application/json",
          json::serialize(json::object{{"error", code}, {"message", message}})};
}

}  // namespace scrubd::subjects
