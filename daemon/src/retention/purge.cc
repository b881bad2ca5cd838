// Retention purge: plan from the store's lifecycle rows (no recording is read), then delete in
// batches under the ingest lock, then the smaller stores. Messages carry no id or path.
#include "retention/purge.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <tuple>

#include "dom/state_store.h"
#include "retention/rules.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/env.h"
#include "scrubd/common/rfc3339.h"
#include "sink/local_store.h"
#include "sink/spool.h"
#include "sink/stored_json.h"
#include "subjects/subject_store.h"

namespace scrubd::retention {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// The shortest and longest days any policy can give a session.
std::pair<int64_t, int64_t> DayRange(const policies::PolicySet& set) {
  int64_t lo = INT64_MAX, hi = 0;
  for (const auto& p : set.policies()) {
    lo = std::min(lo, p->retention.MinDays());
    hi = std::max(hi, p->retention.days);
    for (const auto& r : p->retention.rules) hi = std::max(hi, r.days);
  }
  if (set.policies().empty()) return {1, 1};
  return {lo, hi};
}

// A token no policy covers anymore: its data is kept no longer than the shortest default.
const policies::RetentionPolicy& RetentionFor(const policies::PolicySet& set,
                                              std::string_view token, bool* none) {
  static const policies::RetentionPolicy kShortest = [] {
    policies::RetentionPolicy r;
    r.days = 1;
    return r;
  }();
  const policies::Policy* p = set.ForToken(token);
  *none = p == nullptr;
  return p ? p->retention : kShortest;
}

// Whether any rule of any policy matches on a page URL or an event name: only then does the
// plan read the sessions' facts (with the lifecycle rows, in one query).
bool NeedsFacts(const policies::PolicySet& set) {
  for (const auto& p : set.policies())
    for (const auto& r : p->retention.rules)
      if (r.url || !r.events.empty()) return true;
  return false;
}

Result<std::vector<json::object>> ParseBodies(const std::vector<std::string>& bodies) {
  std::vector<json::object> out;
  for (const std::string& b : bodies) {
    boost::system::error_code ec;
    json::value v = sink::ParseStoredJson(b, ec);
    if (ec || !v.is_object()) return Status::Corruption("stored event is not a JSON object");
    out.push_back(std::move(v).as_object());
  }
  return out;
}

class Purge {
 public:
  Purge(const PurgeDeps& d, const PurgeOptions& o) : d_(d), o_(o), held_by_(d.held_by) {
    report_.dry_run = o.dry_run;
    report_.now_ms = o.now_ms;
    report_.clock_given = o.clock_given;
    for (const auto& p : d.policies->policies())
      report_.policy_versions.push_back(p->name + " " + p->sha256);
  }
  Result<PurgeReport> Run();

 private:
  Status RefreshHolds();
  Status FinishInterrupted();
  Status PlanSessions(std::vector<sink::PurgeKey>* keys);
  Result<Verdict> VerdictFor(sink::LifecycleRow& row, bool* none);
  Status DeleteSessions(const std::vector<sink::PurgeKey>& keys);
  Status DeleteBatch(std::vector<sink::PurgeKey> batch, size_t first,
                     std::set<std::pair<std::string, std::string>>* gone);
  Status PurgeLooseEvents();
  Status PurgeSmallStores();
  Status PurgeRequests();
  std::string HeldBy(std::string_view token, std::string_view session, std::string_view d) {
    return held_by_ ? held_by_(token, session, d) : std::string();
  }

