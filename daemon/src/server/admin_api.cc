// Admin authentication, authorization, audit and the built-in routes. Callers are named by a
// keyed pseudonym of their address, paths by route class and hash.
#include "server/admin_api.h"

#include <algorithm>
#include <boost/json.hpp>

#include "ingest/decode.h"
#include "server/auditor.h"
#include "server/keys.h"
#include "sink/local_store.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

constexpr std::string_view kExport = "/admin/sessions/";
constexpr std::string_view kExportSuffix = "/export";

std::string_view MethodClass(std::string_view m) {
  for (std::string_view known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
    if (m == known) return known;
  return "other";
}

bool IsExport(std::string_view path) {
  return path.size() > kExport.size() + kExportSuffix.size() && path.starts_with(kExport) &&
         path.ends_with(kExportSuffix);
}

}  // namespace

std::string_view AdminRouteClass(std::string_view path) {
  if (path == "/admin/reload") return "reload";
  if (path == "/admin/sessions") return "sessions";
  if (IsExport(path)) return "export";
  return "unknown";
}

AdminApi::AdminApi(TokenTable tokens, std::string pseudonym_key, Auditor* auditor,
                   sink::LocalStore* store, ReloadFn reload)
    : tokens_(std::move(tokens)),
      pseudonym_key_(std::move(pseudonym_key)),
      auditor_(auditor),
      store_(store),
      reload_(std::move(reload)) {}

void AdminApi::Mount(std::string prefix, Role role, Handler h, std::optional<Role> read_role) {
  Mount(std::move(prefix), RouteAccess{{role}, {read_role.value_or(role)}}, std::move(h));
}

void AdminApi::Mount(std::string prefix, RouteAccess access, Handler h) {
  mounts_.push_back({std::move(prefix), std::move(access), std::move(h)});
  std::stable_sort(mounts_.begin(), mounts_.end(), [](const Mounted& a, const Mounted& b) {
    return a.prefix.size() > b.prefix.size();
  });
}

const AdminApi::Mounted* AdminApi::FindMount(std::string_view path) const {
  for (const Mounted& m : mounts_)
    if (path.starts_with(m.prefix)) return &m;
  return nullptr;
}

bool AdminApi::Owns(std::string_view path) const {
  return path == "/admin" || path.starts_with("/admin/") || FindMount(path) != nullptr;
}

// A denied call is recorded by route class, path length and a keyed hash of the path:
// `/admin/<an email>` must not put the email in the log, nor 60 KB paths bloat it.
void AdminApi::Denied(const HttpRequest& req, unsigned status, std::string_view route) {
  std::string_view path = PathOf(req);
  denied_.Add("status=\"" + std::to_string(status) + "\",route=\"" + std::string(route) + "\"");
  json::object fields{{"route", route},
                      {"status", status},
                      {"method", MethodClass(req.method)},
                      {"path_len", path.size()},
                      {"path_hash", Pseudonym(pseudonym_key_, path)},
                      {"peer", Pseudonym(pseudonym_key_, req.peer)}};
  auditor_->Aggregated(
      "admin_denied|" + req.peer + "|" + std::to_string(status) + "|" + std::string(route),
      "admin_denied", fields);
}

std::optional<AdminCaller> AdminApi::Authenticate(const HttpRequest& req, std::string_view route,
                                                  const std::vector<Role>& allowed,
                                                  HttpResponse* denied) {
  std::optional<Role> role = tokens_.RoleOf(HeaderOf(req, "authorization"));
  if (!role) {
    Denied(req, 401, route);
    *denied =
        ErrorResponse(401, "unauthorized", "admin endpoints need Authorization: Bearer <token>");
    return std::nullopt;
  }
  if (std::none_of(allowed.begin(), allowed.end(),
                   [&](Role need) { return RoleAllows(*role, need); }) &&
      *role != Role::kAdmin) {
    Denied(req, 403, route);
    *denied = ErrorResponse(
        403, "forbidden", std::string("the ") + RoleName(*role) + " role may not call this route");
    return std::nullopt;
  }
  AdminCaller caller{*role, "admin@" + Pseudonym(pseudonym_key_, req.peer)};
  json::object entry{{"route", route},
                     {"path_hash", Pseudonym(pseudonym_key_, PathOf(req))},
                     {"method", MethodClass(req.method)},
                     {"role", RoleName(*role)},
                     {"caller", caller.name}};
  auditor_->Append("admin_call", json::serialize(entry));
  return caller;
}

