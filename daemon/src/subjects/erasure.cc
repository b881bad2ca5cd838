// Erasure, in the order docs/subjects.md gives: tombstones (under the exclusive ingest lock),
// then deletion, then the upstream, then the scan, then the audit entry and its receipt.
#include "subjects/erasure.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <mutex>
#include <set>

#include "dom/state_store.h"
#include "scrubd/audit/log.h"
#include "scrubd/audit/receipt.h"
#include "scrubd/common/zip.h"
#include "server/keys.h"
#include "sink/scan.h"
#include "sink/spool.h"
#include "subjects/facts.h"
#include "subjects/posthog_eraser.h"

namespace scrubd::subjects {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

using Seeds = std::vector<std::pair<std::string, std::string>>;

// Tombstones every node of `subject` and every seed, expiring after suppress_days.
Status WriteTombstones(const Stores& s, const Subject& subject, const Seeds& seeds,
                       const std::string& request_id) {
  auto expires = [&](std::string_view token) {
    int64_t days = s.suppress_days_for ? s.suppress_days_for(token) : kDefaultSuppressDays;
    return NowMs() + days * 86400000LL;
  };
  std::vector<Tombstone> t;
  for (const Subject::Part& part : subject.parts)
    for (const NodeFact& n : part.nodes)
      t.push_back({part.token, n.node, request_id, expires(part.token)});
  for (const auto& [token, node] : seeds)
    if (!token.empty()) t.push_back({token, node, request_id, expires(token)});
  if (t.empty()) return Status::Ok();
  return s.index->AddTombstones(t);
}

// Tombstones first; the exclusive lock waits out every batch in flight, whose facts are then
// in the index, so the second resolve is the whole subject.
Result<Subject> TombstoneAndResolve(const Stores& s, const Seeds& seeds,
                                    const std::string& request_id) {
  Result<Subject> first = s.index->Resolve(seeds);
  if (!first.ok()) return first.status();
  {
    std::unique_lock<std::shared_mutex> lock;
    if (s.ingest_lock) lock = std::unique_lock<std::shared_mutex>(*s.ingest_lock);
    if (Status st = WriteTombstones(s, *first, seeds, request_id); !st.ok()) return st;
  }
  Result<Subject> final_subject = s.index->Resolve(seeds);
  if (!final_subject.ok()) return final_subject.status();
  if (Status st = WriteTombstones(s, *final_subject, seeds, request_id); !st.ok()) return st;
  return final_subject;
}

struct Targets {
  std::vector<sink::SessionKey> sessions;
  std::vector<std::pair<std::string, std::string>> events;  // (token, uuid)
  std::vector<uint64_t> spool_seqs;
  std::vector<std::string> distinct_ids;  // as stored: the pseudonym after "i:"
  std::vector<std::pair<std::string, std::string>> token_distinct_ids;  // the same, with tokens
};

Targets TargetsOf(const Subject& subject) {
  Targets t;
  for (const Subject::Part& p : subject.parts) {
    for (const std::string& id : p.sessions) t.sessions.push_back({p.token, id});
    for (const std::string& u : p.event_uuids) t.events.emplace_back(p.token, u);
    t.spool_seqs.insert(t.spool_seqs.end(), p.spool_seqs.begin(), p.spool_seqs.end());
    for (std::string& id : DistinctIdsOf(p)) {
      t.token_distinct_ids.emplace_back(p.token, id);
      t.distinct_ids.push_back(std::move(id));
    }
  }
  std::sort(t.spool_seqs.begin(), t.spool_seqs.end());
  t.spool_seqs.erase(std::unique(t.spool_seqs.begin(), t.spool_seqs.end()), t.spool_seqs.end());
  return t;
}

// True when the access bundle `zip` lists one of `sessions` in its manifest (or cannot be
// read: a bundle that cannot be checked is removed, fail closed).
bool BundleHolds(const std::string& zip, const std::set<std::string>& sessions) {
  Result<std::vector<zip::ZipMember>> members = zip::ReadZip(zip);
  if (!members.ok()) return true;
  for (const zip::ZipMember& m : *members) {
    if (m.name != "manifest.json") continue;
    boost::system::error_code ec;
    json::value v = json::parse(m.data, ec);
    if (ec || !v.is_object()) return true;
    const json::value* list = v.as_object().if_contains("sessions");
    if (!list || !list->is_array()) return true;
    for (const json::value& e : list->as_array()) {
      const json::value* id = e.is_object() ? e.as_object().if_contains("session_id") : nullptr;
      if (id && id->is_string() && sessions.count(std::string(id->as_string()))) return true;
    }
    return false;
  }
  return true;
}

// Access bundles (DATA_DIR/exports) that hold any of the subject's sessions.
Result<uint64_t> DeleteBundles(const Stores& s, const Targets& t) {
  fs::path dir = s.data_dir / "exports";
  if (t.sessions.empty() || !fs::exists(dir)) return uint64_t{0};
  std::set<std::string> sessions;
  for (const sink::SessionKey& k : t.sessions) sessions.insert(k.session_id);
  Env* env = Env::Default();
  Result<std::vector<std::string>> names = env->GetChildren(dir);
  if (!names.ok()) return names.status();
  uint64_t n = 0;
  for (const std::string& name : *names) {
    if (!name.ends_with(".zip")) continue;
    Result<std::string> bytes = env->ReadFile(dir / name);
    if (!bytes.ok() || !BundleHolds(*bytes, sessions)) continue;
    if (Status st = env->RemoveFile(dir / name); !st.ok()) return st;
    ++n;
  }
  if (n > 0)
    if (Status st = env->SyncDir(dir); !st.ok()) return st;
  return n;
}

Status DeleteEverywhere(const Stores& s, const Targets& t, sink::EraseCounts* counts,
                        uint64_t* bundles) {
  Result<uint64_t> b = DeleteBundles(s, t);
  if (!b.ok()) return b.status();
  *bundles += *b;
  if (s.store) {
    // Rows by distinct id too: an event the index missed still names its subject.
    Result<sink::EraseCounts> c = s.store->Erase(t.sessions, t.events, t.token_distinct_ids);
    if (!c.ok()) return c.status();
    *counts += *c;
  }
  if (s.spool && !t.spool_seqs.empty()) {
    Result<sink::EraseCounts> c = s.spool->Erase(t.spool_seqs);
    if (!c.ok()) return c.status();
    *counts += *c;
  }
  if (s.state) {
    for (const sink::SessionKey& k : t.sessions) {
      bool had = s.state->HoldsSession(k.token, k.session_id);
      if (Status st = s.state->ForgetSession(k.token, k.session_id); !st.ok()) return st;
      if (had) counts->dom_state++;
    }
  }
  return Status::Ok();
}

json::object CountsJson(const sink::EraseCounts& c, uint64_t bundles) {
  return json::object{{"access_bundles", bundles}, {"sessions", c.sessions},
                      {"chunks", c.chunks},        {"chunk_bytes", c.chunk_bytes},
                      {"events", c.events},        {"spool", c.spool},
                      {"dead_letters", c.dead},    {"dom_state", c.dom_state}};
}

// What an earlier run of this request kept (InterimJson): counts, upstream ids and deletions.
void ReadInterim(const std::string& result_json, ErasureOutcome* out) {
  boost::system::error_code ec;
  json::value v = json::parse(result_json, ec);
  if (ec || !v.is_object()) return;
  const json::object& o = v.as_object();
  auto get = [](const json::object& obj, const char* k) -> uint64_t {
    const json::value* x = obj.if_contains(k);
    return x && x->is_int64() && x->as_int64() >= 0 ? static_cast<uint64_t>(x->as_int64())
           : x && x->is_uint64()                    ? x->as_uint64()
                                                    : 0;
  };
  out->persons_deleted = get(o, "upstream_persons_deleted");
  if (const json::value* a = o.if_contains("upstream_ids"); a && a->is_array())
    for (const json::value& x : a->as_array())
      if (x.is_string()) out->upstream_ids.emplace_back(x.as_string());
  const json::value* counts = o.if_contains("counts");
  if (!counts || !counts->is_object()) return;
  const json::object& c = counts->as_object();
  out->counts.sessions = get(c, "sessions");
  out->counts.chunks = get(c, "chunks");
  out->counts.chunk_bytes = get(c, "chunk_bytes");
  out->counts.events = get(c, "events");
  out->counts.spool = get(c, "spool");
  out->counts.dead = get(c, "dead_letters");
  out->counts.dom_state = get(c, "dom_state");
  out->bundles = get(c, "access_bundles");
}

// The raw identifiers, as the scan looks for them (sha256 inputs are not raw: skipped).
std::vector<std::string> Needles(const std::vector<Identity>& raw) {
  std::vector<std::string> out;
  for (const Identity& i : raw) {
    if (i.format != "raw" || i.type == "session" || i.value.size() < 4) continue;
    out.push_back(i.value);
  }
  return out;
}

Result<ScanResult> Scan(const Stores& s, const Seeds& seeds, const Targets& t,
                        const std::vector<Identity>& raw) {
  ScanResult r;
  if (s.store) {
    Result<sink::EraseCounts> left = s.store->Residue(t.sessions, t.events, t.distinct_ids);
    if (!left.ok()) return left.status();
    r.index_rows = left->sessions + left->chunks + left->events;
    r.files = left->files;  // files and directories of the sessions still on disk
  }
  for (uint64_t seq : t.spool_seqs)
    if (s.spool && s.spool->Holds(seq)) r.spool_records++;
  for (const sink::SessionKey& k : t.sessions)
    if (s.state && s.state->HoldsSession(k.token, k.session_id)) r.files++;
  Result<Subject> again = s.index->Resolve(seeds);
  if (!again.ok()) return again.status();
  for (const Subject::Part& p : again->parts)
    r.subject_index += p.sessions.size() + p.event_uuids.size() + p.spool_seqs.size();
  std::vector<std::string> needles = Needles(raw);
  r.raw_checked = !raw.empty();
  if (!needles.empty()) {
    for (const char* sub : {"store", "spool", "state", "subjects", "audit", "exports"}) {
      if (!fs::exists(s.data_dir / sub)) continue;
      Result<uint64_t> n = sink::ScanForNeedles(s.data_dir / sub, needles);
      if (!n.ok()) return n.status();
      r.raw_identifier_files += *n;
    }
  }
  r.clean = r.index_rows == 0 && r.files == 0 && r.spool_records == 0 && r.subject_index == 0 &&
            r.raw_identifier_files == 0;
  return r;
}

json::object ScanJson(const ScanResult& r) {
  return json::object{{"clean", r.clean},
                      {"index_rows", r.index_rows},
                      {"files", r.files},
                      {"spool_records", r.spool_records},
                      {"subject_index", r.subject_index},
                      {"raw_identifier_files", r.raw_identifier_files},
                      {"raw_identifiers_checked", r.raw_checked}};
}

// Upstream step: "none" without an upstream eraser or with no distinct ids.
std::string EraseUpstream(const Stores& s, const Targets& t, ErasureOutcome* out) {
  if (!s.upstream) return "none";
  if (t.distinct_ids.empty()) return "done";
  UpstreamEraseResult r = s.upstream->Erase(t.distinct_ids);
  out->persons_deleted += r.persons_deleted;
  out->retry_after = r.retry_after;
  switch (r.outcome) {
    case EraseAttempt::kDone: return "done";
    case EraseAttempt::kRetry: return "retry";
    case EraseAttempt::kFailed: return "failed";
  }
  return "failed";
}

// Asks `held_by` about the subject's sessions and distinct ids. Held: the outcome is
// `deferred` with the hold ids, audited `erasure_deferred` (counts only); returns true.
Result<bool> DeferIfHeld(const Stores& s, const RequestRecord& request, const Targets& t,
                         ErasureOutcome* out) {
  if (!s.held_by) return false;
  Result<std::vector<std::string>> holds = s.held_by(t.sessions, t.token_distinct_ids);
  if (!holds.ok()) return holds.status();  // fail closed: nothing is deleted, retried later
  if (holds->empty()) return false;
  out->status = "deferred";
  out->hold_ids = std::move(holds).value();
  json::array ids;
  for (const std::string& id : out->hold_ids) ids.push_back(json::string(id));
  json::object entry{{"request_id", request.id},
                     {"subject", out->subject},
                     {"holds", std::move(ids)},
                     {"counts", json::object{{"sessions", t.sessions.size()},
                                             {"events", t.events.size()},
                                             {"spool", t.spool_seqs.size()},
                                             {"distinct_ids", t.token_distinct_ids.size()}}}};
  if (!s.audit) return Status::Internal("erasure needs the audit log");
  if (Result<uint64_t> seq = s.audit->Append("erasure_deferred", json::serialize(entry)); !seq.ok())
    return seq.status();
  spdlog::info("erasure {} subject={} deferred by {} legal hold(s)", request.id, out->subject,
               out->hold_ids.size());
  return true;
}

}  // namespace

