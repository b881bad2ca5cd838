// The consent ledger's SQLite adapter. Append-only: BEFORE UPDATE / DELETE triggers abort, so
// no code path (nor a stray SQL shell edit through the same schema) rewrites history.
#include "consent/ledger.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "scrubd/common/rfc3339.h"
#include "sink/sqlite_stmt.h"

namespace scrubd::consent {
namespace fs = std::filesystem;
namespace json = boost::json;
using sink::sqlite::SqlError;
using sink::sqlite::Stmt;

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS consent_ledger (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL, token TEXT NOT NULL, session TEXT NOT NULL, subject TEXT NOT NULL,
  state TEXT NOT NULL, source TEXT NOT NULL, signal TEXT NOT NULL, purposes TEXT NOT NULL,
  vendors TEXT NOT NULL, value_sha256 TEXT NOT NULL, policy_name TEXT NOT NULL,
  policy_version INTEGER NOT NULL, policy_sha256 TEXT NOT NULL, erasure_request TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS consent_by_session ON consent_ledger(token, session, seq);
CREATE INDEX IF NOT EXISTS consent_by_subject ON consent_ledger(token, subject, seq);
CREATE TRIGGER IF NOT EXISTS consent_no_update BEFORE UPDATE ON consent_ledger
  BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS consent_no_delete BEFORE DELETE ON consent_ledger
  BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only'); END;
)";

constexpr const char* kColumns =
    "seq, time_ms, token, session, subject, state, source, signal, purposes, vendors, "
    "value_sha256, policy_name, policy_version, policy_sha256, erasure_request";

Status CreateOwnerOnly(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Io("consent ledger: create database file failed");
  int rc = ::fchmod(fd, 0600);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::Io("consent ledger: restrict database file failed");
}

std::string StringsJson(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return json::serialize(a);
}

std::string IntsJson(const std::vector<int>& v) {
  json::array a;
  for (int i : v) a.emplace_back(i);
  return json::serialize(a);
}

// Columns as this file wrote them; anything else reads as empty.
template <typename T, typename F>
std::vector<T> ParseList(const std::string& text, F get) {
  std::vector<T> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const json::value& e : v.get_array())
    if (auto x = get(e)) out.push_back(*x);
  return out;
}

LedgerEntry RowOf(Stmt& q) {
  LedgerEntry e;
  e.seq = q.Int(0);
  e.time_ms = q.Int(1);
  e.token = q.Text(2);
  e.session = q.Text(3);
  e.subject = q.Text(4);
  e.state = StateFromName(q.Text(5));
  e.source = q.Text(6);
  e.signal = q.Text(7);
  e.purposes = ParseList<std::string>(q.Text(8), [](const json::value& x) {
    return x.is_string() ? std::optional<std::string>(std::string(x.get_string())) : std::nullopt;
  });
  e.vendors = ParseList<int>(q.Text(9), [](const json::value& x) {
    return x.is_int64() ? std::optional<int>(static_cast<int>(x.get_int64())) : std::nullopt;
  });
  e.value_sha256 = q.Text(10);
  e.policy_name = q.Text(11);
  e.policy_version = q.Int(12);
  e.policy_sha256 = q.Text(13);
  e.erasure_request = q.Text(14);
  return e;
}

}  // namespace

json::object LedgerEntryJson(const LedgerEntry& e) {
  json::array purposes, vendors;
  for (const auto& p : e.purposes) purposes.emplace_back(p);
  for (int v : e.vendors) vendors.emplace_back(v);
  json::object o{{"seq", e.seq},
                 {"time", FormatRfc3339Ms(e.time_ms)},
                 {"token", e.token},
                 {"session", e.session},
                 {"subject", e.subject},
                 {"state", StateName(e.state)},
                 {"source", e.source},
                 {"signal", e.signal},
                 {"purposes", std::move(purposes)},
                 {"vendors", std::move(vendors)},
                 {"value_sha256", e.value_sha256},
                 {"policy", json::object{{"name", e.policy_name},
                                         {"version", e.policy_version},
                                         {"sha256", e.policy_sha256}}}};
  if (e.erasure_request.empty())
    o["erasure_request"] = nullptr;
  else
    o["erasure_request"] = e.erasure_request;
  return o;
}

fs::path LedgerPath(const fs::path& data_dir) { return data_dir / "consent" / "ledger.sqlite"; }

