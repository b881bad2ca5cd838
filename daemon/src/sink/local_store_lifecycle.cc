// LocalStore lifecycle rows and purge (STORE_FORMAT.md "Lifecycle" and "Purge"): per-session
// last event time and rule facts, written in the ingest transactions; purge deletes expired
// sessions through a journal so a crash mid-purge is finished by the next run.
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "ingest/decode.h"
#include "scrubd/common/rfc3339.h"
#include "sink/local_store.h"
#include "sink/sqlite_stmt.h"

namespace scrubd::sink {
namespace json = boost::json;
using sqlite::SqlError;
using sqlite::Stmt;

namespace {

// Stores written before lifecycle rows existed get them once, from their sessions and events
// rows (events without a parseable timestamp use their received time).
constexpr char kMigrate[] = R"sql(
  INSERT OR IGNORE INTO lifecycle(token, session_id, distinct_id, last_ts)
    SELECT token, session_id, COALESCE(distinct_id, ''), MIN(last_ts, updated_at) FROM sessions;
  INSERT INTO lifecycle(token, session_id, distinct_id, last_ts)
    SELECT token, session_id, COALESCE(MAX(distinct_id), ''),
           MAX(MIN(received_at,
                   COALESCE(CAST(strftime('%s', timestamp) AS INTEGER) * 1000, received_at)))
    FROM events WHERE session_id <> '' GROUP BY token, session_id
    ON CONFLICT(token, session_id) DO UPDATE SET last_ts = MAX(last_ts, excluded.last_ts);
  INSERT OR IGNORE INTO session_facts(token, session_id, kind, value)
    SELECT token, session_id, 1, first_url FROM sessions WHERE first_url <> '';
  INSERT OR IGNORE INTO session_facts(token, session_id, kind, value)
    SELECT DISTINCT token, session_id, 2, event FROM events WHERE session_id <> '';
  UPDATE lifecycle SET facts = (SELECT COUNT(*) FROM session_facts f
                                WHERE f.token = lifecycle.token
                                  AND f.session_id = lifecycle.session_id);
)sql";

int64_t TimestampMs(std::string_view iso, int64_t received) {
  Result<int64_t> t = ParseRfc3339Ms(iso);
  return LifecycleTime(t.ok() ? *t : 0, received);
}

// At most `max` bytes of `v`, never ending inside a UTF-8 sequence.
std::string_view CutUtf8(std::string_view v, size_t max) {
  if (v.size() <= max) return v;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
  return v.substr(0, n);
}

bool StepDone(Stmt& q) {
  bool ok = q.Step() == SQLITE_DONE;
  q.Reset();
  return ok;
}

}  // namespace

std::vector<std::string> PageUrlsOf(const json::array& rrweb_events) {
  std::vector<std::string> urls;
  for (const json::value& e : rrweb_events) {
    if (!e.is_object()) continue;
    const json::object& o = e.get_object();
    const json::value* t = o.if_contains("type");
    const json::value* d = o.if_contains("data");
    if (!t || !t->is_int64() || t->get_int64() != 4 || !d || !d->is_object()) continue;
    if (const json::value* h = d->get_object().if_contains("href"); h && h->is_string())
      urls.emplace_back(h->get_string());
  }
  return urls;
}

Status LocalStore::MigrateLifecycle() {
  Stmt v(db_, "PRAGMA user_version");
  if (!v.ok() || v.Step() != SQLITE_ROW) return SqlError(db_, "lifecycle version");
  if (v.Int(0) >= 2) return Status::Ok();
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status s = Exec(kMigrate);
  Stmt n(db_, "SELECT COUNT(*) FROM lifecycle");
  if (s.ok() && (!n.ok() || n.Step() != SQLITE_ROW)) s = SqlError(db_, "lifecycle count");
  if (s.ok()) migrated_sessions_ = static_cast<uint64_t>(n.Int(0));
  if (s.ok()) s = Exec("PRAGMA user_version=2");
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) {
    migrated_sessions_ = 0;
    Rollback();
  }
  return s;
}