  const PurgeDeps& d_;
  const PurgeOptions& o_;
  PurgeDeps::HeldBy held_by_;
  bool any_hold_ = false;
  PurgeReport report_;
};

Status Purge::RefreshHolds() {
  if (!d_.resolve_holds) return Status::Ok();  // a fixed lookup (tests, benchmarks)
  any_hold_ = false;
  Result<PurgeDeps::HeldBy> h = d_.resolve_holds(&any_hold_);
  if (!h.ok()) return h.status();  // fail closed: nothing is deleted without the holds
  held_by_ = std::move(h).value();
  return Status::Ok();
}

// The files of an interrupted purge, under the same locks as a deletion batch.
Status Purge::FinishInterrupted() {
  std::unique_lock<std::shared_mutex> pause;
  if (d_.ingest_lock) pause = std::unique_lock<std::shared_mutex>(*d_.ingest_lock);
  Result<sink::EraseCounts> resumed = d_.store->FinishPurges();
  if (!resumed.ok()) return resumed.status();
  report_.resumed = resumed->files;
  return Status::Ok();
}

Result<Verdict> Purge::VerdictFor(sink::LifecycleRow& row, bool* none) {
  const policies::RetentionPolicy& policy = RetentionFor(*d_.policies, row.token, none);
  if (*none) return Verdict{policy.days, "no policy for the token", false};
  sink::SessionKey key{row.token, row.session_id};
  SessionView view;
  view.token = row.token;
  view.facts_complete = row.facts_complete;
  view.urls = std::move(row.urls);  // read with the row (empty when no rule needs facts)
  view.events = std::move(row.events);
  view.load_events = [this, key]() -> Result<std::vector<json::object>> {
    Result<std::vector<sink::StoredEvent>> stored = d_.store->EventsOf({key}, {});
    if (!stored.ok()) return stored.status();
    std::vector<std::string> bodies;
    for (sink::StoredEvent& e : *stored) bodies.push_back(std::move(e.body));
    return ParseBodies(bodies);
  };
  return Evaluate(policy, view);
}

Status Purge::PlanSessions(std::vector<sink::PurgeKey>* keys) {
  const int64_t min_days = DayRange(*d_.policies).first;
  Result<std::vector<sink::LifecycleRow>> rows =
      d_.store->SessionsLastSeenBefore(o_.now_ms - min_days * kMsPerDay, NeedsFacts(*d_.policies));
  if (!rows.ok()) return rows.status();
  for (sink::LifecycleRow& row : *rows) {
    bool none = false;
    Result<Verdict> v = VerdictFor(row, &none);
    if (!v.ok()) {
      ++report_.errors;  // kept: its days cannot be told
      spdlog::error("purge: a session's retention could not be evaluated: {}",
                    v.status().ToString());
      continue;
    }
    PurgeEntry e{row.token, row.session_id, v->rule,
                 v->days,   row.last_ts,    row.last_ts + v->days * kMsPerDay,
                 "",        row.distinct_id};
    if (e.expires_ms > o_.now_ms) continue;
    if (none) {  // kept: a policy reload must not wipe a project's history unannounced
      ++report_.no_policy;
      continue;
    }
    report_.uncertain += v->uncertain;
    e.hold = HeldBy(row.token, row.session_id, row.distinct_id);
    if (!e.hold.empty()) {
      report_.held.push_back(std::move(e));
      continue;
    }
    keys->push_back({{row.token, row.session_id}, o_.now_ms - v->days * kMsPerDay});
    report_.removed.push_back(std::move(e));
  }
  return Status::Ok();
}

// One batch: the holds are read again under their gate (a hold placed since the plan wins),
// then rows, directories, DOM state and subject-index links go, with ingest paused.
Status Purge::DeleteBatch(std::vector<sink::PurgeKey> batch, size_t first,
                          std::set<std::pair<std::string, std::string>>* gone) {
  std::shared_lock<std::shared_mutex> gate;
  if (d_.holds_gate) gate = std::shared_lock<std::shared_mutex>(*d_.holds_gate);
  if (Status s = RefreshHolds(); !s.ok()) return s;
  std::vector<sink::PurgeKey> free;
  for (size_t i = 0; i < batch.size(); ++i) {
    PurgeEntry& e = report_.removed[first + i];
    e.hold = HeldBy(e.token, e.session_id, e.distinct_id);
    if (e.hold.empty()) free.push_back(std::move(batch[i]));
  }
  std::unique_lock<std::shared_mutex> pause;
  if (d_.ingest_lock) pause = std::unique_lock<std::shared_mutex>(*d_.ingest_lock);
  std::vector<sink::SessionKey> removed;
  Result<sink::EraseCounts> c = d_.store->PurgeSessions(free, &removed);
  if (!c.ok()) return c.status();
  report_.counts += *c;
  if (d_.index) {  // what the subject index links to them goes too
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const sink::SessionKey& k : removed) pairs.emplace_back(k.token, k.session_id);
    if (Status s = d_.index->ForgetOccurrences(pairs, {}); !s.ok()) return s;
  }
  std::vector<std::pair<std::string, std::string>> forget;
  for (const sink::SessionKey& k : removed) {
    gone->insert({k.token, k.session_id});
    if (d_.state) forget.emplace_back(k.token, k.session_id);
  }
  if (forget.empty()) return Status::Ok();  // DOM state of the batch: one pass, one fsync
  Result<uint64_t> dom = d_.state->ForgetSessions(forget);
  if (!dom.ok()) return dom.status();
  report_.counts.dom_state += *dom;
  return Status::Ok();
}

