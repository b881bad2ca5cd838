// LocalStore erasure and residue (STORE_FORMAT.md "Erasure"): index rows first, in one
// transaction, then a truncating WAL checkpoint, then the session directories, then an fsync
// of each token directory. Messages name the step, never a path or an id.
#include <sqlite3.h>

#include <set>
#include <system_error>

#include "ingest/decode.h"
#include "sink/local_store.h"
#include "sink/sqlite_stmt.h"

namespace scrubd::sink {
namespace fs = std::filesystem;
using sqlite::SqlError;
using sqlite::Stmt;

namespace {

using TokenIds = std::vector<std::pair<std::string, std::string>>;

// Every id that becomes a path component (or scopes a delete) must have the shape ingest
// accepts, so no request can name a directory outside the store.
Status CheckKeys(const std::vector<SessionKey>& sessions, const TokenIds& a, const TokenIds& b) {
  for (const SessionKey& k : sessions)
    if (!ingest::ValidToken(k.token) || !ingest::ValidSessionId(k.session_id))
      return Status::InvalidInput("erase: a session key is not a valid token and session id");
  for (const TokenIds* list : {&a, &b})
    for (const auto& [token, id] : *list)
      if (!ingest::ValidToken(token))
        return Status::InvalidInput("erase: an event key has no valid token");
  return Status::Ok();
}

// Steps `q` (parameters bound) to completion and adds the rows it changed to `n`.
bool RunDelete(sqlite3* db, Stmt& q, uint64_t* n) {
  bool ok = q.Step() == SQLITE_DONE;
  if (ok) *n += static_cast<uint64_t>(sqlite3_changes(db));
  q.Reset();
  return ok;
}

// Steps a "DELETE ... RETURNING bytes" to completion: rows into `n`, bytes into `sum`.
bool RunDeleteSum(Stmt& q, uint64_t* n, uint64_t* sum) {
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    ++*n;
    *sum += static_cast<uint64_t>(q.Int(0));
  }
  q.Reset();
  return rc == SQLITE_DONE;
}

// Steps a "SELECT count, sum" query and adds both to `n` and `sum`.
bool RunCount(Stmt& q, uint64_t* n, uint64_t* sum = nullptr) {
  bool ok = q.Step() == SQLITE_ROW;
  if (ok) {
    *n += static_cast<uint64_t>(q.Int(0));
    if (sum) *sum += static_cast<uint64_t>(q.Int(1));
  }
  q.Reset();
  return ok;
}

// Adds the row ids `q` returns to `ids`.
bool CollectIds(Stmt& q, std::set<int64_t>* ids) {
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) ids->insert(q.Int(0));
  q.Reset();
  return rc == SQLITE_DONE;
}

// Counts `dir` (if present) and everything under it into `files`, regular file bytes into
// `bytes`. Never follows symlinks.
Status CountTree(const fs::path& dir, uint64_t* files, uint64_t* bytes) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(dir, ec);
  if (ec || !fs::exists(st)) return Status::Ok();
  ++*files;
  if (!fs::is_directory(st)) return Status::Ok();
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    ++*files;
    if (it->is_regular_file(ec)) *bytes += it->file_size(ec);
    ec.clear();
  }
  if (ec) return Status::Io("residue: list session directory: " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<EraseCounts> LocalStore::Erase(const std::vector<SessionKey>& sessions,
                                      const TokenIds& token_uuid_events,
                                      const TokenIds& token_distinct_ids) {
  if (Status s = CheckKeys(sessions, token_uuid_events, token_distinct_ids); !s.ok()) return s;
  EraseCounts counts;
  if (Status s = EraseRows(sessions, token_uuid_events, token_distinct_ids, &counts); !s.ok())
    return s;
  if (Status s = EraseDirs(sessions, &counts); !s.ok()) return s;
  return counts;
}

Status LocalStore::EraseRows(const std::vector<SessionKey>& sessions, const TokenIds& uuids,
                             const TokenIds& distinct_ids, EraseCounts* counts) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt chunks(db_, "DELETE FROM chunks WHERE session_id=?1 AND token=?2 RETURNING bytes");
  Stmt session(db_, "DELETE FROM sessions WHERE token=?1 AND session_id=?2");
  Stmt events(db_, "DELETE FROM events WHERE session_id=?1 AND token=?2");
  Stmt by_uuid(db_, "DELETE FROM events WHERE uuid=?1 AND token=?2");
  Stmt by_distinct(db_, "DELETE FROM events WHERE distinct_id=?1 AND token=?2");
  Stmt life(db_, "DELETE FROM lifecycle WHERE token=?1 AND session_id=?2");
  Stmt facts(db_, "DELETE FROM session_facts WHERE token=?1 AND session_id=?2");
  bool ok = chunks.ok() && session.ok() && events.ok() && by_uuid.ok() && by_distinct.ok() &&
            life.ok() && facts.ok();
  uint64_t lifecycle_rows = 0;  // not counted: they go with their sessions
  for (size_t i = 0; ok && i < sessions.size(); ++i) {
    const SessionKey& k = sessions[i];
    chunks.Bind(1, k.session_id).Bind(2, k.token);
    session.Bind(1, k.token).Bind(2, k.session_id);
    events.Bind(1, k.session_id).Bind(2, k.token);
    life.Bind(1, k.token).Bind(2, k.session_id);
    facts.Bind(1, k.token).Bind(2, k.session_id);
    ok = RunDeleteSum(chunks, &counts->chunks, &counts->chunk_bytes) &&
         RunDelete(db_, session, &counts->sessions) && RunDelete(db_, events, &counts->events) &&
         RunDelete(db_, life, &lifecycle_rows) && RunDelete(db_, facts, &lifecycle_rows);
  }
  for (size_t i = 0; ok && i < uuids.size(); ++i) {
    if (uuids[i].second.empty()) continue;
    by_uuid.Bind(1, uuids[i].second).Bind(2, uuids[i].first);
    ok = RunDelete(db_, by_uuid, &counts->events);
  }
  for (size_t i = 0; ok && i < distinct_ids.size(); ++i) {
    if (distinct_ids[i].second.empty()) continue;
    by_distinct.Bind(1, distinct_ids[i].second).Bind(2, distinct_ids[i].first);
    ok = RunDelete(db_, by_distinct, &counts->events);
  }
  Status s = ok ? Exec("COMMIT") : SqlError(db_, "erase rows");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  // secure_delete zeroed the deleted cells in the new page images; the checkpoint writes them
  // over the database file and truncates the WAL, whose older frames still hold the rows.
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(db_, "erase: wal checkpoint");
  return Status::Ok();
}

