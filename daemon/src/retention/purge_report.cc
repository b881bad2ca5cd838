// The purge report as JSON (CLI --json, POST /admin/purge), as text (the CLI) and as the
// audit entry's payload (counts and policy versions, no session id).
#include <boost/json.hpp>
#include <cstdio>

#include "retention/purge.h"
#include "scrubd/common/rfc3339.h"

namespace scrubd::retention {
namespace json = boost::json;

namespace {

json::object CountsJson(const PurgeReport& r) {
  return json::object{{"sessions", r.dry_run ? r.removed.size() : r.counts.sessions},
                      {"held", r.held.size()},
                      {"chunks", r.counts.chunks},
                      {"chunk_bytes", r.counts.chunk_bytes},
                      {"files", r.counts.files},
                      {"events", r.counts.events},
                      {"loose_events", r.loose_events},
                      {"dom_state", r.counts.dom_state},
                      {"dead_letters", r.counts.dead},
                      {"subject_requests", r.requests},
                      {"access_bundles", r.bundles},
                      {"newer_data_kept", r.newer},
                      {"resumed_files", r.resumed},
                      {"no_policy_kept", r.no_policy},
                      {"decided_on_incomplete_facts", r.uncertain},
                      {"dead_letters_kept_under_holds", r.dead_kept},
                      {"errors", r.errors}};
}

json::object EntryJson(const PurgeEntry& e) {
  json::object o{{"token", e.token},
                 {"session_id", e.session_id},
                 {"rule", e.rule},
                 {"days", e.days},
                 {"last_event", FormatRfc3339Ms(e.last_ts)},
                 {"expired_at", FormatRfc3339Ms(e.expires_ms)}};
  if (!e.hold.empty()) o["hold"] = e.hold;
  return o;
}

json::array Versions(const PurgeReport& r) {
  json::array a;
  for (const std::string& v : r.policy_versions) a.emplace_back(v);
  return a;
}

}  // namespace

std::string PurgeReport::ToJson() const {
  json::array removed_json, held_json;
  for (const PurgeEntry& e : removed) removed_json.push_back(EntryJson(e));
  for (const PurgeEntry& e : held) held_json.push_back(EntryJson(e));
  json::object o{{"dry_run", dry_run},
                 {"now", FormatRfc3339Ms(now_ms)},
                 {dry_run ? "would_remove" : "removed", std::move(removed_json)},
                 {"kept_held", std::move(held_json)},
                 {"totals", CountsJson(*this)},
                 {"policies", Versions(*this)}};
  return json::serialize(o);
}

std::string PurgeReport::ToText() const {
  std::string out;
  const char* verb = dry_run ? "would remove" : "removed";
  for (const PurgeEntry& e : removed)
    out += std::string(verb) + "  " + e.token + "/" + e.session_id + "  rule=" + e.rule +
           " days=" + std::to_string(e.days) + " expired=" + FormatRfc3339Ms(e.expires_ms) + "\n";
  for (const PurgeEntry& e : held)
    out += "kept (held)  " + e.token + "/" + e.session_id + "  hold=" + e.hold + " rule=" + e.rule +
           " expired=" + FormatRfc3339Ms(e.expires_ms) + "\n";
  char line[512];
  std::snprintf(line, sizeof(line),
                "%s at %s: %zu sessions %s, %zu kept under a hold, %llu events, %llu sessionless "
                "events, %llu DOM state sessions, %llu dead letters, %llu subject requests, "
                "%llu access bundles; %llu kept for newer data, %llu errors\n",
                dry_run ? "purge (dry run)" : "purge", FormatRfc3339Ms(now_ms).c_str(),
                removed.size(), dry_run ? "would go" : "removed", held.size(),
                static_cast<unsigned long long>(counts.events),
                static_cast<unsigned long long>(loose_events),
                static_cast<unsigned long long>(counts.dom_state),
                static_cast<unsigned long long>(counts.dead),
                static_cast<unsigned long long>(requests), static_cast<unsigned long long>(bundles),
                static_cast<unsigned long long>(newer), static_cast<unsigned long long>(errors));
  return out + line;
}

std::string PurgeReport::AuditJson() const {
  json::object o{{"now", FormatRfc3339Ms(now_ms)},
                 {"clock", clock_given ? "given" : "system"},
                 {"counts", CountsJson(*this)},
                 {"policies", Versions(*this)}};
  return json::serialize(o);
}

}  // namespace scrubd::retention
