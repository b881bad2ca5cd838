// The proxied request, built from the client's. Request bodies are never logged.
#include "server/flags_proxy.h"

#include <boost/json.hpp>
#include <cctype>

#include "scrub/identity.h"
#include "scrub/scrub.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

std::string_view Header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string_view() : std::string_view(it->second);
}

bool AllOf(std::string_view v, std::string_view chars, size_t max) {
  if (v.empty() || v.size() > max) return false;
  for (char c : v)
    if (!std::isdigit(static_cast<unsigned char>(c)) && chars.find(c) == std::string_view::npos)
      return false;
  return true;
}

// The query parameters posthog-js sends on the proxied endpoints, each with the only value shape
// it sends (/flags/?v=2, the `_` / `sent_at` cache-buster, `ver`, `compression`, ...). Nothing
// else is forwarded: a query can carry anything a page appends (emails, distinct ids).
bool AllowedQueryParam(std::string_view key, std::string_view value) {
  if (key == "_" || key == "sent_at" || key == "ip") return AllOf(value, "", 20);
  if (key == "v" || key == "ver")  // 2, or a version: /static/recorder.js?v=1.449.2
    return AllOf(value, ".-abcdefghijklmnopqrstuvwxyz", 32) &&
           std::isdigit(static_cast<unsigned char>(value[0]));
  if (key == "compression")
    return value == "gzip-js" || value == "gzip" || value == "base64" || value == "lz64";
  if (key == "config" || key == "only_evaluate_survey_feature_flags")
    return value == "true" || value == "false" || value == "1" || value == "0";
  if (key == "token" || key == "api_key") return ingest::ValidToken(value);
  return false;
}

}  // namespace

std::string AllowlistedTarget(std::string_view target, bool drop_compression) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q));
  std::string_view query = target.substr(q + 1);
  char sep = '?';
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
      if (AllowedQueryParam(key, value) && !(drop_compression && key == "compression")) {
        out.push_back(sep);
        out.append(pair);
        sep = '&';
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

namespace {

// The project token of a flags body: `token`, or `api_key` as older clients send it.
Result<std::string> FlagsToken(const json::object& body) {
  const json::value* t = body.if_contains("token");
  const json::value* k = body.if_contains("api_key");
  if (t && k && *t != *k) return Status::InvalidInput("flags body: token and api_key differ");
  const json::value* v = t ? t : k;
  if (!v || !v->is_string() || !ingest::ValidToken(std::string_view(v->get_string())))
    return Status::InvalidInput("flags body: missing or invalid token");
  return std::string(v->get_string());
}

bool IsFlagsPath(std::string_view target) {
  return ingest::ClassifyPath(target.substr(0, target.find('?'))) == ingest::Endpoint::kFlags;
}

// Client headers a proxied request may keep: never the body's encoding (it is re-encoded),
// never a forwarding header (the address comes from the policy), never cookies.
bool KeepHeader(std::string_view name, bool reencoded) {
  if (name == "x-forwarded-for" || name == "x-real-ip" || name == "forwarded" || name == "cookie" ||
      name == "content-length")
    return false;
  return !reencoded || (name != "content-type" && name != "content-encoding");
}

}  // namespace

Status DeadlineExceeded() {
  return Status::Unavailable("the flags request exceeded the per-request CPU deadline");
}

Result<std::string> ScrubFlagsBody(std::string_view json_text, const policies::PolicySet& policies,
                                   int max_depth, std::string* token,
                                   rules::RedactionCounts* counts, Deadline* deadline) {
  json::parse_options opts;
  opts.max_depth = static_cast<std::size_t>(max_depth);
  boost::system::error_code ec;
  json::value root = json::parse(json_text, ec, {}, opts);
  if (ec) return Status::InvalidInput("flags body is not valid JSON");
  if (!root.is_object()) return Status::InvalidInput("flags body is not a JSON object");
  json::object& body = root.get_object();
  Result<std::string> t = FlagsToken(body);
  if (!t.ok()) return t.status();
  const policies::Policy* policy = policies.ForToken(*t);
  if (!policy) return Status::InvalidInput("flags body: no policy covers this token");
  if (!scrub::ApplyIdentityToFlags(body, *t, *policy, counts))
    return Status::Unavailable("flags body: no identity key to pseudonymise with");
  for (auto& kv : body) {
    if (kv.key() == "token" || kv.key() == "api_key") continue;  // validated routing id
    if (!scrub::ScrubStrings(kv.value(), kv.key(), *policy->scanner, counts, deadline))
      return DeadlineExceeded();
  }
  if (deadline != nullptr && deadline->ExpiredNow()) return DeadlineExceeded();
  *token = std::move(t).value();
  return json::serialize(root);
}

Result<sink::UpstreamRequest> BuildProxyRequest(const HttpRequest& req,
                                                const policies::PolicySet& policies,
                                                const ingest::DecodeLimits& limits,
                                                rules::RedactionCounts* counts,
                                                Deadline* deadline) {
  sink::UpstreamRequest up;
  up.method = req.method;
  up.target = AllowlistedTarget(req.target, false);
  const bool flags = IsFlagsPath(req.target);
  const bool reencode = flags && !req.body.empty();
  for (const auto& [k, v] : req.headers)
    if (KeepHeader(k, reencode)) up.headers.emplace_back(k, v);
  if (!flags) {
    up.body = req.body;
    return up;
  }
  std::string_view target = req.target;
  size_t q = target.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (ingest::FormValue(query, "data"))
    return Status::InvalidInput("flags request: data in the query string is not supported");
  if (!reencode) return up;  // no body, nothing personal to forward
  ingest::RequestView view{req.body, Header(req, "content-type"), query};
  Result<std::string> text = ingest::DecodeBodyText(view, limits);
  if (!text.ok()) return text.status();
  std::string token;
  if (deadline != nullptr && deadline->ExpiredNow()) return DeadlineExceeded();
  Result<std::string> body =
      ScrubFlagsBody(*text, policies, limits.max_depth, &token, counts, deadline);
  if (!body.ok()) return body.status();
  up.target = AllowlistedTarget(target, true);
  up.body = std::move(body).value();
  up.headers.emplace_back("content-type", "application/json");
  up.client_ip =
      scrub::ForwardedClientAddress(policies.ForToken(token)->identity.client_ip, req.peer,
                                    Header(req, "x-forwarded-for"), Header(req, "x-real-ip"));
  return up;
}

}  // namespace scrubd::server
