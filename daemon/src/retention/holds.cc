// Hold validation, the SQLite HoldStore (every SQL text of the holds lives here) and the
// resolution of active holds into a HeldSet. Errors name the step or the field, never a value.
#include "retention/holds.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <mutex>
#include <optional>

#include "ingest/decode.h"
#include "subjects/erasure.h"

namespace scrubd::retention {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kFormatVersion = 1;

// True when `s` is valid UTF-8 without C0 / C1 control characters or DEL.
bool PlainUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xf0 && c <= 0xf4  ? 4
               : c >= 0xe0 && c < 0xf0 ? 3
               : c >= 0xc2 && c < 0xe0 ? 2
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = c & (0xff >> (n + 1));
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return false;
    i += n;
  }
  return true;
}

Status ValidateSeeds(const std::vector<std::string>& seeds) {
  if (seeds.empty() || seeds.size() > kMaxHoldSeeds)
    return Status::InvalidInput("a distinct_id hold needs 1.." + std::to_string(kMaxHoldSeeds) +
                                " seeds (no project has recorded data yet?)");
  for (const std::string& seed : seeds) {
    auto [token, node] = subjects::SplitSeed(seed);
    if (!ingest::ValidToken(token)) return Status::InvalidInput("a seed has no valid token");
    if (!(node.starts_with("i:pid_") || node.starts_with("h:pid_")) || !PlainUtf8(node))
      return Status::InvalidInput("a seed must be an identifier pseudonym");
  }
  return Status::Ok();
}

std::string NewHoldId() {
  unsigned char b[8];
  if (RAND_bytes(b, sizeof b) != 1) return {};
  static const char* kHex = "0123456789abcdef";
  std::string id = "hold_";
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

Status SqlError(sqlite3* db, std::string_view step) {
  return Status::Io("holds store: " + std::string(step) + ": " + sqlite3_errmsg(db));
}

// A prepared statement, reset after every use (Done / the Reading guard).
class Stmt {
 public:
  ~Stmt() { sqlite3_finalize(s_); }
  Status Prepare(sqlite3* db, const char* sql) {
    db_ = db;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr) != SQLITE_OK)
      return SqlError(db, "prepare");
    return Status::Ok();
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
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

class Reading {  // resets a statement however the read leaves
 public:
  explicit Reading(Stmt& s) : s_(s) {}
  ~Reading() { s_.Reset(); }

 private:
  Stmt& s_;
};

constexpr char kSchema[] = R"sql(
  PRAGMA journal_mode=WAL;
  PRAGMA synchronous=FULL;
  CREATE TABLE IF NOT EXISTS holds(
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, token TEXT NOT NULL, session_id TEXT NOT NULL,
    seeds TEXT NOT NULL, reason TEXT NOT NULL, created_ms INTEGER NOT NULL,
    released_ms INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS holds_by_released ON holds(released_ms);
)sql";

#define SCRUBD_HOLD_COLUMNS "id,kind,token,session_id,seeds,reason,created_ms,released_ms"

class SqliteHoldStore final : public HoldStore {
 public:
  SqliteHoldStore(sqlite3* db, Env* env) : db_(db), env_(env) {}
  ~SqliteHoldStore() override {
    insert_.reset();
    get_.reset();
    list_all_.reset();
    list_active_.reset();
    release_.reset();
    sqlite3_close(db_);
  }
  Status Init();
  Result<Hold> Add(Hold h) override;
  Result<std::vector<Hold>> List(bool include_released) override;
  Result<Hold> Release(const std::string& id) override;
  Result<std::vector<Hold>> Active() override { return List(false); }

 private:
  Status Exec(const char* sql, std::string_view step) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqlError(db_, step);
    return Status::Ok();
  }
  Status CheckVersion();
  Result<Hold> ReadHold(Stmt& q);
  Result<std::optional<Hold>> Get(const std::string& id);  // mu_ held
  int64_t NowMs() { return std::max<int64_t>(1, env_->NowMicros() / 1000); }

  sqlite3* db_;
  Env* env_;
  std::mutex mu_;  // the connection and every statement
  std::unique_ptr<Stmt> insert_, get_, list_all_, list_active_, release_;
};