Status LocalStore::EraseDirs(const std::vector<SessionKey>& sessions, EraseCounts* counts) {
  std::set<fs::path> parents;
  for (const SessionKey& k : sessions) {
    Result<uint64_t> n = env_->RemoveAll(SessionDir(k));
    if (!n.ok()) return Status::Io("erase session directory: " + n.status().message());
    counts->files += *n;
    parents.insert(root_ / "recordings" / k.token);
  }
  // The token directory is the parent of every removed session directory: its fsync makes the
  // removals durable (also those of an earlier, interrupted run). A token never stored has no
  // directory and nothing to sync.
  for (const fs::path& p : parents) {
    if (!env_->FileExists(p)) continue;
    if (Status s = env_->SyncDir(p); !s.ok()) return Status::Io("erase: " + s.message());
  }
  return Status::Ok();
}

Result<EraseCounts> LocalStore::Residue(const std::vector<SessionKey>& sessions,
                                        const TokenIds& token_uuid_events,
                                        const std::vector<std::string>& distinct_ids) {
  if (Status s = CheckKeys(sessions, token_uuid_events, {}); !s.ok()) return s;
  EraseCounts counts;
  if (Status s = CountResidueRows(sessions, token_uuid_events, distinct_ids, &counts); !s.ok())
    return s;
  for (const SessionKey& k : sessions)
    if (Status s = CountTree(SessionDir(k), &counts.files, &counts.chunk_bytes); !s.ok()) return s;
  return counts;
}

Status LocalStore::CountResidueRows(const std::vector<SessionKey>& sessions, const TokenIds& uuids,
                                    const std::vector<std::string>& distinct_ids,
                                    EraseCounts* counts) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt session(db_, "SELECT COUNT(*) FROM sessions WHERE token=?1 AND session_id=?2");
  Stmt chunks(db_,
              "SELECT (SELECT COUNT(*) FROM chunks WHERE session_id=?1 AND token=?2) + "
              "(SELECT COUNT(*) FROM lifecycle WHERE session_id=?1 AND token=?2) + "
              "(SELECT COUNT(*) FROM session_facts WHERE session_id=?1 AND token=?2)");
  Stmt events(db_, "SELECT id FROM events WHERE session_id=?1 AND token=?2");
  Stmt by_uuid(db_, "SELECT id FROM events WHERE uuid=?1 AND token=?2");
  Stmt by_distinct(db_, "SELECT id FROM events WHERE distinct_id=?1");
  bool ok = session.ok() && chunks.ok() && events.ok() && by_uuid.ok() && by_distinct.ok();
  std::set<int64_t> ids;  // an event found several ways counts once
  for (size_t i = 0; ok && i < sessions.size(); ++i) {
    const SessionKey& k = sessions[i];
    session.Bind(1, k.token).Bind(2, k.session_id);
    chunks.Bind(1, k.session_id).Bind(2, k.token);
    events.Bind(1, k.session_id).Bind(2, k.token);
    ok = RunCount(session, &counts->sessions) && RunCount(chunks, &counts->chunks) &&
         CollectIds(events, &ids);
  }
  for (size_t i = 0; ok && i < uuids.size(); ++i) {
    if (uuids[i].second.empty()) continue;
    by_uuid.Bind(1, uuids[i].second).Bind(2, uuids[i].first);
    ok = CollectIds(by_uuid, &ids);
  }
  for (size_t i = 0; ok && i < distinct_ids.size(); ++i) {
    if (distinct_ids[i].empty()) continue;
    by_distinct.Bind(1, distinct_ids[i]);
    ok = CollectIds(by_distinct, &ids);
  }
  if (!ok) return SqlError(db_, "residue");
  counts->events = ids.size();
  return Status::Ok();
}

}  // namespace scrubd::sink
