// The SQLite SubjectStore (SUBJECTS_FORMAT.md). Every SQLite call and every SQL text of the
// subjects module lives in this file. Errors name the step, never an id or a path.
#include "subjects/sqlite_subject_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "subjects/facts.h"

namespace scrubd::subjects {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kFormatVersion = 1;
constexpr int64_t kNoSpoolSeq = -1;

Status SqlError(sqlite3* db, std::string_view step) {
  return Status::Io("subjects store: " + std::string(step) + ": " + sqlite3_errmsg(db));
}

// A prepared statement; finalized with the store.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }

  Status Prepare(sqlite3* db, const char* sql) {
    db_ = db;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) != SQLITE_OK)
      return SqlError(db, "prepare");
    return Status::Ok();
  }
  Stmt& Bind(int i, std::string_view v) {
    // An empty view may have no data pointer, which SQLite would bind as NULL.
    sqlite3_bind_text(s_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW or SQLITE_DONE; anything else is an error.
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  // Runs a statement that returns no rows, then resets it.
  Status Run(std::string_view step) {
    int rc = Step();
    Status s = rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, step);
    Reset();
    return s;
  }
  std::string Text(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  int64_t Int(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

// Resets a statement when a read loop leaves, however it leaves.
class Reading {
 public:
  explicit Reading(Stmt& s) : s_(s) {}
  ~Reading() { s_.Reset(); }

 private:
  Stmt& s_;
};

// A transaction that rolls back unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Begin(std::string_view step, bool write) {
    if (sqlite3_exec(db_, write ? "BEGIN IMMEDIATE" : "BEGIN", nullptr, nullptr, nullptr) !=
        SQLITE_OK)
      return SqlError(db_, std::string(step) + ": begin");
    open_ = true;
    return Status::Ok();
  }
  Status Commit(std::string_view step) {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqlError(db_, std::string(step) + ": commit");
    open_ = false;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

constexpr char kSchema[] = R"sql(
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  PRAGMA secure_delete=ON;
  CREATE TABLE IF NOT EXISTS tokens(token TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS nodes(
    token TEXT NOT NULL, node TEXT NOT NULL, kind TEXT NOT NULL,
    PRIMARY KEY(token, node)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS nodes_by_node ON nodes(node);
  CREATE TABLE IF NOT EXISTS edges(
    token TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, weak INTEGER NOT NULL,
    PRIMARY KEY(token, a, b)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS edges_by_b ON edges(token, b);
  CREATE TABLE IF NOT EXISTS occurrences(
    token TEXT NOT NULL, node TEXT NOT NULL, session_id TEXT NOT NULL, uuid TEXT NOT NULL,
    spool_seq INTEGER NOT NULL,
    PRIMARY KEY(token, node, session_id, uuid, spool_seq)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS occurrences_by_session ON occurrences(token, session_id);
  CREATE INDEX IF NOT EXISTS occurrences_by_uuid ON occurrences(token, uuid);
  CREATE TABLE IF NOT EXISTS tombstones(
    token TEXT NOT NULL, node_key TEXT NOT NULL, request_id TEXT NOT NULL,
    expires_ms INTEGER NOT NULL, PRIMARY KEY(token, node_key)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS tombstones_by_expiry ON tombstones(expires_ms);
  CREATE TABLE IF NOT EXISTS requests(
    id TEXT PRIMARY KEY, type TEXT NOT NULL, regulation TEXT NOT NULL, status TEXT NOT NULL,
    submitted_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL, expected_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL, seeds TEXT NOT NULL, tokens TEXT NOT NULL,
    callback_urls TEXT NOT NULL, result_json TEXT NOT NULL, reason TEXT NOT NULL)
    WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS requests_by_status ON requests(status);
)sql";

// The columns ReadRequest reads, in order (a macro so that it joins string literals).
#define SCRUBD_REQUEST_COLUMNS                                                              \
  "id,type,regulation,status,submitted_ms,received_ms,expected_ms,updated_ms,seeds,tokens," \
  "callback_urls,result_json,reason"

// The key a tombstone is kept under: the node itself, except that a session node keeps only
// the sha256 of its id (tombstones outlive the erased data; the raw id must not).
std::string TombstoneKey(std::string_view node) {
  if (node.starts_with("s:")) return "s#" + Sha256Hex(node.substr(2));
  return std::string(node);
}

std::string CacheKey(std::string_view token, std::string_view key) {
  std::string k(token);
  k.push_back('\0');
  k.append(key);
  return k;
}

std::string JsonArray(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.emplace_back(s);
  return json::serialize(a);
}

Result<std::vector<std::string>> ParseJsonArray(const std::string& text, std::string_view col) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  std::vector<std::string> out;
  if (!ec && v.is_array()) {
    for (const json::value& e : v.get_array()) {
      if (!e.is_string()) break;
      out.emplace_back(e.get_string());
    }
    if (out.size() == v.get_array().size()) return out;
  }
  return Status::Corruption("subjects store: request column " + std::string(col) +
                            " is not a JSON array of strings");
}

// One event's rows, planned from its facts (SUBJECTS_FORMAT.md "Links").
struct Edge {
  std::string a, b;
  int64_t weak;
};
struct EventPlan {
  std::vector<NodeFact> nodes;  // deduplicated; a person's kind beats device
  std::string anchor;           // the node the event's occurrence is filed under
  std::vector<Edge> edges;
};

EventPlan Plan(const EventFacts& ev) {
  EventPlan p;
  std::unordered_map<std::string, size_t> at;
  for (const NodeFact& n : ev.nodes) {
    if (n.node.empty()) continue;
    auto [it, fresh] = at.emplace(n.node, p.nodes.size());
    if (fresh) {
      p.nodes.push_back(n);
    } else if (p.nodes[it->second].kind == kKindDevice && n.kind != kKindDevice) {
      p.nodes[it->second] = n;
    }
  }
  auto hash_of = [&](const NodeFact& n) { return !n.of.empty() && at.contains(n.of); };
  for (const NodeFact& n : p.nodes)
    if (!hash_of(n) && n.kind != kKindDevice && p.anchor.empty()) p.anchor = n.node;
  for (const NodeFact& n : p.nodes)
    if (!hash_of(n) && p.anchor.empty()) p.anchor = n.node;
  if (p.anchor.empty() && !p.nodes.empty()) p.anchor = p.nodes.front().node;
  for (const NodeFact& n : p.nodes) {
    if (hash_of(n)) {
      p.edges.push_back({n.of, n.node, 0});
    } else if (n.node != p.anchor) {
      // Device and session links are weak: recorded, never followed by Resolve. A shared
      // browser (no reset()) or a shared tab would otherwise merge two persons.
      bool weak = n.kind == kKindDevice || n.kind == kKindSession;
      p.edges.push_back({p.anchor, n.node, weak ? 1 : 0});
    }
  }
  return p;
}

template <typename T>
std::vector<T> Sorted(const std::set<T>& s) {
  return std::vector<T>(s.begin(), s.end());
}

class SqliteSubjectStore final : public SubjectStore {
 public:
  SqliteSubjectStore(sqlite3* db, Env* env, SqliteSubjectStoreOptions options)
      : db_(db), env_(env), options_(options) {}
  ~SqliteSubjectStore() override {
    statements_.clear();
    sqlite3_close(db_);
  }

  Status Init();
  Status Record(const BatchFacts& facts) override;
  Result<Subject> Resolve(const std::vector<std::pair<std::string, std::string>>& seeds) override;
  Status ForgetSubject(const Subject& s) override;
  Result<std::vector<std::string>> Tokens() override;
  Status AddTombstones(const std::vector<Tombstone>& t) override;
  bool IsTombstoned(std::string_view token, std::string_view node) const override;
  Result<uint64_t> ExpireTombstones(int64_t now_ms) override;
  Status PutRequest(const RequestRecord& r) override;
  Result<std::optional<RequestRecord>> GetRequest(const std::string& id) override;
  Result<std::vector<RequestRecord>> Unfinished() override;
  Result<std::vector<RequestRecord>> FinishedBefore(int64_t before_ms) override;
  Status DeleteRequest(const std::string& id) override;
  Status ForgetOccurrences(
      const std::vector<std::pair<std::string, std::string>>& token_sessions,
      const std::vector<std::pair<std::string, std::string>>& token_uuids) override;

 private:
  struct PartSets {
    std::set<std::string> sessions, uuids;
    std::set<uint64_t> seqs;
  };

  Status Exec(const char* sql, std::string_view step);
  Status Prepare(Stmt** stmt, const char* sql);
  Status PrepareAll();
  Status CheckVersion();
  Status LoadTombstones();
  Status RecordEvent(const EventFacts& ev, int64_t spool_seq);
  Status ResolveToken(const std::string& token, const std::vector<std::string>& seeds,
                      Subject::Part* part);
  Status Expand(const std::string& token, const std::string& node, std::vector<NodeFact>* queue,
                std::unordered_set<std::string>* seen);
  Status Collect(const std::string& token, const std::string& node, PartSets* sets);
  Result<std::vector<std::string>> TokensWith(const std::string& node);
  Status ForgetNode(const std::string& token, const std::string& node);
  Result<RequestRecord> ReadRequest(Stmt& q);

  sqlite3* db_;
  Env* env_;
  const SqliteSubjectStoreOptions options_;
  std::mutex mu_;  // the connection and every statement
  std::vector<std::unique_ptr<Stmt>> statements_;
  Stmt *add_token_, *add_node_, *add_edge_, *add_occurrence_, *node_kind_, *node_tokens_,
      *neighbours_, *occurrences_, *del_node_, *del_edges_a_, *del_edges_b_, *del_occurrences_,
      *tokens_, *add_tombstone_, *expire_tombstones_, *put_request_, *get_request_, *unfinished_,
      *finished_before_, *del_request_, *del_session_occ_, *del_uuid_occ_;
  mutable std::shared_mutex tomb_mu_;               // tombs_
  std::unordered_map<std::string, int64_t> tombs_;  // CacheKey(token, key) -> expires_ms
};

Status SqliteSubjectStore::Exec(const char* sql, std::string_view step) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, step);
  return Status::Ok();
}

Status SqliteSubjectStore::Prepare(Stmt** stmt, const char* sql) {
  statements_.push_back(std::make_unique<Stmt>());
  *stmt = statements_.back().get();
  return (*stmt)->Prepare(db_, sql);
}

Status SqliteSubjectStore::PrepareAll() {
  const std::pair<Stmt**, const char*> all[] = {
      {&add_token_, "INSERT INTO tokens(token) VALUES(?1) ON CONFLICT DO NOTHING"},
      {&add_node_, "INSERT INTO nodes(token,node,kind) VALUES(?1,?2,?3) ON CONFLICT DO NOTHING"},
      {&add_edge_,
       "INSERT INTO edges(token,a,b,weak) VALUES(?1,?2,?3,?4) ON CONFLICT(token,a,b) DO UPDATE "
       "SET weak=MIN(edges.weak,excluded.weak)"},
      {&add_occurrence_,
       "INSERT INTO occurrences(token,node,session_id,uuid,spool_seq) VALUES(?1,?2,?3,?4,?5) ON "
       "CONFLICT DO NOTHING"},
      {&node_kind_, "SELECT kind FROM nodes WHERE token=?1 AND node=?2"},
      {&node_tokens_, "SELECT token FROM nodes WHERE node=?1 ORDER BY token"},
      {&neighbours_,
       "SELECT e.b, COALESCE(n.kind,'unseen') FROM edges e LEFT JOIN nodes n ON "
       "n.token=e.token AND n.node=e.b WHERE e.token=?1 AND e.a=?2 AND e.weak=0"},
      {&occurrences_,
       "SELECT session_id,uuid,spool_seq FROM occurrences WHERE token=?1 AND node=?2"},
      {&del_node_, "DELETE FROM nodes WHERE token=?1 AND node=?2"},
      {&del_edges_a_, "DELETE FROM edges WHERE token=?1 AND a=?2"},
      {&del_edges_b_, "DELETE FROM edges WHERE token=?1 AND b=?2"},
      {&del_occurrences_, "DELETE FROM occurrences WHERE token=?1 AND node=?2"},
      {&tokens_, "SELECT token FROM tokens ORDER BY token"},
      {&add_tombstone_,
       "INSERT INTO tombstones(token,node_key,request_id,expires_ms) VALUES(?1,?2,?3,?4) ON "
       "CONFLICT(token,node_key) DO UPDATE SET request_id=excluded.request_id, "
       "expires_ms=excluded.expires_ms WHERE excluded.expires_ms > tombstones.expires_ms"},
      {&expire_tombstones_, "DELETE FROM tombstones WHERE expires_ms <= ?1"},
      {&put_request_,
       "INSERT INTO requests(id,type,regulation,status,submitted_ms,received_ms,expected_ms,"
       "updated_ms,seeds,tokens,callback_urls,result_json,reason) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,"
       "?9,?10,?11,?12,?13) ON CONFLICT(id) DO UPDATE SET type=excluded.type, "
       "regulation=excluded.regulation, status=excluded.status, "
       "submitted_ms=excluded.submitted_ms, received_ms=excluded.received_ms, "
       "expected_ms=excluded.expected_ms, updated_ms=excluded.updated_ms, seeds=excluded.seeds, "
       "tokens=excluded.tokens, callback_urls=excluded.callback_urls, "
       "result_json=excluded.result_json, reason=excluded.reason"},
      {&get_request_, "SELECT " SCRUBD_REQUEST_COLUMNS " FROM requests WHERE id=?1"},
      {&unfinished_, "SELECT " SCRUBD_REQUEST_COLUMNS " FROM requests WHERE status IN "
                     "('pending','in_progress','deferred') ORDER BY received_ms, id"},
      {&finished_before_, "SELECT " SCRUBD_REQUEST_COLUMNS " FROM requests WHERE status NOT IN "
                          "('pending','in_progress','deferred') AND updated_ms <= ?1 "
                          "ORDER BY updated_ms, id"},
      {&del_request_, "DELETE FROM requests WHERE id=?1"},
      {&del_session_occ_, "DELETE FROM occurrences WHERE token=?1 AND session_id=?2"},
      {&del_uuid_occ_, "DELETE FROM occurrences WHERE token=?1 AND uuid=?2"},
  };
  for (const auto& [stmt, sql] : all)
    if (Status s = Prepare(stmt, sql); !s.ok()) return s;
  return Status::Ok();
}

Status SqliteSubjectStore::CheckVersion() {
  Stmt q;
  if (Status s = q.Prepare(db_, "PRAGMA user_version"); !s.ok()) return s;
  int64_t version = q.Step() == SQLITE_ROW ? q.Int(0) : -1;
  q.Reset();
  if (version < 0) return SqlError(db_, "read format version");
  if (version > kFormatVersion)
    return Status::Corruption("subjects store: format version " + std::to_string(version) +
                              " is newer than this scrubd reads (" +
                              std::to_string(kFormatVersion) + ")");
  if (version == 0) return Exec("PRAGMA user_version=1", "write format version");
  return Status::Ok();
}

Status SqliteSubjectStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = Exec(kSchema, "create schema"); !s.ok()) return s;
  if (Status s = CheckVersion(); !s.ok()) return s;
  if (Status s = PrepareAll(); !s.ok()) return s;
  return LoadTombstones();
}

Status SqliteSubjectStore::LoadTombstones() {
  Stmt q;
  if (Status s = q.Prepare(db_, "SELECT token,node_key,expires_ms FROM tombstones"); !s.ok())
    return s;
  std::unique_lock lock(tomb_mu_);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) tombs_[CacheKey(q.Text(0), q.Text(1))] = q.Int(2);
  if (rc != SQLITE_DONE) return SqlError(db_, "load tombstones");
  return Status::Ok();
}

Status SqliteSubjectStore::Record(const BatchFacts& facts) {
  const int64_t seq = facts.spool_seq ? static_cast<int64_t>(*facts.spool_seq) : kNoSpoolSeq;
  std::lock_guard lock(mu_);
  Txn txn(db_);
  if (Status s = txn.Begin("record", true); !s.ok()) return s;
  for (const EventFacts& ev : facts.events)
    if (Status s = RecordEvent(ev, seq); !s.ok()) return s;
  return txn.Commit("record");
}

Status SqliteSubjectStore::RecordEvent(const EventFacts& ev, int64_t spool_seq) {
  if (ev.token.empty() || ev.nodes.empty()) return Status::Ok();
  EventPlan plan = Plan(ev);
  if (Status s = add_token_->Bind(1, ev.token).Run("record: token"); !s.ok()) return s;
  for (const NodeFact& n : plan.nodes) {
    add_node_->Bind(1, ev.token).Bind(2, n.node).Bind(3, n.kind);
    if (Status s = add_node_->Run("record: node"); !s.ok()) return s;
  }
  for (const Edge& e : plan.edges) {
    for (int dir = 0; dir < 2; ++dir) {
      add_edge_->Bind(1, ev.token).Bind(2, dir ? e.b : e.a).Bind(3, dir ? e.a : e.b);
      if (Status s = add_edge_->Bind(4, e.weak).Run("record: link"); !s.ok()) return s;
    }
  }
  // A recording is stored by session: its events' uuids are not kept.
  const std::string_view uuid = ev.recording ? std::string_view() : std::string_view(ev.uuid);
  if (ev.session_id.empty() && uuid.empty() && spool_seq == kNoSpoolSeq) return Status::Ok();
  add_occurrence_->Bind(1, ev.token).Bind(2, plan.anchor).Bind(3, ev.session_id).Bind(4, uuid);
  return add_occurrence_->Bind(5, spool_seq).Run("record: occurrence");
}

Result<std::vector<std::string>> SqliteSubjectStore::TokensWith(const std::string& node) {
  std::vector<std::string> out;
  Reading r(*node_tokens_);
  node_tokens_->Bind(1, node);
  int rc;
  while ((rc = node_tokens_->Step()) == SQLITE_ROW) out.push_back(node_tokens_->Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "resolve: tokens of a node");
  return out;
}

Result<Subject> SqliteSubjectStore::Resolve(
    const std::vector<std::pair<std::string, std::string>>& seeds) {
  std::lock_guard lock(mu_);
  Txn txn(db_);  // one read snapshot for the whole walk
  if (Status s = txn.Begin("resolve", false); !s.ok()) return s;
  std::map<std::string, std::vector<std::string>> by_token;
  for (const auto& [token, node] : seeds) {
    if (!token.empty()) {
      by_token[token].push_back(node);
      continue;
    }
    Result<std::vector<std::string>> tokens = TokensWith(node);
    if (!tokens.ok()) return tokens.status();
    for (const std::string& t : *tokens) by_token[t].push_back(node);
  }
  Subject subject;
  for (const auto& [token, nodes] : by_token) {
    Subject::Part part;
    if (Status s = ResolveToken(token, nodes, &part); !s.ok()) return s;
    subject.parts.push_back(std::move(part));
  }
  if (Status s = txn.Commit("resolve"); !s.ok()) return s;
  return subject;
}

// Breadth-first over strong links: each seed costs one point lookup for its kind, each
// visited node one range scan for its neighbours (with their kinds) and one for its
// occurrences: O((V + E) log N) for a component of V nodes and E links in an index of N rows.
Status SqliteSubjectStore::ResolveToken(const std::string& token,
                                        const std::vector<std::string>& seeds,
                                        Subject::Part* part) {
  part->token = token;
  std::vector<NodeFact> queue;  // visit order; kinds come with the links that found them
  std::unordered_set<std::string> seen;
  for (const std::string& seed : seeds) {
    if (!seen.insert(seed).second) continue;
    Reading r(*node_kind_);
    node_kind_->Bind(1, token).Bind(2, seed);
    int rc = node_kind_->Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db_, "resolve: seed");
    queue.push_back({seed, rc == SQLITE_ROW ? node_kind_->Text(0) : std::string(kKindUnseen), {}});
  }
  PartSets sets;
  for (size_t head = 0; head < queue.size(); ++head) {
    const std::string node = queue[head].node;
    if (node.starts_with("s:")) sets.sessions.insert(node.substr(2));
    if (queue[head].kind == kKindUnseen) continue;
    if (Status s = Expand(token, node, &queue, &seen); !s.ok()) return s;
    if (Status s = Collect(token, node, &sets); !s.ok()) return s;
  }
  // The sessions found are part of the subject (tombstoned, forgotten), not walked through.
  for (const std::string& id : sets.sessions)
    if (seen.insert("s:" + id).second) queue.push_back({"s:" + id, std::string(kKindSession), {}});
  part->nodes = std::move(queue);
  part->sessions = Sorted(sets.sessions);
  part->event_uuids = Sorted(sets.uuids);
  part->spool_seqs = Sorted(sets.seqs);
  return Status::Ok();
}

