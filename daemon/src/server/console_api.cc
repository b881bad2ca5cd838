// The console's routes: parameter parsing (strict, bounded, never echoing a value), the
// sessions list, a session's events, the policy in force and the subjects lists. The audit
// routes are in console_audit.cc.
#include "server/console_api.h"

#include <boost/json.hpp>
#include <map>

#include "ingest/decode.h"
#include "scrubd/common/rfc3339.h"
#include "server/auditor.h"
#include "sink/local_store.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

constexpr std::string_view kBase = "/admin/api/";
constexpr std::string_view kSessions = "sessions/";
constexpr std::string_view kEvents = "/events";

using Query = std::map<std::string, std::string>;

HttpResponse Json(std::string body) {
  HttpResponse r{200, "application/json", std::move(body), {}};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse Bad(std::string_view message) { return ErrorResponse(400, "invalid_input", message); }

// The decoded query of `target`. Only `allowed` keys, each at most once; bounded. Messages
// name an allowed key at most, never a value or an unknown key (either may be personal).
Result<Query> ParseQuery(std::string_view target, std::initializer_list<std::string_view> allowed) {
  size_t q = target.find('?');
  std::string_view rest = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (rest.size() > kConsoleMaxQueryBytes) return Status::InvalidInput("query string too long");
  Query out;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest.remove_prefix(amp == std::string_view::npos ? rest.size() : amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = ingest::FormUrlDecode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? "" : ingest::FormUrlDecode(pair.substr(eq + 1));
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (!known) {
      std::string names;
      for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidInput("unknown query parameter (allowed: " + names + ")");
    }
    if (!out.emplace(key, std::move(value)).second)
      return Status::InvalidInput("query parameter " + key + " given twice");
  }
  return out;
}

bool AllDigits(std::string_view v, size_t max_len) {
  if (v.empty() || v.size() > max_len) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  return true;
}

// Unix ms, RFC 3339, or a date YYYY-MM-DD (UTC; as `to`, the end of that day).
Result<int64_t> ParseTime(std::string_view v, bool end_of_day) {
  if (AllDigits(v, 15)) return std::stoll(std::string(v));
  if (v.size() == 10) {
    Result<int64_t> day = ParseRfc3339Ms(std::string(v) + "T00:00:00Z");
    if (day.ok()) return *day + (end_of_day ? 86'399'999 : 0);
  }
  Result<int64_t> t = ParseRfc3339Ms(v);
  if (!t.ok() || *t < 0) return Status::InvalidInput("bad time");
  return *t;
}

Result<int64_t> ParseCount(const Query& q, const std::string& key, int64_t dflt, int64_t lo,
                           int64_t hi) {
  auto it = q.find(key);
  if (it == q.end()) return dflt;
  if (!AllDigits(it->second, 9)) return Status::InvalidInput(key + " must be a whole number");
  int64_t n = std::stoll(it->second);
  if (n < lo || n > hi)
    return Status::InvalidInput(key + " must be between " + std::to_string(lo) + " and " +
                                std::to_string(hi));
  return n;
}

// The filters of GET /admin/api/sessions.
Result<sink::SessionQuery> ParseSessionQuery(const Query& q) {
  sink::SessionQuery f;
  auto get = [&](const char* k) -> const std::string* {
    auto it = q.find(k);
    return it == q.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const std::string* t = get("token")) {
    if (!ingest::ValidToken(*t)) return Status::InvalidInput("bad token");
    f.token = *t;
  }
  for (const char* k : {"from", "to"}) {
    const std::string* v = get(k);
    if (!v) continue;
    Result<int64_t> t = ParseTime(*v, std::string_view(k) == "to");
    if (!t.ok())
      return Status::InvalidInput(std::string("bad ") + k +
                                  ": expected Unix ms, RFC 3339 or YYYY-MM-DD");
    (std::string_view(k) == "from" ? f.from_ms : f.to_ms) = *t;
  }
  if (f.from_ms && f.to_ms && f.from_ms > f.to_ms)
    return Status::InvalidInput("from is later than to");
  if (const std::string* u = get("url")) {
    if (u->size() > kConsoleMaxUrlFilter) return Status::InvalidInput("url filter too long");
    f.url = *u;
  }
  if (const std::string* r = get("redacted")) {
    if (*r != "0" && *r != "1" && *r != "true" && *r != "false")
      return Status::InvalidInput("redacted must be 1, true, 0 or false");
    f.redacted = *r == "1" || *r == "true";
  }
  Result<int64_t> limit = ParseCount(q, "limit", kConsoleDefaultLimit, 1, kConsoleMaxLimit);
  if (!limit.ok()) return limit.status();
  Result<int64_t> offset = ParseCount(q, "offset", 0, 0, kConsoleMaxOffset);
  if (!offset.ok()) return offset.status();
  f.limit = *limit;
  f.offset = *offset;
  return f;
}

json::object SessionJson(const sink::SessionInfo& s) {
  json::object by_rule;
  for (const auto& [rule, n] : s.redactions_by_rule) by_rule[rule] = n;
  json::object o{{"token", s.token},
                 {"session_id", s.session_id},
                 {"distinct_id", s.distinct_id},
                 {"first_ts", s.first_ts},
                 {"last_ts", s.last_ts},
                 {"duration_ms", std::max<int64_t>(0, s.last_ts - s.first_ts)},
                 {"events", s.events},
                 {"bytes", s.bytes},
                 {"first_url", s.first_url}};
  if (s.redactions)
    o["redactions"] = *s.redactions;
  else
    o["redactions"] = nullptr;  // stored before the store counted them
  o["redactions_by_rule"] = s.redactions ? json::value(std::move(by_rule)) : json::value(nullptr);
  return o;
}

bool IsRead(const HttpRequest& req) { return req.method == "GET" || req.method == "HEAD"; }

}  // namespace