bool LocalStore::TouchLifecycle(const std::string& token, const std::string& session_id,
                                const std::string& distinct_id, int64_t last_ts,
                                const std::vector<std::pair<FactKind, std::string>>& facts) {
  Stmt up(db_,
          "INSERT INTO lifecycle(token,session_id,distinct_id,last_ts) VALUES(?1,?2,?3,?4) "
          "ON CONFLICT(token,session_id) DO UPDATE SET last_ts=MAX(last_ts,excluded.last_ts),"
          "distinct_id=CASE WHEN distinct_id='' THEN excluded.distinct_id ELSE distinct_id END "
          "RETURNING facts");
  if (!up.ok()) return false;
  up.Bind(1, token).Bind(2, session_id).Bind(3, distinct_id).Bind(4, last_ts);
  if (up.Step() != SQLITE_ROW) return false;
  int64_t count = up.Int(0);
  if (up.Step() != SQLITE_DONE) return false;
  if (facts.empty()) return true;
  Stmt ins(db_,
           "INSERT OR IGNORE INTO session_facts(token,session_id,kind,value) VALUES(?1,?2,?3,?4)");
  if (!ins.ok()) return false;
  const int64_t before = count;
  bool truncated = false;  // the rules then see an incomplete set (docs/retention.md)
  std::set<std::pair<FactKind, std::string_view>> seen;
  for (const auto& [kind, value] : facts) {
    std::string_view v = CutUtf8(value, kMaxFactBytes);
    if (v.empty() || !seen.insert({kind, v}).second) continue;
    truncated = truncated || v.size() < value.size();
    if (count >= kMaxFactsPerSession) {
      truncated = true;  // (a fact already stored would be ignored anyway: still incomplete)
      break;
    }
    ins.Bind(1, token).Bind(2, session_id).Bind(3, static_cast<int64_t>(kind)).Bind(4, v);
    if (!StepDone(ins)) return false;
    count += sqlite3_changes(db_);
  }
  if (count == before && !truncated) return true;
  Stmt set(db_,
           "UPDATE lifecycle SET facts=?3, facts_truncated=MAX(facts_truncated,?4) "
           "WHERE token=?1 AND session_id=?2");
  if (!set.ok()) return false;
  set.Bind(1, token).Bind(2, session_id).Bind(3, count).Bind(4, int64_t{truncated});
  return StepDone(set);
}

bool LocalStore::TouchLifecycle(const StoredEvent& e, int64_t received_ms) {
  std::vector<std::pair<FactKind, std::string>> facts{{FactKind::kEvent, e.name}};
  if (!e.current_url.empty()) facts.emplace_back(FactKind::kUrl, e.current_url);
  return TouchLifecycle(e.token, e.session_id, e.distinct_id, TimestampMs(e.timestamp, received_ms),
                        facts);
}

Result<std::vector<LifecycleRow>> LocalStore::SessionsLastSeenBefore(int64_t before,
                                                                     bool with_facts) {
  std::lock_guard<std::mutex> lock(mu_);
  // With facts: one pass, each lifecycle row joined with its facts rows (none: one row of
  // NULLs), grouped by session; no query per session.
  Stmt q(db_, with_facts
                  ? "SELECT l.token,l.session_id,l.distinct_id,l.last_ts,l.facts_truncated,"
                    "f.kind,f.value FROM lifecycle l LEFT JOIN session_facts f "
                    "ON f.token=l.token AND f.session_id=l.session_id WHERE l.last_ts<=?1 "
                    "ORDER BY l.last_ts, l.token, l.session_id, f.kind, f.value"
                  : "SELECT token,session_id,distinct_id,last_ts,facts_truncated FROM lifecycle "
                    "WHERE last_ts<=?1 ORDER BY last_ts, token, session_id");
  if (!q.ok()) return SqlError(db_, "lifecycle query");
  q.Bind(1, before);
  std::vector<LifecycleRow> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    std::string token = q.Text(0), session_id = q.Text(1);
    if (!with_facts || out.empty() || out.back().token != token ||
        out.back().session_id != session_id)
      out.push_back(
          {std::move(token), std::move(session_id), q.Text(2), q.Int(3), q.Int(4) == 0, {}, {}});
    if (!with_facts) continue;
    const int64_t kind = q.Int(5);
    if (kind == static_cast<int64_t>(FactKind::kUrl)) out.back().urls.push_back(q.Text(6));
    if (kind == static_cast<int64_t>(FactKind::kEvent)) out.back().events.push_back(q.Text(6));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "lifecycle query");
  return out;
}