Status SqliteSubjectStore::Expand(const std::string& token, const std::string& node,
                                  std::vector<NodeFact>* queue,
                                  std::unordered_set<std::string>* seen) {
  Reading r(*neighbours_);
  neighbours_->Bind(1, token).Bind(2, node);
  int rc;
  while ((rc = neighbours_->Step()) == SQLITE_ROW) {
    std::string next = neighbours_->Text(0);
    if (!seen->insert(next).second) continue;
    if (seen->size() > options_.max_component_nodes)
      return Status::TooLarge("subjects store: resolve: component exceeds " +
                              std::to_string(options_.max_component_nodes) + " nodes");
    queue->push_back({std::move(next), neighbours_->Text(1), {}});
  }
  return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, "resolve: links");
}

Status SqliteSubjectStore::Collect(const std::string& token, const std::string& node,
                                   PartSets* sets) {
  Reading r(*occurrences_);
  occurrences_->Bind(1, token).Bind(2, node);
  int rc;
  while ((rc = occurrences_->Step()) == SQLITE_ROW) {
    std::string session = occurrences_->Text(0), uuid = occurrences_->Text(1);
    int64_t seq = occurrences_->Int(2);
    if (!session.empty()) sets->sessions.insert(std::move(session));
    if (!uuid.empty()) sets->uuids.insert(std::move(uuid));
    if (seq != kNoSpoolSeq) sets->seqs.insert(static_cast<uint64_t>(seq));
  }
  return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, "resolve: occurrences");
}

