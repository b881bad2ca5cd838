// The console's audit routes: GET /admin/api/audit (newest checkpoint, last verification, the
// newest entries by type) and POST /admin/api/audit/verify (a full verification now, against
// the log's own public.pem, as `scrubd audit verify --data-dir` does). Entries hold counts and
// pseudonyms only (docs/audit.md), so they are shown as they are.
#include <boost/json.hpp>
#include <chrono>
#include <map>

#include "scrubd/audit/log.h"
#include "scrubd/audit/verify.h"
#include "scrubd/common/rfc3339.h"
#include "server/auditor.h"
#include "server/console_api.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

HttpResponse Json(std::string body) {
  HttpResponse r{200, "application/json", std::move(body), {}};
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

std::string AtUs(uint64_t us) { return FormatRfc3339Ms(static_cast<int64_t>(us / 1000)); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::value CheckpointJson(const audit::CheckpointStatus& c) {
  if (c.note.empty()) return nullptr;
  return json::object{{"size", c.size},     {"entries", c.entries}, {"at", AtUs(c.time_us)},
                      {"origin", c.origin}, {"root", c.root},       {"note", c.note}};
}

// {type: [entries, newest first, at most kConsoleEntriesPerType]}.
json::object LatestJson(const std::vector<audit::RecentEntry>& newest_first) {
  json::object out;
  for (const audit::RecentEntry& e : newest_first) {
    json::value* list = out.if_contains(e.type);
    if (!list) list = &(out[e.type] = json::array());
    if (list->get_array().size() >= kConsoleEntriesPerType) continue;
    boost::system::error_code ec;
    json::value payload = json::parse(e.payload, ec);
    list->get_array().push_back(json::object{
        {"seq", e.seq}, {"at", AtUs(e.time_us)}, {"payload", ec ? json::value() : payload}});
  }
  return out;
}

}  // namespace

HttpResponse ConsoleApi::Audit() {
  if (!deps_.audit) return ErrorResponse(503, "unavailable", "no audit log");
  Result<std::vector<audit::RecentEntry>> recent = deps_.audit->Recent(kConsoleEntriesScanned);
  if (!recent.ok())
    return ErrorResponse(503, "unavailable",
                         "audit entries unreadable: " + recent.status().message());
  std::string last;
  {
    std::lock_guard<std::mutex> lock(last_mu_);
    last = last_verify_json_;
  }
  json::object out{{"checkpoint", CheckpointJson(deps_.audit->NewestCheckpoint())},
                   {"last_verify", json::parse(last)},
                   {"latest", LatestJson(*recent)}};
  return Json(json::serialize(out));
}

HttpResponse ConsoleApi::Verify(const AdminCaller& caller) {
  if (!deps_.audit) return ErrorResponse(503, "unavailable", "no audit log");
  std::unique_lock<std::mutex> running(verify_mu_, std::try_to_lock);
  if (!running.owns_lock())
    return ErrorResponse(409, "busy", "a verification is already running; retry later");
  const std::filesystem::path dir = deps_.audit->Dir();
  audit::VerifyReport r = audit::Verify(dir, dir / "public.pem", std::nullopt);
  json::object result{{"ok", r.ok},
                      {"at", FormatRfc3339Ms(NowMs())},
                      {"entries", r.entries},
                      {"checkpoints", r.checkpoints},
                      {"error", r.ok ? json::value(nullptr) : json::value(r.reason)}};
  if (r.first_bad_seq) result["first_bad_seq"] = *r.first_bad_seq;
  std::string text = json::serialize(result);
  {
    std::lock_guard<std::mutex> lock(last_mu_);
    last_verify_json_ = text;
  }
  deps_.auditor->Append(
      "audit_verify",
      json::serialize(json::object{{"caller", caller.name}, {"ok", r.ok}, {"entries", r.entries}}));
  return Json(std::move(text));
}

}  // namespace scrubd::server