Result<std::vector<std::string>> LocalStore::FactsOf(const SessionKey& key, FactKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT value FROM session_facts WHERE token=?1 AND session_id=?2 AND kind=?3");
  if (!q.ok()) return SqlError(db_, "facts query");
  q.Bind(1, key.token).Bind(2, key.session_id).Bind(3, static_cast<int64_t>(kind));
  std::vector<std::string> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(q.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "facts query");
  return out;
}

Result<std::vector<LooseEvent>> LocalStore::LooseEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_,
         "SELECT id,token,distinct_id,uuid,event,timestamp,received_at,body FROM events "
         "WHERE session_id IS NULL OR session_id='' ORDER BY id");
  if (!q.ok()) return SqlError(db_, "loose events");
  std::vector<LooseEvent> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    LooseEvent e;
    e.id = q.Int(0);
    e.event = StoredEvent{q.Text(1), "", q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Text(7), ""};
    e.ts = TimestampMs(e.event.timestamp, q.Int(6));
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "loose events");
  return out;
}

Status LocalStore::PurgeRows(const std::vector<PurgeKey>& keys, std::vector<SessionKey>* removed,
                             EraseCounts* counts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt life(db_, "DELETE FROM lifecycle WHERE token=?1 AND session_id=?2 AND last_ts<=?3");
  Stmt chunks(db_, "DELETE FROM chunks WHERE session_id=?1 AND token=?2 RETURNING bytes");
  Stmt session(db_, "DELETE FROM sessions WHERE token=?1 AND session_id=?2");
  Stmt events(db_, "DELETE FROM events WHERE session_id=?1 AND token=?2");
  Stmt facts(db_, "DELETE FROM session_facts WHERE token=?1 AND session_id=?2");
  Stmt journal(db_, "INSERT OR IGNORE INTO purge_pending(token,session_id) VALUES(?1,?2)");
  bool ok = life.ok() && chunks.ok() && session.ok() && events.ok() && facts.ok() && journal.ok();
  for (size_t i = 0; ok && i < keys.size(); ++i) {
    const SessionKey& k = keys[i].key;
    life.Bind(1, k.token).Bind(2, k.session_id).Bind(3, keys[i].cutoff);
    if (!(ok = StepDone(life))) break;
    if (sqlite3_changes(db_) == 0) continue;  // newer data arrived: no longer expired
    ++counts->sessions;  // a session is its lifecycle row (it may have events only)
    chunks.Bind(1, k.session_id).Bind(2, k.token);
    session.Bind(1, k.token).Bind(2, k.session_id);
    events.Bind(1, k.session_id).Bind(2, k.token);
    facts.Bind(1, k.token).Bind(2, k.session_id);
    journal.Bind(1, k.token).Bind(2, k.session_id);
    bool chunk_ok = true;
    int rc;
    while ((rc = chunks.Step()) == SQLITE_ROW) {
      ++counts->chunks;
      counts->chunk_bytes += static_cast<uint64_t>(chunks.Int(0));
    }
    chunks.Reset();
    chunk_ok = rc == SQLITE_DONE;
    ok = chunk_ok && StepDone(session) && StepDone(events);
    if (ok) counts->events += static_cast<uint64_t>(sqlite3_changes(db_));
    ok = ok && StepDone(facts) && StepDone(journal);
    if (ok) removed->push_back(k);
  }
  Status s = ok ? Exec("COMMIT") : SqlError(db_, "purge rows");
  if (!s.ok()) {
    Rollback();
    removed->clear();
    return s;
  }
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(db_, "purge: wal checkpoint");
  return Status::Ok();
}