Status SqliteSubjectStore::ForgetNode(const std::string& token, const std::string& node) {
  for (Stmt* del : {del_node_, del_edges_a_, del_edges_b_, del_occurrences_}) {
    del->Bind(1, token).Bind(2, node);
    if (Status s = del->Run("forget"); !s.ok()) return s;
  }
  return Status::Ok();
}

// Deletes with secure_delete on, then truncates the WAL, so the erased rows' bytes are gone
// from the database file and from the log.
Status SqliteSubjectStore::ForgetSubject(const Subject& subject) {
  std::lock_guard lock(mu_);
  Txn txn(db_);
  if (Status s = txn.Begin("forget", true); !s.ok()) return s;
  for (const Subject::Part& part : subject.parts)
    for (const NodeFact& n : part.nodes)
      if (Status s = ForgetNode(part.token, n.node); !s.ok()) return s;
  if (Status s = txn.Commit("forget"); !s.ok()) return s;
  return Exec("PRAGMA wal_checkpoint(TRUNCATE)", "forget: checkpoint");
}

Status SqliteSubjectStore::ForgetOccurrences(
    const std::vector<std::pair<std::string, std::string>>& token_sessions,
    const std::vector<std::pair<std::string, std::string>>& token_uuids) {
  if (token_sessions.empty() && token_uuids.empty()) return Status::Ok();
  std::lock_guard lock(mu_);
  Txn txn(db_);
  if (Status s = txn.Begin("forget occurrences", true); !s.ok()) return s;
  for (const auto& [token, session] : token_sessions) {
    if (session.empty()) continue;
    if (Status s = ForgetNode(token, "s:" + session); !s.ok()) return s;
    del_session_occ_->Bind(1, token).Bind(2, session);
    if (Status s = del_session_occ_->Run("forget occurrences"); !s.ok()) return s;
  }
  for (const auto& [token, uuid] : token_uuids) {
    if (uuid.empty()) continue;
    del_uuid_occ_->Bind(1, token).Bind(2, uuid);
    if (Status s = del_uuid_occ_->Run("forget occurrences"); !s.ok()) return s;
  }
  if (Status s = txn.Commit("forget occurrences"); !s.ok()) return s;
  return Exec("PRAGMA wal_checkpoint(TRUNCATE)", "forget occurrences: checkpoint");
}