HttpResponse AdminApi::Authorize(const HttpRequest& req, std::string_view route, Role need,
                                 const std::function<HttpResponse()>& answer) {
  HttpResponse denied;
  if (!Authenticate(req, route, {need}, &denied)) return denied;
  return answer();
}

HttpResponse AdminApi::Handle(const HttpRequest& req) {
  std::string_view path = PathOf(req);
  const Mounted* m = FindMount(path);
  std::string route = m ? m->prefix : std::string(AdminRouteClass(path));
  const bool read = req.method == "GET" || req.method == "HEAD";
  static const std::vector<Role> kAdminOnly{Role::kAdmin};
  const std::vector<Role>& allowed = !m ? kAdminOnly : read ? m->access.read : m->access.write;
  HttpResponse denied;
  std::optional<AdminCaller> caller = Authenticate(req, route, allowed, &denied);
  if (!caller) return denied;
  if (m) return m->handler(req, *caller);
  return BuiltIn(req, path, *caller);
}

HttpResponse AdminApi::BuiltIn(const HttpRequest& req, std::string_view path,
                               const AdminCaller& caller) {
  if (path == "/admin/reload" && req.method == "POST") {
    Status s = reload_ ? reload_(caller.name) : Status::Unavailable("no reload configured");
    if (!s.ok()) return ErrorResponse(422, "invalid_config", s.message());
    return HttpResponse{200, "application/json", R"({"status":"reloaded"})", {}};
  }
  if (path == "/admin/sessions" && req.method == "GET") return Sessions();
  if (IsExport(path) && req.method == "GET") return Export(req, path, caller);
  return ErrorResponse(404, "not_found", "unknown admin endpoint");
}

HttpResponse AdminApi::Sessions() {
  if (!store_) return ErrorResponse(503, "unavailable", "no local store");
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

HttpResponse AdminApi::Export(const HttpRequest& req, std::string_view path,
                              const AdminCaller& caller) {
  std::string id(path.substr(kExport.size(), path.size() - kExport.size() - kExportSuffix.size()));
  if (!ingest::ValidSessionId(id)) return ErrorResponse(400, "invalid_input", "bad session id");
  std::string token = QueryParam(req.target, "token");
  std::string window = QueryParam(req.target, "window");
  if ((!token.empty() && !ingest::ValidToken(token)) ||
      (!window.empty() && !ingest::ValidSessionId(window)))
    return ErrorResponse(400, "invalid_input", "bad token or window id");
  return AuditedExport(store_, auditor_, pseudonym_key_, id, token, window, caller);
}

HttpResponse AuditedExport(sink::LocalStore* store, Auditor* auditor,
                           const std::string& pseudonym_key, const std::string& id,
                           const std::string& token, const std::string& window,
                           const AdminCaller& caller) {
  if (!store) return ErrorResponse(503, "unavailable", "no local store");
  // Scoped by token; without one, kInvalidInput when several tokens hold the id.
  Result<std::string> body = store->ExportSession(id, token, window);
  if (!body.ok())
    return ErrorResponse(HttpStatusFor(body.status()), CodeName(body.status().code()),
                         body.status().message());
  // Fail closed: an export that cannot be audited is not handed out.
  json::object entry{
      {"session", Pseudonym(pseudonym_key, id)}, {"token", token}, {"caller", caller.name}};
  if (!auditor->Required("export", json::serialize(entry)).ok())
    return ErrorResponse(503, "unavailable", "audit log unavailable; retry later");
  return HttpResponse{200, "application/json", std::move(body).value(), {}};
}

}  // namespace scrubd::server