ConsoleApi::ConsoleApi(ConsoleDeps deps) : deps_(std::move(deps)) {}

void ConsoleApi::MountOn(AdminApi* admin) {
  auto h = [this](const HttpRequest& req, const AdminCaller& caller) {
    return Handle(req, caller);
  };
  admin->Mount("/admin/api/whoami", RouteAccess{{}, {Role::kDsr, Role::kAuditor}}, h);
  admin->Mount("/admin/api/subjects/", RouteAccess{{}, {Role::kDsr, Role::kAuditor}}, h);
  admin->Mount("/admin/api/audit/verify", RouteAccess{{Role::kAuditor}, {Role::kAuditor}}, h);
  admin->Mount(std::string(kBase), RouteAccess{{}, {Role::kAuditor}}, h);
}

void ConsoleApi::SetLists(ConsoleList subject_requests, ConsoleList holds) {
  subject_requests_ = std::move(subject_requests);
  holds_ = std::move(holds);
}

HttpResponse ConsoleApi::Handle(const HttpRequest& req, const AdminCaller& caller) {
  std::string_view path = PathOf(req);
  if (!path.starts_with(kBase)) return ErrorResponse(404, "not_found", "unknown console endpoint");
  std::string_view rest = path.substr(kBase.size());
  if (rest == "audit/verify") {
    if (req.method != "POST") return ErrorResponse(405, "method_not_allowed", "use POST");
    return Verify(caller);
  }
  const bool events = rest.starts_with(kSessions) && rest.ends_with(kEvents) &&
                      rest.size() > kSessions.size() + kEvents.size();
  if (rest != "whoami" && rest != "sessions" && rest != "policy" && rest != "audit" &&
      rest != "subjects/requests" && rest != "holds" && !events)
    return ErrorResponse(404, "not_found", "unknown console endpoint");
  if (!IsRead(req)) return ErrorResponse(405, "method_not_allowed", "use GET");
  if (rest == "whoami") return Json(json::serialize(json::object{{"role", RoleName(caller.role)}}));
  if (rest == "sessions") return Sessions(req);
  if (rest == "policy") return Policy();
  if (rest == "audit") return Audit();
  if (rest == "subjects/requests") return List(subject_requests_, req);
  if (rest == "holds") return List(holds_, req);
  std::string_view id =
      rest.substr(kSessions.size(), rest.size() - kSessions.size() - kEvents.size());
  return SessionEvents(req, id, caller);
}

HttpResponse ConsoleApi::Sessions(const HttpRequest& req) {
  Result<Query> q =
      ParseQuery(req.target, {"token", "from", "to", "url", "redacted", "limit", "offset"});
  if (!q.ok()) return Bad(q.status().message());
  Result<sink::SessionQuery> f = ParseSessionQuery(*q);
  if (!f.ok()) return Bad(f.status().message());
  if (!deps_.store) return ErrorResponse(503, "unavailable", "no local store");
  Result<sink::SessionPage> page = deps_.store->QuerySessions(*f);
  if (!page.ok()) return ErrorResponse(503, "unavailable", "the session index is unavailable");
  json::array rows;
  for (const sink::SessionInfo& s : page->sessions) rows.push_back(SessionJson(s));
  return Json(json::serialize(json::object{{"sessions", std::move(rows)},
                                           {"total", page->total},
                                           {"limit", f->limit},
                                           {"offset", f->offset}}));
}

HttpResponse ConsoleApi::SessionEvents(const HttpRequest& req, std::string_view id,
                                       const AdminCaller& caller) {
  if (!ingest::ValidSessionId(id)) return Bad("bad session id");
  Result<Query> q = ParseQuery(req.target, {"token", "window"});
  if (!q.ok()) return Bad(q.status().message());
  const std::string token = q->count("token") ? q->at("token") : "";
  const std::string window = q->count("window") ? q->at("window") : "";
  if ((!token.empty() && !ingest::ValidToken(token)) ||
      (!window.empty() && !ingest::ValidSessionId(window)))
    return Bad("bad token or window id");
  HttpResponse r = AuditedExport(deps_.store, deps_.auditor, deps_.pseudonym_key, std::string(id),
                                 token, window, caller);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse ConsoleApi::Policy() {
  json::array out;
  std::shared_ptr<const policies::PolicySet> set = deps_.policies ? deps_.policies() : nullptr;
  if (set)
    for (const auto& p : set->policies()) {
      json::array applies;
      for (const std::string& t : p->applies_to) applies.push_back(json::value(t));
      out.push_back(json::object{{"name", p->name},
                                 {"version", p->version},
                                 {"sha256", p->sha256},
                                 {"file", p->file},
                                 {"applies_to", std::move(applies)}});
    }
  const int64_t loaded = deps_.policies_loaded_ms ? deps_.policies_loaded_ms() : 0;
  return Json(json::serialize(json::object{
      {"policies", std::move(out)},
      {"loaded_at", loaded > 0 ? json::value(FormatRfc3339Ms(loaded)) : json::value(nullptr)}}));
}

HttpResponse ConsoleApi::List(const ConsoleList& list, const HttpRequest& req) {
  if (!list) return ErrorResponse(503, "unavailable", "not available on this daemon");
  size_t q = req.target.find('?');
  std::string_view query = q == std::string::npos ? "" : std::string_view(req.target).substr(q + 1);
  if (query.size() > kConsoleMaxQueryBytes) return Bad("query string too long");
  HttpResponse r = list(query);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace scrubd::server