Result<std::vector<std::string>> SqliteSubjectStore::Tokens() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  Reading r(*tokens_);
  int rc;
  while ((rc = tokens_->Step()) == SQLITE_ROW) out.push_back(tokens_->Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "tokens");
  return out;
}

Status SqliteSubjectStore::AddTombstones(const std::vector<Tombstone>& tombstones) {
  std::lock_guard lock(mu_);
  Txn txn(db_);
  if (Status s = txn.Begin("add tombstones", true); !s.ok()) return s;
  for (const Tombstone& t : tombstones) {
    add_tombstone_->Bind(1, t.token).Bind(2, TombstoneKey(t.node)).Bind(3, t.request_id);
    if (Status s = add_tombstone_->Bind(4, t.expires_ms).Run("add tombstone"); !s.ok()) return s;
  }
  if (Status s = txn.Commit("add tombstones"); !s.ok()) return s;
  std::unique_lock cache(tomb_mu_);
  for (const Tombstone& t : tombstones) {
    auto [it, fresh] = tombs_.emplace(CacheKey(t.token, TombstoneKey(t.node)), t.expires_ms);
    if (!fresh) it->second = std::max(it->second, t.expires_ms);
  }
  return Status::Ok();
}

bool SqliteSubjectStore::IsTombstoned(std::string_view token, std::string_view node) const {
  const std::string key = CacheKey(token, TombstoneKey(node));
  const int64_t now_ms = static_cast<int64_t>(env_->NowMicros() / 1000);
  std::shared_lock lock(tomb_mu_);
  auto it = tombs_.find(key);
  return it != tombs_.end() && it->second > now_ms;
}

