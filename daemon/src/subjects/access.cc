// The access bundle: what the subject index links to the subject, read back from the local
// store exactly as stored (cleaned), zipped with a manifest.
#include "subjects/access.h"

#include <boost/json.hpp>
#include <set>

#include "scrubd/audit/log.h"
#include "scrubd/common/zip.h"
#include "sink/local_store.h"
#include "sink/stored_json.h"
#include "subjects/deadlines.h"

namespace scrubd::subjects {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Distinct Meta (type 4) hrefs of a recording, in order.
json::array UrlsOf(const json::value& events) {
  json::array urls;
  std::set<std::string> seen;
  if (!events.is_array()) return urls;
  for (const json::value& e : events.as_array()) {
    if (!e.is_object()) continue;
    const json::value* type = e.as_object().if_contains("type");
    const json::value* data = e.as_object().if_contains("data");
    if (!type || !type->is_int64() || type->as_int64() != 4 || !data || !data->is_object())
      continue;
    const json::value* href = data->as_object().if_contains("href");
    if (href && href->is_string() && seen.insert(std::string(href->as_string())).second)
      urls.push_back(*href);
  }
  return urls;
}

struct Collected {
  std::vector<std::pair<std::string, std::string>> files;  // name, bytes
  json::array sessions;
  json::array events;
  std::set<std::string> names;
};

Status CollectSessions(const Stores& s, const Subject& subject, Collected* c) {
  for (const Subject::Part& part : subject.parts) {
    for (const std::string& id : part.sessions) {
      Result<sink::SessionInfo> info = s.store->GetSession(id, part.token);
      if (!info.ok()) continue;  // indexed but holding no recording (events only)
      Result<std::string> body = s.store->ExportSession(id, part.token);
      if (!body.ok()) return body.status();
      boost::system::error_code ec;
      json::value parsed = sink::ParseStoredJson(*body, ec);
      if (ec) return Status::Corruption("stored recording does not parse");
      c->sessions.push_back(json::object{{"session_id", id},
                                         {"token", part.token},
                                         {"first_timestamp", info->first_ts},
                                         {"last_timestamp", info->last_ts},
                                         {"urls", UrlsOf(parsed)},
                                         {"event_count", info->events}});
      // sessions/<session>.json; the token is added only when two projects share the id.
      std::string name = "sessions/" + id + ".json";
      if (!c->names.insert(name).second) name = "sessions/" + id + "." + part.token + ".json";
      c->names.insert(name);
      c->files.push_back({name, std::move(*body)});
    }
  }
  return Status::Ok();
}

Status CollectEvents(const Stores& s, const Subject& subject, Collected* c) {
  std::vector<sink::SessionKey> sessions;
  std::vector<std::string> distinct_ids;
  for (const Subject::Part& part : subject.parts) {
    for (const std::string& id : part.sessions) sessions.push_back({part.token, id});
    for (std::string& id : DistinctIdsOf(part)) distinct_ids.push_back(std::move(id));
  }
  Result<std::vector<sink::StoredEvent>> rows = s.store->EventsOf(sessions, distinct_ids);
  if (!rows.ok()) return rows.status();
  for (const sink::StoredEvent& e : *rows) {
    boost::system::error_code ec;
    json::value v = sink::ParseStoredJson(e.body, ec);
    if (ec) return Status::Corruption("stored event does not parse");
    c->events.push_back(std::move(v));
  }
  return Status::Ok();
}

// consent.json: the ledger entries of the subject's distinct ids and sessions.
Status AddConsent(const Stores& stores, const Subject& subject, Collected* c) {
  if (!stores.consent_history) return Status::Ok();
  std::vector<std::pair<std::string, std::string>> ids;
  std::vector<std::string> sessions;
  for (const Subject::Part& part : subject.parts) {
    for (const NodeFact& n : part.nodes)
      if (n.kind != kKindEmail && n.node.starts_with("i:"))  // distinct and device ids
        ids.push_back({part.token, n.node.substr(2)});
    sessions.insert(sessions.end(), part.sessions.begin(), part.sessions.end());
  }
  Result<std::string> history = stores.consent_history(ids, sessions);
  if (!history.ok()) return history.status();
  c->files.push_back({"consent.json", std::move(history).value()});
  return Status::Ok();
}

}  // namespace

fs::path BundlePath(const Stores& stores, const std::string& request_id) {
  return stores.data_dir / "exports" / (request_id + ".zip");
}

Result<AccessOutcome> WriteBundle(const Stores& stores, const std::vector<std::string>& seeds,
                                  const fs::path& out) {
  if (!stores.store) return Status::Unavailable("access needs the local store");
  std::vector<std::pair<std::string, std::string>> split;
  for (const std::string& s : seeds) split.push_back(SplitSeed(s));
  Result<Subject> subject = stores.index->Resolve(split);
  if (!subject.ok()) return subject.status();
  Collected c;
  if (Status s = CollectSessions(stores, *subject, &c); !s.ok()) return s;
  if (Status s = CollectEvents(stores, *subject, &c); !s.ok()) return s;
  AccessOutcome o;
  o.bundle = out;
  o.sessions = c.sessions.size();
  o.events = c.events.size();
  json::array versions;
  for (const std::string& v : stores.policy_versions) versions.push_back(json::string(v));
  json::object manifest{{"bundle_version", 1},
                        {"subject", SubjectId(stores, seeds)},
                        {"generated_at", FormatRfc3339Ms(NowMs())},
                        {"policy_versions", std::move(versions)},
                        {"sessions", std::move(c.sessions)},
                        {"event_count", o.events}};
  c.files.insert(c.files.begin(), {"manifest.json", json::serialize(manifest)});
  c.files.push_back({"events.json", json::serialize(c.events)});
  if (Status s = AddConsent(stores, *subject, &c); !s.ok()) return s;
  zip::ZipWriter writer({NowMs() / 1000});
  for (const auto& [name, bytes] : c.files)
    if (Status s = writer.Add(name, bytes); !s.ok()) return s;
  if (Status s = Env::Default()->CreateDirs(out.parent_path(), 0700); !s.ok()) return s;
  if (Status s = writer.WriteTo(Env::Default(), out); !s.ok()) return s;
  o.summary_json = json::serialize(json::object{
      {"subject", SubjectId(stores, seeds)}, {"sessions", o.sessions}, {"events", o.events}});
  return o;
}

Result<AccessOutcome> RunAccess(const Stores& stores, const RequestRecord& request) {
  Result<AccessOutcome> o = WriteBundle(stores, request.seeds, BundlePath(stores, request.id));
  if (!o.ok()) return o.status();
  json::object entry{{"request_id", request.id},
                     {"type", request.type},
                     {"subject", SubjectId(stores, request.seeds)},
                     {"sessions", o->sessions},
                     {"events", o->events}};
  if (stores.audit) {
    Result<uint64_t> seq = stores.audit->Append("access_completed", json::serialize(entry));
    if (!seq.ok()) return seq.status();
  }
  entry["results"] = "bundle";
  o->summary_json = json::serialize(entry);
  return o;
}

}  // namespace scrubd::subjects