namespace {

Status ClearJournal(sqlite3* db, const std::vector<SessionKey>& keys) {
  Stmt del(db, "DELETE FROM purge_pending WHERE token=?1 AND session_id=?2");
  if (!del.ok()) return SqlError(db, "purge journal");
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return SqlError(db, "purge journal");
  bool ok = true;
  for (size_t i = 0; ok && i < keys.size(); ++i) {
    del.Bind(1, keys[i].token).Bind(2, keys[i].session_id);
    ok = StepDone(del);
  }
  if (ok && sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) return Status::Ok();
  Status s = SqlError(db, "purge journal");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

}  // namespace

Result<EraseCounts> LocalStore::PurgeSessions(const std::vector<PurgeKey>& keys,
                                              std::vector<SessionKey>* removed) {
  for (const PurgeKey& k : keys)
    if (!ingest::ValidToken(k.key.token) || !ingest::ValidSessionId(k.key.session_id))
      return Status::InvalidInput("purge: a session key is not a valid token and session id");
  EraseCounts counts;
  std::vector<SessionKey> gone;
  if (Status s = PurgeRows(keys, &gone, &counts); !s.ok()) return s;
  // Rows are gone and journaled: the directories follow; a crash here is finished by
  // FinishPurges (the unindexed files are invisible to every reader meanwhile).
  if (Status s = EraseDirs(gone, &counts); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = ClearJournal(db_, gone); !s.ok()) return s;
  }
  if (removed) *removed = std::move(gone);
  return counts;
}

Result<std::set<std::string>> LocalStore::IndexedChunkPaths(const SessionKey& k) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT path FROM chunks WHERE session_id=?1 AND token=?2");
  if (!q.ok()) return SqlError(db_, "purge journal");
  q.Bind(1, k.session_id).Bind(2, k.token);
  std::set<std::string> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.insert(q.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "purge journal");
  return out;
}

Status LocalStore::RemoveUnindexed(const SessionKey& k, const std::set<std::string>& indexed,
                                   uint64_t* files) {
  std::error_code ec;
  std::vector<std::filesystem::path> stale;
  for (std::filesystem::recursive_directory_iterator it(SessionDir(k), ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_regular_file(ec) &&
        !indexed.count(std::filesystem::relative(it->path(), root_).string()))
      stale.push_back(it->path());
  if (ec) return Status::Io("purge journal: list session directory: " + ec.message());
  for (const auto& f : stale) {
    if (Status s = env_->RemoveFile(f); !s.ok()) return Status::Io("purge journal: " + s.message());
    ++*files;
  }
  for (const auto& f : stale)  // each window directory once is enough; repeats are cheap
    if (Status s = env_->SyncDir(f.parent_path()); !s.ok())
      return Status::Io("purge journal: " + s.message());
  return Status::Ok();
}

Result<EraseCounts> LocalStore::FinishPurges() {
  std::vector<SessionKey> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(db_, "SELECT token,session_id FROM purge_pending");
    if (!q.ok()) return SqlError(db_, "purge journal");
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) pending.push_back({q.Text(0), q.Text(1)});
    if (rc != SQLITE_DONE) return SqlError(db_, "purge journal");
  }
  EraseCounts counts;
  std::vector<SessionKey> valid;
  for (const SessionKey& k : pending) {  // a row of another shape names no directory of ours
    if (!ingest::ValidToken(k.token) || !ingest::ValidSessionId(k.session_id)) continue;
    Result<std::set<std::string>> indexed = IndexedChunkPaths(k);
    if (!indexed.ok()) return indexed.status();
    if (indexed->empty()) {
      valid.push_back(k);
    } else if (Status s = RemoveUnindexed(k, *indexed, &counts.files); !s.ok()) {
      return s;  // the session got data again after the purge: only the old files go
    }
  }
  if (Status s = EraseDirs(valid, &counts); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = ClearJournal(db_, pending); !s.ok()) return s;
  return counts;
}

Result<uint64_t> LocalStore::DeleteEventRows(const std::vector<int64_t>& ids) {
  if (ids.empty()) return uint64_t{0};
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt del(db_, "DELETE FROM events WHERE id=?1");
  bool ok = del.ok();
  uint64_t n = 0;
  for (size_t i = 0; ok && i < ids.size(); ++i) {
    del.Bind(1, ids[i]);
    ok = StepDone(del);
    if (ok) n += static_cast<uint64_t>(sqlite3_changes(db_));
  }
  Status s = ok ? Exec("COMMIT") : SqlError(db_, "purge events");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(db_, "purge: wal checkpoint");
  return n;
}

}  // namespace scrubd::sink