int64_t NowMs() { return static_cast<int64_t>(Env::Default()->NowMicros() / 1000); }

std::vector<std::string> DistinctIdsOf(const Subject::Part& part) {
  std::vector<std::string> ids;
  for (const NodeFact& n : part.nodes)
    if (n.kind == kKindDistinctId && n.node.starts_with("i:")) ids.push_back(n.node.substr(2));
  return ids;
}

std::string InterimJson(const ErasureOutcome& out) {
  json::array ids;
  for (const std::string& id : out.upstream_ids) ids.push_back(json::string(id));
  json::object o{{"counts", CountsJson(out.counts, out.bundles)},
                 {"upstream", out.upstream},
                 {"upstream_persons_deleted", out.persons_deleted},
                 {"upstream_ids", std::move(ids)}};
  if (!out.hold_ids.empty()) {
    json::array holds;
    for (const std::string& id : out.hold_ids) holds.push_back(json::string(id));
    o["holds"] = std::move(holds);
  }
  return json::serialize(o);
}

std::string JoinSeed(const std::string& token, const std::string& node) {
  return token + "\t" + node;
}

std::pair<std::string, std::string> SplitSeed(const std::string& seed) {
  size_t tab = seed.find('\t');
  if (tab == std::string::npos) return {"", seed};
  return {seed.substr(0, tab), seed.substr(tab + 1)};
}