Status Purge::DeleteSessions(const std::vector<sink::PurgeKey>& planned) {
  // Deleted in key order, not expiry order: neighbouring sessions share index pages, so a
  // batch dirties (and its commit and checkpoint write) far fewer of them. The report's
  // entries are put in the same order (DeleteBatch pairs them by position).
  std::vector<sink::PurgeKey> keys = planned;
  auto by_key = [](const auto& a, const auto& b) { return a < b; };
  std::sort(keys.begin(), keys.end(), [&](const sink::PurgeKey& a, const sink::PurgeKey& b) {
    return by_key(std::tie(a.key.token, a.key.session_id), std::tie(b.key.token, b.key.session_id));
  });
  std::sort(report_.removed.begin(), report_.removed.end(),
            [&](const PurgeEntry& a, const PurgeEntry& b) {
              return by_key(std::tie(a.token, a.session_id), std::tie(b.token, b.session_id));
            });
  json::object started{{"now", FormatRfc3339Ms(o_.now_ms)},
                       {"clock", o_.clock_given ? "given" : "system"},
                       {"planned_sessions", keys.size()},
                       {"held", report_.held.size()}};
  if (!keys.empty())  // a crash mid-purge still leaves its start on record
    if (Result<uint64_t> seq =
            d_.audit->Append("retention_purge_started", json::serialize(started));
        !seq.ok())
      return seq.status();
  std::set<std::pair<std::string, std::string>> gone;
  for (size_t at = 0; at < keys.size(); at += o_.batch) {
    std::vector<sink::PurgeKey> batch(keys.begin() + at,
                                      keys.begin() + std::min(keys.size(), at + o_.batch));
    if (Status s = DeleteBatch(std::move(batch), at, &gone); !s.ok()) return s;
  }
  // Held since the plan: reported as kept. Newer data since the plan: kept and counted.
  std::vector<PurgeEntry> removed;
  for (PurgeEntry& e : report_.removed) {
    if (!e.hold.empty())
      report_.held.push_back(std::move(e));
    else if (gone.count({e.token, e.session_id}))
      removed.push_back(std::move(e));
    else
      ++report_.newer;
  }
  std::stable_sort(removed.begin(), removed.end(), [](const PurgeEntry& a, const PurgeEntry& b) {
    return a.expires_ms < b.expires_ms;
  });
  report_.removed = std::move(removed);
  return Status::Ok();
}

Status Purge::PurgeLooseEvents() {
  Result<std::vector<sink::LooseEvent>> loose = d_.store->LooseEvents();
  if (!loose.ok()) return loose.status();
  std::vector<int64_t> ids;
  std::vector<std::pair<std::string, std::string>> uuids;  // (token, uuid) of those rows
  std::vector<std::string> distincts;                      // and their distinct ids
  for (sink::LooseEvent& e : *loose) {
    bool none = false;
    const policies::RetentionPolicy& policy = RetentionFor(*d_.policies, e.event.token, &none);
    SessionView view;
    view.token = e.event.token;
    view.events = {e.event.name};
    Result<std::vector<json::object>> parsed = ParseBodies({e.event.body});
    if (parsed.ok())
      if (const json::value* p = (*parsed)[0].if_contains("properties"); p && p->is_object())
        if (const json::value* u = p->get_object().if_contains("$current_url"); u && u->is_string())
          view.urls.emplace_back(u->get_string());
    view.load_events = [&parsed] { return parsed; };
    Result<Verdict> v = Evaluate(policy, view);
    if (!v.ok()) {
      ++report_.errors;
      continue;
    }
    if (e.ts + v->days * kMsPerDay > o_.now_ms) continue;
    if (none) {
      ++report_.no_policy;
      continue;
    }
    if (!HeldBy(e.event.token, "", e.event.distinct_id).empty()) continue;
    ids.push_back(e.id);
    uuids.emplace_back(e.event.token, e.event.uuid);
    distincts.push_back(e.event.distinct_id);
  }
  if (o_.dry_run) {
    report_.loose_events = ids.size();
    return Status::Ok();
  }
  std::shared_lock<std::shared_mutex> gate;  // no hold between this check and the delete
  if (d_.holds_gate) gate = std::shared_lock<std::shared_mutex>(*d_.holds_gate);
  if (Status s = RefreshHolds(); !s.ok()) return s;
  std::vector<int64_t> still;
  for (size_t i = 0; i < ids.size(); ++i)
    if (HeldBy(uuids[i].first, "", distincts[i]).empty()) still.push_back(ids[i]);
  Result<uint64_t> n = d_.store->DeleteEventRows(still);
  if (!n.ok()) return n.status();
  report_.loose_events = *n;
  if (d_.index && !uuids.empty())
    if (Status s = d_.index->ForgetOccurrences({}, uuids); !s.ok()) return s;
  return Status::Ok();
}

