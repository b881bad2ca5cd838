// POST /admin/purge: a small JSON body in, the purge report out. Messages never quote input.
#include "retention/purge_api.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>

#include "retention/strict_json.h"
#include "scrubd/common/rfc3339.h"

namespace scrubd::retention {
namespace json = boost::json;

Result<PurgeReport> PurgeWith(const subjects::Stores& stores, HoldStore* holds,
                              std::shared_ptr<const policies::PolicySet> policies,
                              const PurgeOptions& options) {
  PurgeDeps d;
  d.store = stores.store;
  d.state = stores.state;
  d.spool = stores.spool;
  d.index = stores.index;
  d.audit = stores.audit;
  d.policies = std::move(policies);
  d.ingest_lock = stores.ingest_lock;
  d.data_dir = stores.data_dir;
  if (holds) {
    d.holds_gate = &holds->gate();
    subjects::SubjectStore* index = stores.index;
    d.resolve_holds = [holds, index](bool* any) -> Result<PurgeDeps::HeldBy> {
      Result<std::vector<Hold>> active = holds->Active();
      if (!active.ok()) return active.status();
      *any = !active->empty();
      Result<HeldSet> set = ResolveHolds(*active, index);
      if (!set.ok()) return set.status();  // fail closed: nothing is purged without the holds
      auto held = std::make_shared<HeldSet>(std::move(set).value());
      return PurgeDeps::HeldBy(
          [held](std::string_view token, std::string_view session, std::string_view id) {
            return held->HoldOf(token, session, id);
          });
    };
  }
  return RunPurge(d, options);
}

Status ParsePurgeBody(const std::string& body, int64_t server_now_ms, PurgeOptions* options,
                      bool* text) {
  options->now_ms = server_now_ms;
  *text = false;
  if (body.empty()) return Status::Ok();
  Result<json::value> parsed = ParseStrict(body, 2);  // a key given twice is refused
  if (!parsed.ok()) return parsed.status();
  const json::value& v = *parsed;
  if (!v.is_object()) return Status::InvalidInput("body must be a JSON object");
  for (const auto& kv : v.as_object()) {
    if (kv.key() == "dry_run") {
      if (!kv.value().is_bool()) return Status::InvalidInput("dry_run must be a boolean");
      options->dry_run = kv.value().get_bool();
    } else if (kv.key() == "now") {
      if (!kv.value().is_string()) return Status::InvalidInput("now must be an RFC 3339 string");
      Result<int64_t> now = ParseRfc3339Ms(kv.value().get_string());
      if (!now.ok()) return Status::InvalidInput("now: " + now.status().message());
      options->now_ms = *now;
      options->clock_given = true;
    } else if (kv.key() == "format") {
      const json::value& f = kv.value();
      if (!f.is_string() || (f.get_string() != "json" && f.get_string() != "text"))
        return Status::InvalidInput("format must be \"json\" or \"text\"");
      *text = f.get_string() == "text";
    } else {
      return Status::InvalidInput("unknown field (known: dry_run, now, format)");
    }
  }
  return Status::Ok();
}

subjects::ApiReply HandleAdminPurge(const PurgeRunner& run, const subjects::ApiRequest& req,
                                    int64_t server_now_ms) {
  if (req.path != "/admin/purge") return subjects::ErrorReply(404, "not_found", "no such route");
  if (req.method != "POST")
    return subjects::ErrorReply(405, "method_not_allowed", "POST /admin/purge");
  if (req.body.size() > 4096) return subjects::ErrorReply(413, "too_large", "body over 4 KiB");
  PurgeOptions options;
  bool text = false;
  if (Status s = ParsePurgeBody(req.body, server_now_ms, &options, &text); !s.ok())
    return subjects::ErrorReply(400, "invalid_input", s.message());
  Result<PurgeReport> report = run(options);
  if (!report.ok()) {
    spdlog::error("purge failed: {}", report.status().ToString());
    return subjects::ErrorReply(503, "unavailable",
                                "the purge failed; the next run finishes it (see the log)");
  }
  if (text) return {200, "text/plain; charset=utf-8", report->ToText()};
  return {200, "application/json", report->ToJson()};
}

}  // namespace scrubd::retention