Result<Seeds> SeedsOf(const Stores& stores, const std::vector<Identity>& identities) {
  Result<std::vector<std::string>> tokens = stores.index->Tokens();
  if (!tokens.ok()) return tokens.status();
  Seeds seeds;
  for (const Identity& id : identities) {
    for (const std::string& token : *tokens)
      for (const NodeFact& n : SeedNodes(stores.master_key, token, id.type, id.value, id.format))
        seeds.emplace_back(token, n.node);
  }
  std::sort(seeds.begin(), seeds.end());
  seeds.erase(std::unique(seeds.begin(), seeds.end()), seeds.end());
  return seeds;
}

std::string SubjectId(const Stores& stores, const std::vector<std::string>& seeds) {
  std::vector<std::string> sorted = seeds;
  std::sort(sorted.begin(), sorted.end());
  std::string joined;
  for (const std::string& s : sorted) joined += s + "\n";
  return "subj_" + server::Pseudonym(stores.pseudonym_key, joined);
}

Result<ErasureOutcome> RunErasure(const Stores& stores, const RequestRecord& request,
                                  const std::vector<Identity>& raw) {
  Seeds seeds;
  for (const std::string& s : request.seeds) seeds.push_back(SplitSeed(s));
  ErasureOutcome out;
  out.subject = SubjectId(stores, request.seeds);
  Result<Subject> subject = TombstoneAndResolve(stores, seeds, request.id);
  if (!subject.ok()) return subject.status();
  Targets targets = TargetsOf(*subject);
  ReadInterim(request.result_json, &out);  // what an earlier run already did
  for (const std::string& id : out.upstream_ids) targets.distinct_ids.push_back(id);
  std::sort(targets.distinct_ids.begin(), targets.distinct_ids.end());
  targets.distinct_ids.erase(std::unique(targets.distinct_ids.begin(), targets.distinct_ids.end()),
                             targets.distinct_ids.end());
  out.upstream_ids = targets.distinct_ids;
  // Tombstones are in (later data stays out); a legal hold keeps what is there.
  {
    std::shared_lock<std::shared_mutex> gate;  // no hold is placed between check and delete
    if (stores.holds_gate) gate = std::shared_lock<std::shared_mutex>(*stores.holds_gate);
    Result<bool> held = DeferIfHeld(stores, request, targets, &out);
    if (!held.ok()) return held.status();
    if (*held) return out;
    if (Status s = DeleteEverywhere(stores, targets, &out.counts, &out.bundles); !s.ok()) return s;
  }
  if (Status s = stores.index->ForgetSubject(*subject); !s.ok()) return s;
  out.upstream = EraseUpstream(stores, targets, &out);
  if (out.upstream == "retry" || out.upstream == "failed") {  // stays in_progress until acked
    out.status = "in_progress";
    return out;
  }
  Result<ScanResult> scan = Scan(stores, seeds, targets, raw);
  if (!scan.ok()) return scan.status();
  out.scan = *scan;
  json::object summary{{"request_id", request.id},
                       {"type", "erasure"},
                       {"regulation", request.regulation},
                       {"subject", out.subject},
                       {"counts", CountsJson(out.counts, out.bundles)},
                       {"scan", ScanJson(out.scan)},
                       {"upstream", out.upstream},
                       {"upstream_persons_deleted", out.persons_deleted}};
  // A request that matched no recorded id says so, rather than a silent "clean".
  summary["subject_found"] = !subject->empty() || out.counts.sessions + out.counts.events > 0;
  out.status = "completed";  // an unclean scan is reported in the receipt, and by the CLI
  summary["status"] = out.status;
  if (!stores.audit) return Status::Internal("erasure needs the audit log");
  std::string text = json::serialize(summary);
  Result<uint64_t> seq = stores.audit->Append("erasure_completed", text);
  if (!seq.ok()) return seq.status();
  Result<std::string> receipt =
      audit::MakeReceipt(*stores.audit, stores.data_dir / "audit", *seq, text);
  if (!receipt.ok()) return receipt.status();
  out.receipt_json = std::move(receipt).value();
  spdlog::info("erasure {} subject={} status={} sessions={} events={} spool={} scan_clean={}",
               request.id, out.subject, out.status, out.counts.sessions, out.counts.events,
               out.counts.spool, out.scan.clean);
  return out;
}

}  // namespace scrubd::subjects