Result<uint64_t> SqliteSubjectStore::ExpireTombstones(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (Status s = expire_tombstones_->Bind(1, now_ms).Run("expire tombstones"); !s.ok()) return s;
  const uint64_t removed = static_cast<uint64_t>(sqlite3_changes(db_));
  std::unique_lock cache(tomb_mu_);
  std::erase_if(tombs_, [now_ms](const auto& kv) { return kv.second <= now_ms; });
  return removed;
}

Status SqliteSubjectStore::PutRequest(const RequestRecord& r) {
  std::lock_guard lock(mu_);
  Stmt& q = *put_request_;
  q.Bind(1, r.id).Bind(2, r.type).Bind(3, r.regulation).Bind(4, r.status);
  q.Bind(5, r.submitted_ms).Bind(6, r.received_ms).Bind(7, r.expected_ms).Bind(8, r.updated_ms);
  q.Bind(9, JsonArray(r.seeds)).Bind(10, JsonArray(r.tokens)).Bind(11, JsonArray(r.callback_urls));
  q.Bind(12, r.result_json).Bind(13, r.reason);
  return q.Run("put request");
}

Result<RequestRecord> SqliteSubjectStore::ReadRequest(Stmt& q) {
  RequestRecord r;
  r.id = q.Text(0);
  r.type = q.Text(1);
  r.regulation = q.Text(2);
  r.status = q.Text(3);
  r.submitted_ms = q.Int(4);
  r.received_ms = q.Int(5);
  r.expected_ms = q.Int(6);
  r.updated_ms = q.Int(7);
  const std::pair<std::vector<std::string>*, const char*> arrays[] = {
      {&r.seeds, "seeds"}, {&r.tokens, "tokens"}, {&r.callback_urls, "callback_urls"}};
  for (int i = 0; i < 3; ++i) {
    Result<std::vector<std::string>> v = ParseJsonArray(q.Text(8 + i), arrays[i].second);
    if (!v.ok()) return v.status();
    *arrays[i].first = std::move(*v);
  }
  r.result_json = q.Text(11);
  r.reason = q.Text(12);
  return r;
}

