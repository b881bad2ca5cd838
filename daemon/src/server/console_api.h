// The console's JSON API under /admin/api/ (docs/console-api.md): who am I, the stored sessions
// with their redaction counts, a session's events (audited as an export), the policy in force,
// audit status and on-demand verification, subject requests and holds. Read-only for auditors;
// bounded and validated: a bad parameter is a 400 JSON error that never echoes the value.
// Owned by App; MountOn is called before serving, Handle then runs on many request threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"
#include "server/admin_api.h"
#include "server/http_types.h"

namespace scrubd::sink {
class LocalStore;
}
namespace scrubd::audit {
class Log;
}

namespace scrubd::server {

class Auditor;

// Bounds of the sessions list (GET /admin/api/sessions).
inline constexpr int64_t kConsoleDefaultLimit = 50, kConsoleMaxLimit = 500;
inline constexpr int64_t kConsoleMaxOffset = 1'000'000;
inline constexpr size_t kConsoleMaxQueryBytes = 8192, kConsoleMaxUrlFilter = 2048;
// Entries per type in GET /admin/api/audit, read from the newest this many of the log.
inline constexpr size_t kConsoleEntriesPerType = 20, kConsoleEntriesScanned = 4096;

struct ConsoleDeps {
  sink::LocalStore* store = nullptr;  // null: the session routes answer 503
  audit::Log* audit = nullptr;        // null: the audit routes answer 503
  Auditor* auditor = nullptr;         // the export entries (fail closed); never null
  std::string pseudonym_key;          // session pseudonyms in those entries
  // The policy set in force and when it was loaded (Unix ms).
  std::function<std::shared_ptr<const policies::PolicySet>()> policies;
  std::function<int64_t()> policies_loaded_ms;
};

// A JSON list the subjects module answers (subject requests, holds), given the raw query
// (at most kConsoleMaxQueryBytes); it validates the query itself.
using ConsoleList = std::function<HttpResponse(std::string_view query)>;

class ConsoleApi {
 public:
  explicit ConsoleApi(ConsoleDeps deps);
  // The routes and their roles: /admin/api/whoami every role; /admin/api/subjects/ auditor
  // and dsr (read); /admin/api/audit/verify auditor (POST); the rest auditor (read). Admin
  // may call all. `admin` outlives this.
  void MountOn(AdminApi* admin);
  // The subjects module's lists; until set those routes answer 503. Call before serving.
  void SetLists(ConsoleList subject_requests, ConsoleList holds);
  HttpResponse Handle(const HttpRequest& req, const AdminCaller& caller);

 private:
  HttpResponse Sessions(const HttpRequest& req);
  HttpResponse SessionEvents(const HttpRequest& req, std::string_view id,
                             const AdminCaller& caller);
  HttpResponse Policy();
  HttpResponse Audit();  // console_audit.cc
  HttpResponse Verify(const AdminCaller& caller);
  HttpResponse List(const ConsoleList& list, const HttpRequest& req);

  ConsoleDeps deps_;
  ConsoleList subject_requests_, holds_;
  std::mutex verify_mu_;  // one verification at a time
  mutable std::mutex last_mu_;
  std::string last_verify_json_ = "null";  // guarded by last_mu_
};

}  // namespace scrubd::server
