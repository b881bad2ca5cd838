#include "subjects/opendsr.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <cctype>
#include <initializer_list>

#include "subjects/callbacks.h"
#include "subjects/deadlines.h"

namespace scrubd::subjects {
namespace json = boost::json;

namespace {

constexpr std::string_view kApiVersion = "2.0";

Status Invalid(std::string m) { return Status::InvalidInput(std::move(m)); }

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool HasControl(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

// The string member `key`: kInvalidInput if missing (when required) or not a string.
Result<std::string> StringField(const json::object& o, std::string_view key, bool required,
                                const std::string& where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) return Invalid(where + std::string(key) + " field is required");
    return std::string();
  }
  if (!v->is_string()) return Invalid(where + std::string(key) + " must be a string");
  return std::string(v->get_string());
}

// `value` must be one of `allowed`; the message lists the allowed values, never the input.
Status OneOf(std::string_view value, std::initializer_list<std::string_view> allowed,
             const std::string& field) {
  std::string list;
  for (std::string_view a : allowed) {
    if (value == a) return Status::Ok();
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return Invalid(field + " must be one of: " + list);
}

Result<DsrIdentity> ParseIdentity(const json::value& v, size_t i, const DsrLimits& lim) {
  const std::string where = "subject_identities[" + std::to_string(i) + "].";
  if (!v.is_object())
    return Invalid("subject_identities[" + std::to_string(i) + "] must be an object");
  const json::object& o = v.get_object();
  DsrIdentity id;
  for (auto [key, out] :
       {std::pair{"identity_type", &id.type}, std::pair{"identity_value", &id.value},
        std::pair{"identity_format", &id.format}}) {
    Result<std::string> s = StringField(o, key, true, where);
    if (!s.ok()) return s.status();
    *out = std::move(s).value();
  }
  if (Status s = OneOf(id.type, {"controller_customer_id", "email"}, where + "identity_type");
      !s.ok())
    return s;
  if (Status s = OneOf(id.format, {"raw", "sha256"}, where + "identity_format"); !s.ok()) return s;
  if (id.value.empty() || id.value.size() > lim.max_identity_value_bytes || HasControl(id.value))
    return Invalid(where + "identity_value must be a non-empty string of at most " +
                   std::to_string(lim.max_identity_value_bytes) +
                   " bytes without control characters");
  if (id.format == "sha256") {
    for (char& c : id.value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool hex = id.value.size() == 64;
    for (char c : id.value) hex = hex && IsHex(c);
    if (!hex) return Invalid(where + "identity_value must be 64 hex digits for sha256");
  }
  return id;
}

Status ParseIdentities(const json::object& o, const DsrLimits& lim, DsrRequest* out) {
  const json::value* v = o.if_contains("subject_identities");
  if (v == nullptr || v->is_null()) return Invalid("subject_identities field is required");
  if (!v->is_array()) return Invalid("subject_identities must be an array");
  const json::array& a = v->get_array();
  if (a.empty()) return Invalid("subject_identities must not be empty");
  if (a.size() > lim.max_identities)
    return Invalid("subject_identities holds more than " + std::to_string(lim.max_identities) +
                   " identities");
  for (size_t i = 0; i < a.size(); ++i) {
    Result<DsrIdentity> id = ParseIdentity(a[i], i, lim);
    if (!id.ok()) return id.status();
    out->identities.push_back(std::move(id).value());
  }
  return Status::Ok();
}

Status ParseCallbacks(const json::object& o, const DsrLimits& lim, DsrRequest* out) {
  const json::value* v = o.if_contains("status_callback_urls");
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (!v->is_array()) return Invalid("status_callback_urls must be an array");
  const json::array& a = v->get_array();
  if (a.size() > lim.max_callback_urls)
    return Invalid("status_callback_urls holds more than " + std::to_string(lim.max_callback_urls) +
                   " URLs");
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string where = "status_callback_urls[" + std::to_string(i) + "]";
    if (!a[i].is_string()) return Invalid(where + " must be a string");
    std::string_view url = a[i].get_string();
    Result<CallbackUrl> parsed = ParseCallbackUrl(url, lim.max_url_bytes);
    if (!parsed.ok()) return Invalid(where + ": " + parsed.status().message());
    out->callback_urls.emplace_back(url);
  }
  return Status::Ok();
}

Status ParseOptional(const json::object& o, const DsrLimits& lim, DsrRequest* out) {
  Result<std::string> version = StringField(o, "api_version", false, "");
  if (!version.ok()) return version.status();
  out->api_version = std::move(version).value();
  if (out->api_version.size() > lim.max_api_version_bytes ||
      out->api_version.find_first_not_of("0123456789.") != std::string::npos)
    return Invalid("api_version must be a short version string such as 2.0");
  const json::value* ext = o.if_contains("extensions");
  if (ext != nullptr && !ext->is_null()) {
    if (!ext->is_object()) return Invalid("extensions must be an object");
    if (json::serialize(*ext).size() > lim.max_extensions_bytes)
      return Status::TooLarge("extensions is larger than " +
                              std::to_string(lim.max_extensions_bytes) + " bytes");
  }
  return Status::Ok();
}

Result<json::value> ParseJson(std::string_view body, const DsrLimits& lim) {
  if (body.size() > lim.max_body_bytes)
    return Status::TooLarge("request body is larger than " + std::to_string(lim.max_body_bytes) +
                            " bytes");
  json::parse_options po;
  po.max_depth = lim.max_depth;
  po.allow_invalid_utf8 = false;
  json::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), po);
  if (ec == json::error::too_deep)
    return Status::TooLarge("request body nests deeper than " + std::to_string(lim.max_depth));
  if (ec) return Invalid("request body is not valid UTF-8 JSON");
  if (!v.is_object()) return Invalid("request body must be a JSON object");
  return v;
}

}  // namespace