Result<std::optional<RequestRecord>> SqliteSubjectStore::GetRequest(const std::string& id) {
  std::lock_guard lock(mu_);
  Reading reading(*get_request_);
  get_request_->Bind(1, id);
  int rc = get_request_->Step();
  if (rc == SQLITE_DONE) return std::optional<RequestRecord>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get request");
  Result<RequestRecord> r = ReadRequest(*get_request_);
  if (!r.ok()) return r.status();
  return std::optional<RequestRecord>(std::move(*r));
}

Result<std::vector<RequestRecord>> SqliteSubjectStore::Unfinished() {
  std::lock_guard lock(mu_);
  std::vector<RequestRecord> out;
  Reading reading(*unfinished_);
  int rc;
  while ((rc = unfinished_->Step()) == SQLITE_ROW) {
    Result<RequestRecord> r = ReadRequest(*unfinished_);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "unfinished requests");
  return out;
}

Result<std::vector<RequestRecord>> SqliteSubjectStore::FinishedBefore(int64_t before_ms) {
  std::lock_guard lock(mu_);
  std::vector<RequestRecord> out;
  Reading reading(*finished_before_);
  finished_before_->Bind(1, before_ms);
  int rc;
  while ((rc = finished_before_->Step()) == SQLITE_ROW) {
    Result<RequestRecord> r = ReadRequest(*finished_before_);
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "finished requests");
  return out;
}