Result<std::unique_ptr<Ledger>> Ledger::Open(const fs::path& file, bool read_only) {
  if (read_only) {
    std::error_code ec;
    if (!fs::exists(file, ec))
      return Status::NotFound("consent ledger: no ledger in this data dir");
  } else {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    fs::permissions(file.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return Status::Io("consent ledger: create directory failed");
    if (Status s = CreateOwnerOnly(file); !s.ok()) return s;
  }
  sqlite3* db = nullptr;
  int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status s = Status::Io(std::string("consent ledger: open: ") + (db ? sqlite3_errmsg(db) : "?"));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<Ledger> ledger(new Ledger(db));
  if (!read_only) {
    const char* pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
    if (sqlite3_exec(db, pragmas, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqlError(db, "consent ledger schema");
  }
  return ledger;
}

Ledger::~Ledger() { sqlite3_close(db_); }

Status Ledger::Append(LedgerEntry* e) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt ins(db_,
           "INSERT INTO consent_ledger (time_ms, token, session, subject, state, source, signal, "
           "purposes, vendors, value_sha256, policy_name, policy_version, policy_sha256, "
           "erasure_request) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)");
  if (!ins.ok()) return SqlError(db_, "consent ledger insert");
  ins.Bind(1, e->time_ms).Bind(2, e->token).Bind(3, e->session).Bind(4, e->subject);
  ins.Bind(5, std::string_view(StateName(e->state))).Bind(6, e->source).Bind(7, e->signal);
  ins.Bind(8, StringsJson(e->purposes)).Bind(9, IntsJson(e->vendors)).Bind(10, e->value_sha256);
  ins.Bind(11, e->policy_name).Bind(12, e->policy_version).Bind(13, e->policy_sha256);
  ins.Bind(14, e->erasure_request);
  if (ins.Step() != SQLITE_DONE) return SqlError(db_, "consent ledger insert");
  e->seq = sqlite3_last_insert_rowid(db_);
  return Status::Ok();
}

Result<std::vector<LedgerEntry>> Ledger::Query(const char* sql,
                                               const std::vector<std::string>& args) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, sql);
  if (!q.ok()) return SqlError(db_, "consent ledger query");
  for (size_t i = 0; i < args.size(); ++i) q.Bind(static_cast<int>(i + 1), args[i]);
  std::vector<LedgerEntry> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(RowOf(q));
  if (rc != SQLITE_DONE) return SqlError(db_, "consent ledger query");
  return out;
}

Result<std::optional<LedgerEntry>> Ledger::LatestForSession(const std::string& token,
                                                            const std::string& session) {
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM consent_ledger WHERE token=?1 AND session=?2 "
                                 "ORDER BY seq DESC LIMIT 1";
  auto r = Query(sql.c_str(), {token, session});
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<LedgerEntry>();
  return std::optional<LedgerEntry>(std::move(r->front()));
}

Result<std::optional<LedgerEntry>> Ledger::LatestForSubject(const std::string& token,
                                                            const std::string& subject) {
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM consent_ledger WHERE token=?1 AND subject=?2 "
                                 "ORDER BY seq DESC LIMIT 1";
  auto r = Query(sql.c_str(), {token, subject});
  if (!r.ok()) return r.status();
  if (r->empty()) return std::optional<LedgerEntry>();
  return std::optional<LedgerEntry>(std::move(r->front()));
}

Result<std::vector<LedgerEntry>> Ledger::ForSession(const std::string& session) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + " FROM consent_ledger WHERE session=?1 ORDER BY seq";
  return Query(sql.c_str(), {session});
}

Result<std::vector<LedgerEntry>> Ledger::ForSubjects(
    const std::vector<std::pair<std::string, std::string>>& token_subjects) {
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM consent_ledger WHERE token=?1 AND subject=?2 ORDER BY seq";
  std::vector<LedgerEntry> out;
  for (const auto& [token, subject] : token_subjects) {
    if (subject.empty()) continue;
    auto r = Query(sql.c_str(), {token, subject});
    if (!r.ok()) return r.status();
    for (auto& e : *r) out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const LedgerEntry& a, const LedgerEntry& b) { return a.seq < b.seq; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const LedgerEntry& a, const LedgerEntry& b) { return a.seq == b.seq; }),
            out.end());
  return out;
}

Result<std::vector<std::string>> Ledger::Tokens() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt q(db_, "SELECT DISTINCT token FROM consent_ledger ORDER BY token");
  if (!q.ok()) return SqlError(db_, "consent ledger tokens");
  std::vector<std::string> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(q.Text(0));
  if (rc != SQLITE_DONE) return SqlError(db_, "consent ledger tokens");
  return out;
}

}  // namespace scrubd::consent
