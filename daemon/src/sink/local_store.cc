// Local store: chunk files are written outside the index lock (unique names), the SQLite
// index under it. SQLite errors become Status values here and never escape as exceptions.
#include "sink/local_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <span>

#include "ingest/decode.h"
#include "sink/session_rows.h"
#include "sink/sqlite_stmt.h"
#include "sink/stored_json.h"

namespace scrubd::sink {
namespace json = boost::json;
namespace fs = std::filesystem;
using sqlite::SqlError;
using sqlite::Stmt;

namespace {

int64_t TimestampOf(const json::value& v) {
  if (!v.is_object()) return 0;
  const json::value* t = v.get_object().if_contains("timestamp");
  if (!t) return 0;
  if (t->is_int64()) return t->get_int64();
  if (t->is_uint64()) return static_cast<int64_t>(t->get_uint64());
  if (t->is_double()) return static_cast<int64_t>(t->get_double());
  return 0;
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const json::object* PropertiesOf(const json::object& ev) {
  const json::value* p = ev.if_contains("properties");
  return p && p->is_object() ? &p->get_object() : nullptr;
}

}  // namespace

std::string TokenOf(const json::object& ev) {
  const json::object* props = PropertiesOf(ev);
  return props ? StringAt(*props, "token") : std::string();
}

Result<RecordingChunk> ChunkOf(const json::object& ev) {
  const json::object* props = PropertiesOf(ev);
  const json::array* items = ingest::SnapshotItems(ev);
  if (!props || !items) return Status::Internal("snapshot event without properties or items");
  RecordingChunk c{StringAt(*props, "token"), StringAt(*props, "$session_id"),
                   StringAt(*props, "$window_id"), StringAt(*props, "distinct_id"), items};
  if (c.window_id.empty()) c.window_id = c.session_id;
  if (c.distinct_id.empty()) c.distinct_id = StringAt(ev, "distinct_id");
  if (!ingest::ValidToken(c.token) || !ingest::ValidSessionId(c.session_id) ||
      !ingest::ValidSessionId(c.window_id))
    return Status::Internal("scrubbed snapshot event has no valid routing ids");
  return c;
}

Result<StoredEvent> StoredEventOf(const json::object& ev) {
  const json::object* props = PropertiesOf(ev);
  if (!props) return Status::Internal("scrubbed event without properties");
  StoredEvent e{StringAt(*props, "token"),
                StringAt(*props, "$session_id"),
                StringAt(*props, "distinct_id"),
                StringAt(ev, "uuid"),
                StringAt(ev, "event"),
                StringAt(ev, "timestamp"),
                json::serialize(ev),
                ""};
  if (e.distinct_id.empty()) e.distinct_id = StringAt(ev, "distinct_id");
  e.current_url = StringAt(*props, "$current_url");
  if (!ingest::ValidToken(e.token)) return Status::Internal("scrubbed event has no valid token");
  return e;
}

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const fs::path& data_dir, Env* env,
                                                     LocalStoreOptions options) {
  if (!env) env = Env::Default();
  fs::path root = data_dir / "store";
  std::error_code ec;
  if (Status s = env->CreateDirs(root / "recordings", 0700); !s.ok())
    return Status::Io("create store directory: " + s.message());
  Result<uint64_t> temps = RemoveTempFiles(env, root / "recordings");
  if (!temps.ok()) return Status::Io("store temp cleanup: " + temps.status().message());
  if (*temps > 0) spdlog::info("store: removed {} unacknowledged temp files", *temps);
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  sqlite3* db = nullptr;
  std::string db_path = (root / "index.sqlite").string();
  if (sqlite3_open_v2(db_path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Status::Io(std::string("sqlite open index: ") + (db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  ::chmod(db_path.c_str(), 0600);
  std::unique_ptr<LocalStore> store(new LocalStore(root, db, env, options));
  sqlite3_busy_timeout(db, 5000);
  static const char* kSchema = R"sql(
    PRAGMA journal_mode=WAL;
    PRAGMA synchronous=FULL;
    PRAGMA secure_delete=ON;
    CREATE TABLE IF NOT EXISTS sessions(
      token TEXT NOT NULL, session_id TEXT NOT NULL, distinct_id TEXT,
      first_ts INTEGER, last_ts INTEGER, first_url TEXT,
      bytes INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      PRIMARY KEY(token, session_id));
    CREATE INDEX IF NOT EXISTS sessions_distinct ON sessions(distinct_id);
    CREATE TABLE IF NOT EXISTS chunks(
      id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL, session_id TEXT NOT NULL,
      window_id TEXT NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL,
      events INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER, created_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS chunks_session ON chunks(session_id, token);
    CREATE TABLE IF NOT EXISTS events(
      id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL, session_id TEXT,
      distinct_id TEXT, uuid TEXT, event TEXT NOT NULL, timestamp TEXT,
      received_at INTEGER NOT NULL, body TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS events_session ON events(session_id);
    CREATE INDEX IF NOT EXISTS events_distinct ON events(distinct_id);
    CREATE INDEX IF NOT EXISTS events_uuid ON events(uuid);
    CREATE TABLE IF NOT EXISTS lifecycle(
      token TEXT NOT NULL, session_id TEXT NOT NULL, distinct_id TEXT NOT NULL DEFAULT '',
      last_ts INTEGER NOT NULL, facts INTEGER NOT NULL DEFAULT 0,
      facts_truncated INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY(token, session_id)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS lifecycle_last ON lifecycle(last_ts);
    CREATE TABLE IF NOT EXISTS session_facts(
      token TEXT NOT NULL, session_id TEXT NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL,
      PRIMARY KEY(token, session_id, kind, value)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS purge_pending(
      token TEXT NOT NULL, session_id TEXT NOT NULL, PRIMARY KEY(token, session_id))
      WITHOUT ROWID;
  )sql";
  if (Status s = store->Exec(kSchema); !s.ok()) return s;
  if (Status s = store->MigrateLifecycle(); !s.ok()) return s;
  if (Status s = store->MigrateRedactions(); !s.ok()) return s;
  // An interrupted purge is finished before anything is served (its files are unindexed).
  if (Result<EraseCounts> done = store->FinishPurges(); !done.ok())
    return done.status();
  else if (done->files > 0)
    spdlog::info("store: finished an interrupted purge ({} files)", done->files);
  return store;
}

LocalStore::~LocalStore() { sqlite3_close(db_); }

Status LocalStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status s = Status::Io(std::string("sqlite: ") + (err ? err : "?"));
    sqlite3_free(err);
    return s;
  }
  return Status::Ok();
}

Result<LocalStore::ChunkFile> LocalStore::WriteChunkFile(const RecordingChunk& c) {
  std::string text = json::serialize(*c.events);
  ChunkFile f;
  f.first_ts = INT64_MAX;
  for (const json::value& e : *c.events) {
    int64_t ts = TimestampOf(e);
    if (ts > 0) {
      f.first_ts = std::min(f.first_ts, ts);
      f.last_ts = std::max(f.last_ts, ts);
    }
    if (f.first_url.empty() && e.is_object()) {
      const json::object& o = e.get_object();
      const json::value* t = o.if_contains("type");
      const json::value* d = o.if_contains("data");
      if (t && t->is_int64() && t->get_int64() == 4 && d && d->is_object())
        if (auto* h = d->get_object().if_contains("href"); h && h->is_string())
          f.first_url = std::string(h->get_string());
    }
  }
  if (f.first_ts == INT64_MAX) f.first_ts = 0;

  static std::atomic<uint64_t> seq{0};
  f.now = static_cast<int64_t>(env_->NowMicros() / 1000);  // the Env clock (tests set it)
  fs::path dir = root_ / "recordings" / c.token / c.session_id / c.window_id;
  // Messages name the step, never the path: the path holds the token and session id.
  if (Status s = env_->CreateDirs(dir, 0700); !s.ok())
    return Status::Io("chunk directory: " + s.message());
  Result<std::string> bytes = EncodeChunk(text, options_.chunk_encoding, options_.zstd_level);
  if (!bytes.ok()) return bytes.status();
  char name[64];
  snprintf(name, sizeof(name), "%013lld-%06llu%.*s", static_cast<long long>(f.now),
           static_cast<unsigned long long>(seq++ % 1000000),
           static_cast<int>(ChunkSuffix(options_.chunk_encoding).size()),
           ChunkSuffix(options_.chunk_encoding).data());
  f.file = dir / name;
  if (Status s = scrubd::WriteFileDurably(env_, f.file, *bytes); !s.ok())
    return Status::Io("chunk file: " + s.message());
  f.rel = fs::relative(f.file, root_).string();
  f.bytes = static_cast<int64_t>(text.size());
  return f;
}

Status LocalStore::WriteRecording(const RecordingChunk& c) {
  const RecordingChunk* one[] = {&c};
  return WriteChunks(one);
}

Status LocalStore::WriteRecordings(const std::vector<RecordingChunk>& chunks) {
  std::vector<const RecordingChunk*> all;
  for (const RecordingChunk& c : chunks) all.push_back(&c);
  return WriteChunks(all);
}

Status LocalStore::WriteChunks(std::span<const RecordingChunk* const> given) {
  std::vector<const RecordingChunk*> chunks;
  for (const RecordingChunk* c : given)
    if (c->events && !c->events->empty()) chunks.push_back(c);
  std::vector<ChunkFile> files;
  Status s = Status::Ok();
  for (const RecordingChunk* c : chunks) {
    Result<ChunkFile> f = WriteChunkFile(*c);
    if (!f.ok()) {
      s = f.status();
      break;
    }
    files.push_back(std::move(f).value());
  }
  if (s.ok()) s = IndexChunks(chunks, files);
  if (!s.ok()) {
    // The chunk files are unreferenced: remove them so nothing unacknowledged stays on disk.
    // If that fails too, they are invisible to every reader (they go through the index).
    for (const ChunkFile& f : files)
      if (Status r = env_->RemoveFile(f.file); !r.ok())
        return Status::Io(s.message() + "; unindexed chunk left: " + r.message());
  }
  return s;
}

Status LocalStore::IndexChunks(const std::vector<const RecordingChunk*>& chunks,
                               const std::vector<ChunkFile>& files) {
  if (chunks.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt ins(db_,
           "INSERT INTO chunks(token,session_id,window_id,path,bytes,events,first_ts,last_ts,"
           "created_at) VALUES(?,?,?,?,?,?,?,?,?)");
  Stmt up(db_,
          "INSERT INTO sessions(token,session_id,distinct_id,first_ts,last_ts,first_url,bytes,"
          "events,created_at,updated_at,redactions,redactions_by_rule) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10,'{}') "
          "ON CONFLICT(token,session_id) DO UPDATE SET "
          "first_ts=CASE WHEN first_ts=0 OR (excluded.first_ts>0 AND excluded.first_ts<first_ts)"
          " THEN excluded.first_ts ELSE first_ts END,"
          "last_ts=MAX(last_ts,excluded.last_ts),"
          "first_url=CASE WHEN first_url='' THEN excluded.first_url ELSE first_url END,"
          "distinct_id=CASE WHEN distinct_id='' THEN excluded.distinct_id ELSE distinct_id END,"
          "bytes=bytes+excluded.bytes, events=events+excluded.events,"
          "redactions=redactions+excluded.redactions,"  // NULL (not counted) stays NULL
          "updated_at=excluded.updated_at");
  bool ok = ins.ok() && up.ok();
  for (size_t i = 0; ok && i < chunks.size(); ++i) {
    const RecordingChunk& c = *chunks[i];
    const ChunkFile& f = files[i];
    const auto events = static_cast<int64_t>(c.events->size());
    ins.Bind(1, c.token).Bind(2, c.session_id).Bind(3, c.window_id).Bind(4, f.rel);
    ins.Bind(5, f.bytes).Bind(6, events).Bind(7, f.first_ts).Bind(8, f.last_ts).Bind(9, f.now);
    ok = ins.Step() == SQLITE_DONE;
    ins.Reset();
    if (!ok) break;
    up.Bind(1, c.token).Bind(2, c.session_id).Bind(3, c.distinct_id).Bind(4, f.first_ts);
    up.Bind(5, f.last_ts).Bind(6, f.first_url).Bind(7, f.bytes).Bind(8, events).Bind(9, f.now);
    up.Bind(10, RedactionTotal(c.redactions_by_rule));
    ok = up.Step() == SQLITE_DONE;
    up.Reset();
    if (!ok) break;
    ok = AddRedactionsByRule(c);
    if (!ok) break;
    std::vector<std::pair<FactKind, std::string>> facts;
    for (std::string& url : PageUrlsOf(*c.events)) facts.emplace_back(FactKind::kUrl, url);
    ok = TouchLifecycle(c.token, c.session_id, c.distinct_id, LifecycleTime(f.last_ts, f.now),
                        facts);
  }
  Status s = ok ? Exec("COMMIT") : SqlError(db_, "index chunk");
  if (!s.ok()) Rollback();
  return s;
}

Status LocalStore::WriteEvents(const std::vector<StoredEvent>& events) {
  if (events.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt ins(db_,
           "INSERT INTO events(token,session_id,distinct_id,uuid,event,timestamp,received_at,"
           "body) VALUES(?,?,?,?,?,?,?,?)");
  bool ok = ins.ok();
  const int64_t now = static_cast<int64_t>(env_->NowMicros() / 1000);
  for (const auto& e : events) {
    if (!ok) break;
    ins.Bind(1, e.token).Bind(2, e.session_id).Bind(3, e.distinct_id).Bind(4, e.uuid);
    ins.Bind(5, e.name).Bind(6, e.timestamp).Bind(7, now).Bind(8, e.body);
    ok = ins.Step() == SQLITE_DONE;
    ins.Reset();
    if (ok && !e.session_id.empty()) ok = TouchLifecycle(e, now);
  }
  Status s = ok ? Exec("COMMIT") : SqlError(db_, "insert events");
  if (!s.ok()) Rollback();
  return s;
}

void LocalStore::Rollback() {
  // A failed statement or COMMIT may already have rolled the transaction back; then ROLLBACK
  // reports "no transaction is active", which is the state we want.
  if (sqlite3_get_autocommit(db_)) return;
  if (Status r = Exec("ROLLBACK"); !r.ok()) spdlog::error("store: {}", r.message());
}

Result<std::string> LocalStore::ResolveToken(const std::string& session_id,
                                             const std::string& token) {
  if (!token.empty()) return token;
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT DISTINCT token FROM chunks WHERE session_id=?1 LIMIT 2");
  if (!q.ok()) return SqlError(db_, "export query");
  q.Bind(1, session_id);
  std::vector<std::string> tokens;
  while (q.Step() == SQLITE_ROW) tokens.push_back(q.Text(0));
  if (tokens.size() > 1)
    return Status::InvalidInput("that session id exists under several tokens; pass the token");
  if (tokens.empty()) return Status::NotFound("no recording for that session");
  return tokens.front();
}

Result<std::string> LocalStore::ExportSession(const std::string& session_id,
                                              const std::string& given_token,
                                              const std::string& window_id) {
  Result<std::string> token = ResolveToken(session_id, given_token);
  if (!token.ok()) return token.status();
  std::vector<std::string> paths;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt q(db_,
           "SELECT path FROM chunks WHERE session_id=?1 AND token=?2 "
           "AND (?3='' OR window_id=?3) ORDER BY id");
    if (!q.ok()) return SqlError(db_, "export query");
    q.Bind(1, session_id).Bind(2, *token).Bind(3, window_id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) paths.push_back(q.Text(0));
    if (rc != SQLITE_DONE) return SqlError(db_, "export query");
  }
  if (paths.empty()) return Status::NotFound("no recording for that session");
  json::array all;
  for (const auto& rel : paths) {
    // Messages carry no path: it holds the token and session id.
    Result<std::string> bytes = env_->ReadFile(root_ / rel);
    if (!bytes.ok())
      return Status::Corruption("indexed chunk unreadable: " + bytes.status().message());
    Result<std::string> text = DecodeChunk(rel, *bytes);
    if (!text.ok()) return Status::Corruption("indexed chunk: " + text.status().message());
    boost::system::error_code ec;
    json::value v = ParseStoredJson(*text, ec);
    if (ec || !v.is_array()) return Status::Corruption("indexed chunk is not a JSON array");
    for (auto& e : v.get_array()) all.emplace_back(std::move(e));
  }
  std::stable_sort(all.begin(), all.end(), [](const json::value& a, const json::value& b) {
    return TimestampOf(a) < TimestampOf(b);
  });
  return json::serialize(all);
}

Result<std::vector<SessionInfo>> LocalStore::ListSessions(int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, (std::string("SELECT ") + kSessionColumns +
               " FROM sessions ORDER BY first_ts DESC LIMIT ?")
                  .c_str());
  if (!q.ok()) return SqlError(db_, "list sessions");
  q.Bind(1, static_cast<int64_t>(limit));
  std::vector<SessionInfo> out;
  while (q.Step() == SQLITE_ROW) out.push_back(ReadSession(q));
  return out;
}

Result<SessionInfo> LocalStore::GetSession(const std::string& session_id,
                                           const std::string& token) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, (std::string("SELECT ") + kSessionColumns +
               " FROM sessions WHERE session_id=?1 AND (?2='' OR token=?2) LIMIT 1")
                  .c_str());
  if (!q.ok()) return SqlError(db_, "get session");
  q.Bind(1, session_id).Bind(2, token);
  if (q.Step() != SQLITE_ROW) return Status::NotFound("no such session");
  return ReadSession(q);
}

Result<std::vector<SessionInfo>> LocalStore::SessionsOf(const std::vector<SessionKey>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, (std::string("SELECT ") + kSessionColumns +
               " FROM sessions WHERE token=?1 AND session_id=?2")
                  .c_str());
  if (!q.ok()) return SqlError(db_, "sessions of subject");
  std::vector<SessionInfo> out;
  for (const SessionKey& k : keys) {
    q.Bind(1, k.token).Bind(2, k.session_id);
    int rc = q.Step();
    if (rc == SQLITE_ROW)
      out.push_back(ReadSession(q));
    else if (rc != SQLITE_DONE)
      return SqlError(db_, "sessions of subject");
    q.Reset();
  }
  return out;
}

namespace {

// Runs `q` (its parameters bound) and adds each row (id, token, session_id, distinct_id, uuid,
// event, timestamp, body) not seen before to `out`, keyed by row id.
bool CollectEvents(Stmt& q, std::map<int64_t, StoredEvent>* out) {
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    int64_t id = q.Int(0);
    if (out->count(id)) continue;
    (*out)[id] = StoredEvent{q.Text(1), q.Text(2), q.Text(3), q.Text(4),
                             q.Text(5), q.Text(6), q.Text(7), ""};
  }
  q.Reset();
  return rc == SQLITE_DONE;
}

}  // namespace

Result<std::vector<StoredEvent>> LocalStore::EventsOf(
    const std::vector<SessionKey>& sessions, const std::vector<std::string>& distinct_ids,
    const std::vector<std::pair<std::string, std::string>>& token_uuid_events) {
  constexpr char kCols[] =
      "SELECT id,token,session_id,distinct_id,uuid,event,timestamp,body FROM events WHERE ";
  std::lock_guard<std::mutex> lock(mu_);
  Stmt by_session(db_, (std::string(kCols) + "session_id=?1 AND token=?2").c_str());
  Stmt by_distinct(db_, (std::string(kCols) + "distinct_id=?1").c_str());
  Stmt by_uuid(db_, (std::string(kCols) + "uuid=?1 AND token=?2").c_str());
  if (!by_session.ok() || !by_distinct.ok() || !by_uuid.ok())
    return SqlError(db_, "events of subject");
  std::map<int64_t, StoredEvent> rows;  // row id order = arrival order
  bool ok = true;
  for (const SessionKey& k : sessions) {
    if (k.session_id.empty()) continue;  // events without a session are not "of" it
    by_session.Bind(1, k.session_id).Bind(2, k.token);
    ok = ok && CollectEvents(by_session, &rows);
  }
  for (const std::string& d : distinct_ids) {
    if (d.empty()) continue;
    by_distinct.Bind(1, d);
    ok = ok && CollectEvents(by_distinct, &rows);
  }
  for (const auto& [token, uuid] : token_uuid_events) {
    if (uuid.empty()) continue;
    by_uuid.Bind(1, uuid).Bind(2, token);
    ok = ok && CollectEvents(by_uuid, &rows);
  }
  if (!ok) return SqlError(db_, "events of subject");
  std::vector<StoredEvent> out;
  out.reserve(rows.size());
  for (auto& [id, e] : rows) out.push_back(std::move(e));
  return out;
}

}  // namespace scrubd::sink