Status SqliteSubjectStore::DeleteRequest(const std::string& id) {
  std::lock_guard lock(mu_);
  Reading reading(*del_request_);
  del_request_->Bind(1, id);
  if (del_request_->Step() != SQLITE_DONE) return SqlError(db_, "delete request");
  return Status::Ok();
}

// Creates the database file owner-only before SQLite opens it: SQLite gives its -wal and -shm
// files the database file's permissions.
Status CreateOwnerOnly(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("subjects store: create database file failed");
  int rc = ::fchmod(fd, 0600);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::Io("subjects store: restrict database file failed");
}

}  // namespace

Result<std::unique_ptr<SubjectStore>> OpenSqliteSubjectStore(
    const fs::path& data_dir, Env* env, const SqliteSubjectStoreOptions& options) {
  if (!env) env = Env::Default();
  const fs::path dir = data_dir / "subjects";
  if (Status s = env->CreateDirs(dir, 0700); !s.ok())
    return Status::Io("subjects store: create directory: " + s.message());
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Status::Io("subjects store: restrict directory failed");
  const fs::path file = dir / "subjects.sqlite";
  if (Status s = CreateOwnerOnly(file); !s.ok()) return s;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    Status s = Status::Io(std::string("subjects store: open: ") + (db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  auto store = std::make_unique<SqliteSubjectStore>(db, env, options);
  if (Status s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<SubjectStore>(std::move(store));
}

Result<std::unique_ptr<SubjectStore>> OpenSqliteSubjectStore(const fs::path& data_dir, Env* env) {
  return OpenSqliteSubjectStore(data_dir, env, SqliteSubjectStoreOptions{});
}

}  // namespace scrubd::subjects
