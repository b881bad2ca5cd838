// LocalStore sessions rows: reading them, the per-session redaction counts (format v3,
// STORE_FORMAT.md "Redaction counts") and the console's filtered session list ("Session
// queries"). SQLite errors become Status values; no value of a row is ever logged.
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <climits>

#include "sink/local_store.h"
#include "sink/session_rows.h"
#include "sink/sqlite_stmt.h"

namespace scrubd::sink {
namespace json = boost::json;
using sqlite::SqlError;
using sqlite::Stmt;

const char kSessionColumns[] =
    "token,session_id,distinct_id,first_ts,last_ts,first_url,bytes,events,redactions,"
    "redactions_by_rule";

SessionInfo ReadSession(Stmt& q) {
  SessionInfo s;
  s.token = q.Text(0);
  s.session_id = q.Text(1);
  s.distinct_id = q.Text(2);
  s.first_ts = q.Int(3);
  s.last_ts = q.Int(4);
  s.first_url = q.Text(5);
  s.bytes = q.Int(6);
  s.events = q.Int(7);
  if (!q.IsNull(8)) s.redactions = q.Int(8);
  if (!q.IsNull(9)) s.redactions_by_rule = ParseRuleCounts(q.Text(9));
  return s;
}

std::map<std::string, int64_t> ParseRuleCounts(std::string_view text) {
  std::map<std::string, int64_t> out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& [k, n] : v.get_object()) {
    if (n.is_int64() && n.get_int64() >= 0) out[std::string(k)] = n.get_int64();
  }
  return out;
}

void MergeRuleCounts(std::map<std::string, int64_t>* into,
                     const std::map<std::string, uint64_t>& add) {
  for (const auto& [rule, n] : add) {
    const auto count = static_cast<int64_t>(std::min<uint64_t>(n, INT32_MAX));
    bool own = rule.size() <= kMaxRuleIdBytes && rule != kOtherRules &&
               (into->count(rule) > 0 ||
                into->size() - into->count(std::string(kOtherRules)) < kMaxRulesPerSession);
    (*into)[own ? rule : std::string(kOtherRules)] += count;
  }
}

std::string RuleCountsJson(const std::map<std::string, int64_t>& counts) {
  json::object o;
  for (const auto& [k, v] : counts) o[k] = v;
  return json::serialize(o);
}

int64_t RedactionTotal(const std::map<std::string, uint64_t>* by_rule) {
  int64_t total = 0;
  if (by_rule)
    for (const auto& [k, v] : *by_rule)
      total += static_cast<int64_t>(std::min<uint64_t>(v, INT32_MAX));
  return total;
}

// Sessions stored before v3 get NULL in both columns: "not counted", never a false 0. A
// column that exists already (a store whose version was lowered by hand) is kept as it is.
Status LocalStore::MigrateRedactions() {
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt v(db_, "PRAGMA user_version");
  Status s = v.ok() && v.Step() == SQLITE_ROW ? Status::Ok() : SqlError(db_, "store version");
  const int64_t version = s.ok() ? v.Int(0) : 0;
  if (s.ok() && version > 3)
    s = Status::InvalidConfig("store index is format v" + std::to_string(version) +
                              ", newer than this scrubd (v3)");
  for (const char* col : {"redactions INTEGER", "redactions_by_rule TEXT"}) {
    if (!s.ok() || version >= 3) break;
    const std::string def(col), name = def.substr(0, def.find(' '));
    Stmt has(db_, "SELECT COUNT(*) FROM pragma_table_info('sessions') WHERE name=?1");
    if (!has.ok()) s = SqlError(db_, "store columns");
    if (s.ok() && (has.Bind(1, name).Step() != SQLITE_ROW)) s = SqlError(db_, "store columns");
    if (s.ok() && has.Int(0) == 0) s = Exec(("ALTER TABLE sessions ADD COLUMN " + def).c_str());
  }
  if (s.ok() && version < 3) s = Exec("PRAGMA user_version=3");
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) Rollback();
  return s;
}

bool LocalStore::AddRedactionsByRule(const RecordingChunk& c) {
  if (!c.redactions_by_rule || c.redactions_by_rule->empty()) return true;
  Stmt q(db_, "SELECT redactions_by_rule FROM sessions WHERE token=?1 AND session_id=?2");
  if (!q.ok()) return false;
  q.Bind(1, c.token).Bind(2, c.session_id);
  if (q.Step() != SQLITE_ROW) return false;
  if (q.IsNull(0)) return true;  // a session from before v3: its counts stay unknown
  std::map<std::string, int64_t> counts = ParseRuleCounts(q.Text(0));
  MergeRuleCounts(&counts, *c.redactions_by_rule);
  Stmt up(db_, "UPDATE sessions SET redactions_by_rule=?3 WHERE token=?1 AND session_id=?2");
  if (!up.ok()) return false;
  up.Bind(1, c.token).Bind(2, c.session_id).Bind(3, RuleCountsJson(counts));
  return up.Step() == SQLITE_DONE;
}

namespace {

// ?1 token, ?2 from, ?3 to, ?4 url, ?5 redacted (-1 any, 0, 1).
constexpr char kSessionFilter[] =
    " FROM sessions s WHERE (?1='' OR s.token=?1) AND (?2=0 OR s.last_ts>=?2)"
    " AND (?3=0 OR s.first_ts<=?3)"
    " AND (?4='' OR instr(s.first_url,?4)>0 OR EXISTS(SELECT 1 FROM session_facts f"
    " WHERE f.token=s.token AND f.session_id=s.session_id AND f.kind=1 AND instr(f.value,?4)>0))"
    " AND (?5=-1 OR (?5=1 AND s.redactions>0) OR (?5=0 AND s.redactions=0))";

void BindFilter(Stmt& q, const SessionQuery& f) {
  q.Bind(1, f.token).Bind(2, f.from_ms).Bind(3, f.to_ms).Bind(4, f.url);
  q.Bind(5, static_cast<int64_t>(f.redacted ? (*f.redacted ? 1 : 0) : -1));
}

}  // namespace

Result<SessionPage> LocalStore::QuerySessions(const SessionQuery& f) {
  std::lock_guard<std::mutex> lock(mu_);
  SessionPage page;
  Stmt n(db_, (std::string("SELECT COUNT(*)") + kSessionFilter).c_str());
  if (!n.ok()) return SqlError(db_, "count sessions");
  BindFilter(n, f);
  if (n.Step() != SQLITE_ROW) return SqlError(db_, "count sessions");
  page.total = n.Int(0);
  Stmt q(db_, (std::string("SELECT ") + kSessionColumns + kSessionFilter +
               " ORDER BY s.first_ts DESC, s.token, s.session_id LIMIT ?6 OFFSET ?7")
                  .c_str());
  if (!q.ok()) return SqlError(db_, "query sessions");
  BindFilter(q, f);
  q.Bind(6, f.limit).Bind(7, f.offset);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) page.sessions.push_back(ReadSession(q));
  if (rc != SQLITE_DONE) return SqlError(db_, "query sessions");
  return page;
}

}  // namespace scrubd::sink