Status Purge::PurgeSmallStores() {
  const int64_t max_days = DayRange(*d_.policies).second;
  if (d_.state) {  // DOM state no kept session can still need (orphans of a crash, blocked pages)
    Result<uint64_t> n =
        d_.state->RemoveUntouchedSince(o_.now_ms - max_days * kMsPerDay, o_.dry_run);
    if (!n.ok()) return n.status();
    report_.counts.dom_state += *n;
  }
  if (!d_.spool) return Status::Ok();
  Result<std::vector<sink::Spool::DeadLetter>> dead = d_.spool->DeadLetters();
  if (!dead.ok()) return dead.status();
  std::vector<uint64_t> seqs;
  for (const auto& dl : *dead) {
    bool none = false;
    const policies::RetentionPolicy& policy = RetentionFor(*d_.policies, dl.token, &none);
    if (dl.created_ms + policy.days * kMsPerDay > o_.now_ms) continue;
    // A dead letter is a whole batch, of any number of people: while any hold is active none
    // is deleted (the hold's subject may be in it).
    if (any_hold_ || none) {
      ++report_.dead_kept;
      continue;
    }
    seqs.push_back(dl.seq);
  }
  if (o_.dry_run) {
    report_.counts.dead += seqs.size();
    return Status::Ok();
  }
  Result<sink::EraseCounts> c = d_.spool->Erase(seqs);
  if (!c.ok()) return c.status();
  report_.counts.dead += c->dead;
  return Status::Ok();
}

// Access bundles by their file's age (whatever became of their request), then the records
// of finished requests.
Status Purge::PurgeRequests() {
  const int64_t bundle_cutoff = o_.now_ms - o_.bundle_days * kMsPerDay;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(d_.data_dir / "exports", ec)) {
    if (!f.is_regular_file(ec) || f.path().extension() != ".zip") continue;
    auto t = fs::last_write_time(f.path(), ec);
    if (ec) continue;
    int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::file_clock::to_sys(t).time_since_epoch())
                     .count();
    if (ms > bundle_cutoff) continue;
    ++report_.bundles;
    if (!o_.dry_run)
      if (Status s = Env::Default()->RemoveFile(f.path()); !s.ok()) return s;
  }
  if (!d_.index) return Status::Ok();
  Result<std::vector<subjects::RequestRecord>> done =
      d_.index->FinishedBefore(o_.now_ms - o_.request_days * kMsPerDay);
  if (!done.ok()) return done.status();
  for (const subjects::RequestRecord& r : *done) {
    ++report_.requests;
    if (!o_.dry_run)
      if (Status s = d_.index->DeleteRequest(r.id); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<PurgeReport> Purge::Run() {
  if (!o_.dry_run)  // an interrupted purge is finished first
    if (Status s = FinishInterrupted(); !s.ok()) return s;
  if (Status s = RefreshHolds(); !s.ok()) return s;
  std::vector<sink::PurgeKey> keys;
  if (Status s = PlanSessions(&keys); !s.ok()) return s;
  if (!o_.dry_run)
    if (Status s = DeleteSessions(keys); !s.ok()) return s;
  if (Status s = PurgeLooseEvents(); !s.ok()) return s;
  if (Status s = PurgeSmallStores(); !s.ok()) return s;
  if (Status s = PurgeRequests(); !s.ok()) return s;
  if (!o_.dry_run) {
    Result<uint64_t> seq = d_.audit->Append("retention_purge", report_.AuditJson());
    if (!seq.ok()) return seq.status();
  }
  return std::move(report_);
}

}  // namespace

Result<PurgeReport> RunPurge(const PurgeDeps& deps, const PurgeOptions& options) {
  if (!deps.store || !deps.policies) return Status::Internal("purge needs the store and policies");
  if (!options.dry_run && !deps.audit) return Status::Internal("purge needs the audit log");
  if (options.batch == 0) return Status::InvalidInput("purge batch must be positive");
  return Purge(deps, options).Run();
}

}  // namespace scrubd::retention
