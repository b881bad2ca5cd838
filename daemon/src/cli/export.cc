// Audited export: the local path (this process holds the audit log) and the daemon path (an
// admin request to the running daemon, which audits it). See export.h and docs/audit.md.
#include "cli/export.h"

#include <boost/json.hpp>

#include "cli/daemon_client.h"
#include "cli/local_stack.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/env.h"
#include "server/keys.h"
#include "sink/local_store.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// No audit log lock: this process writes the entry, then exports.
Result<std::string> ExportLocally(const ExportRequest& req, audit::Log& log) {
  Result<std::unique_ptr<sink::LocalStore>> store = sink::LocalStore::Open(req.data_dir);
  if (!store.ok()) return store.status();
  if (Status s = AuditStoreMigration(**store, log); !s.ok()) return s;
  Result<std::string> body = (*store)->ExportSession(req.session, req.token, req.window);
  if (!body.ok()) return body.status();
  auto key = server::LoadOrCreateKey(req.data_dir / "keys" / "pseudonym.key", 32);
  if (!key.ok()) return key.status();
  Result<uint64_t> seq = log.Append(
      "export", json::serialize(json::object{{"session", server::Pseudonym(*key, req.session)},
                                             {"token", req.token},
                                             {"caller", "cli"}}));
  if (!seq.ok()) return Status::Unavailable("export not audited: " + seq.status().message());
  if (Status s = log.Close(); !s.ok())
    return Status::Unavailable("export not audited: " + s.message());
  return body;
}

// The daemon holds the log: GET /admin/sessions/<id>/export on its published address.
Result<std::string> ExportViaDaemon(const ExportRequest& req) {
  std::string target = "/admin/sessions/" + req.session + "/export?token=" + req.token;
  if (!req.window.empty()) target += "&window=" + req.window;
  Result<DaemonReply> res = CallDaemon(req.data_dir, req.admin_token_file, "GET", target, "");
  if (!res.ok()) {
    if (res.status().code() == Code::kNotFound)
      return Status::Unavailable(
          "the audit log is held by another process that publishes no address (" +
          ServeAddrFile(req.data_dir).string() + ")");
    return res.status();
  }
  if (res->status == 200) return std::move(res->body);
  std::string message = ErrorMessageOf(res->body);
  if (res->status == 404) return Status::NotFound(message);
  if (res->status == 400) return Status::InvalidInput(message);
  return Status::Unavailable("daemon answered " + std::to_string(res->status) + ": " + message);
}

}  // namespace

fs::path ServeAddrFile(const fs::path& data_dir) { return data_dir / "run" / "serve.addr"; }

Result<std::string> ExportAudited(const ExportRequest& req) {
  Result<std::unique_ptr<audit::Log>> log = audit::Log::Open(req.data_dir / "audit", {});
  if (log.ok()) return ExportLocally(req, **log);
  if (log.status().code() == Code::kUnavailable) return ExportViaDaemon(req);
  return Status::Unavailable("export not audited: " + log.status().message());
}

}  // namespace scrubd::cli