Status SqliteHoldStore::CheckVersion() {
  Stmt q;
  if (Status s = q.Prepare(db_, "PRAGMA user_version"); !s.ok()) return s;
  int64_t version = q.Step() == SQLITE_ROW ? q.Int(0) : -1;
  q.Reset();
  if (version < 0) return SqlError(db_, "read format version");
  if (version > kFormatVersion)
    return Status::Corruption("holds store: format version " + std::to_string(version) +
                              " is newer than this scrubd reads (" +
                              std::to_string(kFormatVersion) + ")");
  if (version == 0) return Exec("PRAGMA user_version=1", "write format version");
  return Status::Ok();
}

Status SqliteHoldStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  if (Status s = Exec(kSchema, "create schema"); !s.ok()) return s;
  if (Status s = CheckVersion(); !s.ok()) return s;
  const std::pair<std::unique_ptr<Stmt>*, const char*> all[] = {
      {&insert_, "INSERT INTO holds(" SCRUBD_HOLD_COLUMNS ") VALUES(?1,?2,?3,?4,?5,?6,?7,0)"},
      {&get_, "SELECT " SCRUBD_HOLD_COLUMNS " FROM holds WHERE id=?1"},
      {&list_all_, "SELECT " SCRUBD_HOLD_COLUMNS " FROM holds ORDER BY created_ms, id"},
      {&list_active_,
       "SELECT " SCRUBD_HOLD_COLUMNS " FROM holds WHERE released_ms=0 ORDER BY created_ms, id"},
      {&release_, "UPDATE holds SET released_ms=?2 WHERE id=?1 AND released_ms=0"},
  };
  for (const auto& [stmt, sql] : all) {
    *stmt = std::make_unique<Stmt>();
    if (Status s = (*stmt)->Prepare(db_, sql); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<Hold> SqliteHoldStore::ReadHold(Stmt& q) {
  Hold h;
  h.id = q.Text(0);
  h.kind = q.Text(1);
  h.token = q.Text(2);
  h.session_id = q.Text(3);
  boost::system::error_code ec;
  json::value seeds = json::parse(q.Text(4), ec);
  if (ec || !seeds.is_array()) return Status::Corruption("holds store: seeds is not an array");
  for (const json::value& s : seeds.as_array()) {
    if (!s.is_string()) return Status::Corruption("holds store: a seed is not a string");
    h.seeds.emplace_back(s.as_string());
  }
  h.reason = q.Text(5);
  h.created_ms = q.Int(6);
  h.released_ms = q.Int(7);
  return h;
}

Result<Hold> SqliteHoldStore::Add(Hold h) {
  if (Status s = ValidateHold(h); !s.ok()) return s;
  json::array seeds;
  for (const std::string& s : h.seeds) seeds.emplace_back(s);
  const std::string seeds_text = json::serialize(seeds);
  std::lock_guard lock(mu_);
  h.created_ms = NowMs();
  h.released_ms = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {  // a random id may collide; try another
    h.id = NewHoldId();
    if (h.id.empty()) return Status::Internal("holds store: no random bytes for an id");
    Reading r(*insert_);
    insert_->Bind(1, h.id).Bind(2, h.kind).Bind(3, h.token).Bind(4, h.session_id);
    insert_->Bind(5, seeds_text).Bind(6, h.reason).Bind(7, h.created_ms);
    int rc = insert_->Step();
    if (rc == SQLITE_DONE) return h;
    if ((rc & 0xff) != SQLITE_CONSTRAINT) return SqlError(db_, "add hold");
  }
  return Status::Internal("holds store: no free hold id");
}

Result<std::vector<Hold>> SqliteHoldStore::List(bool include_released) {
  std::lock_guard lock(mu_);
  Stmt& q = include_released ? *list_all_ : *list_active_;
  Reading r(q);
  std::vector<Hold> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    Result<Hold> h = ReadHold(q);
    if (!h.ok()) return h.status();
    out.push_back(std::move(h).value());
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list holds");
  return out;
}

Result<std::optional<Hold>> SqliteHoldStore::Get(const std::string& id) {
  Reading r(*get_);
  get_->Bind(1, id);
  int rc = get_->Step();
  if (rc == SQLITE_DONE) return std::optional<Hold>();
  if (rc != SQLITE_ROW) return SqlError(db_, "get hold");
  Result<Hold> h = ReadHold(*get_);
  if (!h.ok()) return h.status();
  return std::optional<Hold>(std::move(h).value());
}

Result<Hold> SqliteHoldStore::Release(const std::string& id) {
  std::lock_guard lock(mu_);
  Result<std::optional<Hold>> h = Get(id);
  if (!h.ok()) return h.status();
  if (!h->has_value()) return Status::NotFound("no such hold");
  if ((*h)->released_ms != 0) return Status::InvalidInput("the hold is already released");
  const int64_t now = NowMs();
  {
    Reading r(*release_);
    release_->Bind(1, id).Bind(2, now);
    if (release_->Step() != SQLITE_DONE) return SqlError(db_, "release hold");
  }
  if (sqlite3_changes(db_) != 1) return Status::InvalidInput("the hold is already released");
  Hold out = **h;
  out.released_ms = now;
  return out;
}

// Creates the database file owner-only before SQLite opens it (its -wal and -shm files get
// the database file's permissions).
Status CreateOwnerOnly(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("holds store: create database file failed");
  int rc = ::fchmod(fd, 0600);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::Io("holds store: restrict database file failed");
}

void AddTo(std::unordered_map<std::string, std::vector<std::string>>& map, std::string key,
           const std::string& id) {
  std::vector<std::string>& ids = map[std::move(key)];
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

void Append(const std::unordered_map<std::string, std::vector<std::string>>& map,
            const std::string& key, std::vector<std::string>* out) {
  if (auto it = map.find(key); it != map.end())
    out->insert(out->end(), it->second.begin(), it->second.end());
}

}  // namespace

bool IsHoldId(std::string_view id) {
  if (id.size() != 21 || !id.starts_with("hold_")) return false;
  return std::all_of(id.begin() + 5, id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status ValidateHold(const Hold& h) {
  if (h.reason.empty() || h.reason.size() > kMaxReasonBytes)
    return Status::InvalidInput("reason must be 1.." + std::to_string(kMaxReasonBytes) + " bytes");
  if (!PlainUtf8(h.reason))
    return Status::InvalidInput("reason must be UTF-8 text without control characters");
  if (h.kind == kHoldSession) {
    if (!ingest::ValidSessionId(h.session_id))
      return Status::InvalidInput("session must be a session id");
    if (!h.token.empty() && !ingest::ValidToken(h.token))
      return Status::InvalidInput("token must be a project token");
    if (!h.seeds.empty()) return Status::InvalidInput("a session hold has no seeds");
    return Status::Ok();
  }
  if (h.kind == kHoldDistinctId) {
    if (!h.token.empty() || !h.session_id.empty())
      return Status::InvalidInput("a distinct_id hold has no token or session");
    return ValidateSeeds(h.seeds);
  }
  return Status::InvalidInput("hold kind must be distinct_id or session");
}

Result<std::unique_ptr<HoldStore>> HoldStore::Open(const fs::path& data_dir, Env* env) {
  if (!env) env = Env::Default();
  const fs::path dir = data_dir / "holds";
  if (Status s = env->CreateDirs(dir, 0700); !s.ok())
    return Status::Io("holds store: create directory: " + s.message());
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Status::Io("holds store: restrict directory failed");
  const fs::path file = dir / "holds.sqlite";
  if (Status s = CreateOwnerOnly(file); !s.ok()) return s;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    Status s = Status::Io(std::string("holds store: open: ") + (db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  auto store = std::make_unique<SqliteHoldStore>(db, env);
  if (Status s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<HoldStore>(std::move(store));
}

std::string HeldSet::Key(std::string_view token, std::string_view id) {
  std::string k(token);
  k.push_back('\0');
  k.append(id);
  return k;
}

std::vector<std::string> HeldSet::HoldsOf(std::string_view token, std::string_view session_id,
                                          std::string_view stored_distinct_id) const {
  std::vector<std::string> out;
  if (!session_id.empty()) {
    Append(by_session, Key(token, session_id), &out);
    Append(by_any_token_session, std::string(session_id), &out);
  }
  if (!stored_distinct_id.empty()) Append(by_distinct_id, Key(token, stored_distinct_id), &out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The smallest id HoldsOf would return, without building the list (purge asks per session).
std::string HeldSet::HoldOf(std::string_view token, std::string_view session_id,
                            std::string_view stored_distinct_id) const {
  if (empty()) return {};
  const std::string* best = nullptr;
  auto consider = [&](const std::unordered_map<std::string, std::vector<std::string>>& map,
                      const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) return;
    for (const std::string& id : it->second)
      if (!best || id < *best) best = &id;
  };
  if (!session_id.empty()) {
    if (!by_session.empty()) consider(by_session, Key(token, session_id));
    if (!by_any_token_session.empty()) consider(by_any_token_session, std::string(session_id));
  }
  if (!stored_distinct_id.empty() && !by_distinct_id.empty())
    consider(by_distinct_id, Key(token, stored_distinct_id));
  return best ? *best : std::string();
}

bool HeldSet::empty() const {
  return by_session.empty() && by_any_token_session.empty() && by_distinct_id.empty();
}

Result<HeldSet> ResolveHolds(const std::vector<Hold>& active, subjects::SubjectStore* index) {
  HeldSet set;
  for (const Hold& h : active) {
    if (h.released_ms != 0) continue;
    if (h.kind == kHoldSession) {
      if (h.token.empty())
        AddTo(set.by_any_token_session, h.session_id, h.id);
      else
        AddTo(set.by_session, HeldSet::Key(h.token, h.session_id), h.id);
      continue;
    }
    if (!index) return Status::Unavailable("distinct_id holds need the subject index");
    std::vector<std::pair<std::string, std::string>> seeds;
    for (const std::string& s : h.seeds) {
      seeds.push_back(subjects::SplitSeed(s));
      // The seed itself, even unseen by the index: a stored row naming it is held.
      const auto& [token, node] = seeds.back();
      if (node.starts_with("i:"))
        AddTo(set.by_distinct_id, HeldSet::Key(token, node.substr(2)), h.id);
    }
    Result<subjects::Subject> subject = index->Resolve(seeds);
    if (!subject.ok()) return subject.status();
    for (const subjects::Subject::Part& part : subject->parts) {
      for (const std::string& sid : part.sessions)
        AddTo(set.by_session, HeldSet::Key(part.token, sid), h.id);
      for (const std::string& did : subjects::DistinctIdsOf(part))
        AddTo(set.by_distinct_id, HeldSet::Key(part.token, did), h.id);
    }
  }
  return set;
}

Result<std::vector<std::string>> HoldsCovering(
    HoldStore& holds, subjects::SubjectStore* index, const std::vector<sink::SessionKey>& sessions,
    const std::vector<std::pair<std::string, std::string>>& token_distinct_ids) {
  Result<std::vector<Hold>> active = holds.Active();
  if (!active.ok()) return active.status();
  if (active->empty()) return std::vector<std::string>();
  Result<HeldSet> set = ResolveHolds(*active, index);
  if (!set.ok()) return set.status();
  std::vector<std::string> out;
  for (const sink::SessionKey& k : sessions)
    for (std::string& id : set->HoldsOf(k.token, k.session_id, "")) out.push_back(std::move(id));
  for (const auto& [token, did] : token_distinct_ids)
    for (std::string& id : set->HoldsOf(token, "", did)) out.push_back(std::move(id));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace scrubd::retention
