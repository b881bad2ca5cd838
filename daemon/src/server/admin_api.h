// The admin surface: bearer-token roles (roles.h), the built-in /admin routes (reload,
// sessions, export), routes other modules mount by prefix (OpenDSR /v1/, /admin/subjects...),
// and the denial accounting (401/403 counted on /metrics and audited aggregated, by route
// class and path hash, never the raw path). Owned by App. Mount is called before serving;
// Handle / Authorize may run on many request threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_types.h"
#include "server/metrics.h"
#include "server/roles.h"

namespace scrubd::sink {
class LocalStore;
}

namespace scrubd::server {

class Auditor;

// The built-in admin route class of an /admin path ("reload", "sessions", "export" or
// "unknown"): what audit entries record instead of the raw path, which may carry ids or
// personal data.
std::string_view AdminRouteClass(std::string_view path);

// Who called: the token's role and "admin@<pseudonym of the peer address>" for audit entries.
struct AdminCaller {
  Role role = Role::kAdmin;
  std::string name;
};

// Who may call a mounted route: GET and HEAD need one of `read`, other methods one of
// `write`. An admin token may call every route.
struct RouteAccess {
  std::vector<Role> write, read;
};

// GET /admin/sessions/<id>/export and the console's /admin/api/sessions/<id>/events: the
// stored session (ExportSession's JSON), handed out only once its `export` audit entry is
// written (fail closed: 503 otherwise). `id`, `token`, `window` must be validated already.
HttpResponse AuditedExport(sink::LocalStore* store, Auditor* auditor,
                           const std::string& pseudonym_key, const std::string& id,
                           const std::string& token, const std::string& window,
                           const AdminCaller& caller);

class AdminApi {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& req, const AdminCaller& caller)>;
  using ReloadFn = std::function<Status(const std::string& caller)>;

  // `store` may be null (sessions/export answer 503); pointers outlive the AdminApi.
  AdminApi(TokenTable tokens, std::string pseudonym_key, Auditor* auditor, sink::LocalStore* store,
           ReloadFn reload);

  // Routes every path starting with `prefix` (longest mounted prefix first, then the built-in
  // /admin routes) to `h`, for tokens whose role allows `role`; with `read_role`, GET and HEAD
  // need only that role (e.g. auditors may list /admin/holds). The prefix is the route class
  // in audit entries, so it must not carry data. Call before serving.
  void Mount(std::string prefix, Role role, Handler h, std::optional<Role> read_role = {});
  // The same with the roles of each kind of call spelled out (e.g. the console's routes:
  // read by auditors, and /admin/api/whoami by every role).
  void Mount(std::string prefix, RouteAccess access, Handler h);

  // True for /admin, /admin/* and mounted prefixes: the paths Handle answers.
  bool Owns(std::string_view path) const;
  // Authenticates, authorizes, audits the call and dispatches it. 401 without a known token,
  // 403 when its role may not call the route, 404 for an unknown route.
  HttpResponse Handle(const HttpRequest& req);
  // The same gate around `answer` for routes the router serves itself (/metrics on the admin
  // listener); `route` is a fixed route class.
  HttpResponse Authorize(const HttpRequest& req, std::string_view route, Role need,
                         const std::function<HttpResponse()>& answer);

  // scrubd_admin_denied_total{status,route} lines.
  std::string MetricsText() const { return denied_.Text(); }

 private:
  struct Mounted {
    std::string prefix;
    RouteAccess access;
    Handler handler;
  };
  const Mounted* FindMount(std::string_view path) const;
  // The caller, or the 401/403 response (counted and audited). `allowed`: the roles that may
  // call (admin always may).
  std::optional<AdminCaller> Authenticate(const HttpRequest& req, std::string_view route,
                                          const std::vector<Role>& allowed, HttpResponse* denied);
  void Denied(const HttpRequest& req, unsigned status, std::string_view route);
  HttpResponse BuiltIn(const HttpRequest& req, std::string_view path, const AdminCaller& caller);
  HttpResponse Sessions();
  HttpResponse Export(const HttpRequest& req, std::string_view path, const AdminCaller& caller);

  const TokenTable tokens_;
  const std::string pseudonym_key_;
  Auditor* auditor_;
  sink::LocalStore* store_;
  ReloadFn reload_;
  std::vector<Mounted> mounts_;  // longest prefix first; frozen once serving
  LabeledCounter denied_{"scrubd_admin_denied_total"};
};

}  // namespace scrubd::server