bool IsUuidV4(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

Result<DsrRequest> ParseDsrRequest(std::string_view body, const DsrLimits& lim) {
  Result<json::value> parsed = ParseJson(body, lim);
  if (!parsed.ok()) return parsed.status();
  const json::object& o = parsed->get_object();
  DsrRequest r;
  for (auto [key, out] : {std::pair{"subject_request_id", &r.subject_request_id},
                          std::pair{"subject_request_type", &r.subject_request_type},
                          std::pair{"regulation", &r.regulation}}) {
    Result<std::string> s = StringField(o, key, true, "");
    if (!s.ok()) return s.status();
    *out = std::move(s).value();
  }
  if (!IsUuidV4(r.subject_request_id))
    return Invalid("subject_request_id must be a lowercase UUID v4");
  if (Status s = OneOf(r.subject_request_type, {"erasure", "access", "portability"},
                       "subject_request_type");
      !s.ok())
    return s;
  if (Status s = OneOf(r.regulation, {"gdpr", "ccpa"}, "regulation"); !s.ok()) return s;
  Result<std::string> submitted = StringField(o, "submitted_time", true, "");
  if (!submitted.ok()) return submitted.status();
  Result<int64_t> ms = ParseRfc3339Ms(*submitted);
  if (!ms.ok()) return Invalid("submitted_time must be an RFC 3339 date-time");
  r.submitted_ms = *ms;
  if (Status s = ParseIdentities(o, lim, &r); !s.ok()) return s;
  if (Status s = ParseCallbacks(o, lim, &r); !s.ok()) return s;
  if (Status s = ParseOptional(o, lim, &r); !s.ok()) return s;
  return r;
}

std::string DsrErrorBody(int code, std::string_view message,
                         const std::vector<DsrErrorDetail>& errors) {
  json::array details;
  for (const DsrErrorDetail& e : errors)
    details.push_back(
        json::object{{"domain", e.domain}, {"reason", e.reason}, {"message", e.message}});
  json::object err{{"code", code}, {"message", message}};
  if (!details.empty()) err["errors"] = std::move(details);
  return json::serialize(json::object{{"error", std::move(err)}});
}

std::string DsrErrorBody(const Status& status) {
  const char* reason =
      status.code() == Code::kTooLarge ? "RequestTooLarge" : "IllegalArgumentException";
  return DsrErrorBody(400, status.message(), {{"Validation", reason, status.message()}});
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string CreatedResponse(std::string_view controller_id, std::string_view subject_request_id,
                            int64_t received_ms, int64_t expected_ms, std::string_view raw_body) {
  return json::serialize(json::object{
      {"controller_id", controller_id},
      {"expected_completion_time", FormatRfc3339Ms(expected_ms)},
      {"received_time", FormatRfc3339Ms(received_ms)},
      {"encoded_request", Base64(raw_body)},
      {"subject_request_id", subject_request_id},
  });
}

std::string CancelledResponse(std::string_view controller_id, std::string_view subject_request_id,
                              int64_t received_ms) {
  return json::serialize(json::object{
      {"controller_id", controller_id},
      {"subject_request_id", subject_request_id},
      {"received_time", FormatRfc3339Ms(received_ms)},
      {"api_version", kApiVersion},
  });
}

std::string_view WireStatus(std::string_view s) {
  for (std::string_view known : {"pending", "in_progress", "completed", "cancelled"})
    if (s == known) return known;
  return "in_progress";
}

std::string StatusResponse(const DsrRecordView& r, std::string_view results_url,
                           std::string_view receipt_json, std::string_view controller_id) {
  const std::string_view status = WireStatus(r.status);
  json::object o{
      {"controller_id", controller_id},
      {"subject_request_id", r.id},
      {"request_status", status},
      {"expected_completion_time", FormatRfc3339Ms(r.expected_ms)},
      {"received_time", FormatRfc3339Ms(r.received_ms)},
      {"api_version", kApiVersion},
  };
  if ((r.type == "access" || r.type == "portability") && !results_url.empty())
    o["results_url"] = results_url;
  if (r.type == "erasure" && status == "completed" && !receipt_json.empty()) {
    json::error_code ec;
    json::value receipt = json::parse(receipt_json, ec);
    if (!ec && receipt.is_object()) o["receipt"] = std::move(receipt);
  }
  return json::serialize(o);
}

std::string DiscoveryResponse(std::string_view /*controller_id*/, const DiscoveryOptions& opts) {
  json::array identities;
  for (const char* type : {"controller_customer_id", "email"})
    for (const char* format : {"raw", "sha256"})
      identities.push_back(json::object{{"identity_type", type}, {"identity_format", format}});
  json::array types{"erasure"};
  if (opts.access) {
    types.push_back("access");
    types.push_back("portability");
  }
  json::object o{{"api_version", kApiVersion},
                 {"supported_identities", std::move(identities)},
                 {"supported_subject_request_types", std::move(types)}};
  if (!opts.processor_certificate.empty()) o["processor_certificate"] = opts.processor_certificate;
  return json::serialize(o);
}

}  // namespace scrubd::subjects
