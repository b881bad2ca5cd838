#include "retention/purge.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>

#include "dom/state_store.h"
#include "retention/purge_api.h"
#include "retention/rules.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/fault_env.h"
#include "scrubd/common/rfc3339.h"
#include "sink/local_store.h"
#include "sink/spool.h"
#include "subjects/subject_store.h"
#include "support/fixtures.h"

namespace scrubd::retention {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::testing::TempDir;

const int64_t kDay0 = *ParseRfc3339Ms("2026-01-01T00:00:00Z");
int64_t Day(int n) { return kDay0 + n * kMsPerDay; }

constexpr char kPolicy[] = R"(version: 1
name: lifecycle
retention:
  days: 30
  rules:
    - name: errors
      match: {event: $exception}
      days: 90
    - name: checkout
      match: {url: '^https://shop\.test/checkout'}
      days: 7
    - name: enterprise
      match: {person_property: {name: plan, value: '^enterprise$'}}
      days: 365
    - name: short-project
      match: {token: phc_short}
      days: 2
)";

// The store's clock (the received time of what is written), set by each test step.
class ClockEnv : public FaultEnv {
 public:
  uint64_t NowMicros() override { return static_cast<uint64_t>(now_ms.load()) * 1000; }
  std::atomic<int64_t> now_ms{kDay0};
};

class PurgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = sink::LocalStore::Open(dir_.path(), &env_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    auto p = policies::ParsePolicy("lifecycle.yaml", kPolicy, {});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    policies_ = std::make_shared<const policies::PolicySet>(
        std::vector<std::shared_ptr<const policies::Policy>>{*p});
  }

  // A recording chunk whose last rrweb event is at `ts`, on page `url`.
  void Record(const std::string& token, const std::string& session, int64_t ts,
              const std::string& url = "https://app.test/home", int64_t received = 0) {
    json::array a;
    a.push_back(json::object{{"type", 4}, {"data", {{"href", url}}}, {"timestamp", ts - 1000}});
    a.push_back(json::object{{"type", 3}, {"data", {{"source", 0}}}, {"timestamp", ts}});
    env_.now_ms = received ? received : ts + 1000;  // received a second later by default
    ASSERT_TRUE(store_->WriteRecording({token, session, session, "pid_" + session, &a}).ok());
  }
  void Event(const std::string& token, const std::string& session, const std::string& name,
             int64_t ts, json::object props = {}) {
    props["$session_id"] = session;
    json::object body{{"event", name}, {"uuid", "u-" + session + name}, {"properties", props}};
    sink::StoredEvent e{token,
                        session,
                        "pid_" + session,
                        "u-" + session + name,
                        name,
                        FormatRfc3339Ms(ts),
                        json::serialize(body),
                        ""};
    ASSERT_TRUE(store_->WriteEvents({e}).ok());
  }

  PurgeDeps Deps() {
    PurgeDeps d;
    d.store = store_.get();
    d.audit = log_.get();
    d.policies = policies_;
    d.data_dir = dir_.path();
    d.held_by = [this](std::string_view token, std::string_view session, std::string_view) {
      auto it = holds_.find(std::string(session));
      return it == holds_.end() ? std::string() : it->second;
    };
    return d;
  }
  Result<PurgeReport> Run(int day, bool dry_run = false) {
    PurgeOptions o;
    o.now_ms = Day(day);
    o.dry_run = dry_run;
    return RunPurge(Deps(), o);
  }
  std::set<std::string> Sessions(const std::vector<PurgeEntry>& entries) {
    std::set<std::string> out;
    for (const PurgeEntry& e : entries) out.insert(e.session_id);
    return out;
  }
  bool Stored(const std::string& token, const std::string& session) {
    return store_->GetSession(session, token).ok() &&
           fs::exists(dir_.path() / "store" / "recordings" / token / session);
  }

  TempDir dir_;
  ClockEnv env_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<audit::Log> log_;
  std::shared_ptr<const policies::PolicySet> policies_;
  std::map<std::string, std::string> holds_;  // session -> hold id
};

TEST_F(PurgeTest, FirstMatchingRuleSetsTheDaysAndDryRunChangesNothing) {
  Record("phc_a", "plain", Day(0));
  Record("phc_a", "error", Day(0));
  Event("phc_a", "error", "$exception", Day(0));
  Record("phc_a", "checkout", Day(20), "https://SHOP.test/checkout/pay");
  Record("phc_a", "enterprise", Day(0));
  Event("phc_a", "enterprise", "$identify", Day(0),
        json::object{{"$set", {{"plan", "enterprise"}}}});
  Record("phc_a", "starter", Day(0));
  Event("phc_a", "starter", "$identify", Day(0), json::object{{"$set", {{"plan", "starter"}}}});
  Record("phc_short", "short", Day(28));
  Record("phc_a", "recent", Day(25));

  auto dry = Run(31, true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(Sessions(dry->removed),
            (std::set<std::string>{"plain", "checkout", "starter", "short"}));
  std::map<std::string, std::string> rules;
  for (const PurgeEntry& e : dry->removed) {
    rules[e.session_id] = e.rule;
    if (e.session_id == "plain") {
      EXPECT_EQ(e.expires_ms, Day(30));
    }
  }
  EXPECT_EQ(rules["checkout"], "checkout");
  EXPECT_EQ(rules["plain"], "default");
  EXPECT_EQ(rules["short"], "short-project");
  EXPECT_EQ(rules["starter"], "default");
  EXPECT_TRUE(Stored("phc_a", "plain"));  // a dry run removes nothing
  EXPECT_TRUE(Stored("phc_short", "short"));

  auto real = Run(31);
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_EQ(Sessions(real->removed), Sessions(dry->removed));
  EXPECT_EQ(real->counts.sessions, 4u);
  EXPECT_EQ(real->counts.chunks, 4u);
  EXPECT_EQ(real->counts.events, 1u);  // starter's $identify
  for (const char* gone : {"plain", "checkout", "starter"}) EXPECT_FALSE(Stored("phc_a", gone));
  EXPECT_FALSE(Stored("phc_short", "short"));
  for (const char* kept : {"error", "enterprise", "recent"}) EXPECT_TRUE(Stored("phc_a", kept));

  auto again = Run(31);  // idempotent
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->removed.empty());
  EXPECT_EQ(again->counts.sessions + again->counts.files, 0u);

  auto later = Run(91);  // the $exception session's 90 days are over, the enterprise 365 not
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(Sessions(later->removed), (std::set<std::string>{"error", "recent"}));
  EXPECT_TRUE(Stored("phc_a", "enterprise"));
}

TEST_F(PurgeTest, HeldSessionsAreKeptAndListedWithTheHold) {
  Record("phc_a", "held", Day(0));
  Record("phc_a", "free", Day(0));
  holds_["held"] = "hold_0123456789abcdef";
  auto dry = Run(40, true);
  ASSERT_TRUE(dry.ok());
  ASSERT_EQ(dry->held.size(), 1u);
  EXPECT_EQ(dry->held[0].hold, "hold_0123456789abcdef");
  EXPECT_NE(dry->ToText().find("kept (held)  phc_a/held  hold=hold_0123456789abcdef"),
            std::string::npos);
  auto real = Run(40);
  ASSERT_TRUE(real.ok());
  EXPECT_TRUE(Stored("phc_a", "held"));
  EXPECT_FALSE(Stored("phc_a", "free"));
  holds_.clear();  // released: the next purge takes it
  auto after = Run(40);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Sessions(after->removed), std::set<std::string>{"held"});
}

TEST_F(PurgeTest, AClientClockAheadDoesNotKeepASessionAndLateDataRevivesIt) {
  // Timestamps from the future are clamped to the time of receipt (now, in 2026+).
  Record("phc_a", "future", int64_t{4'000'000'000'000}, "https://app.test/", Day(10));
  // One behind by decades counts from a day before its receipt: fresh data is not purged.
  Record("phc_a", "past", 1000, "https://app.test/", Day(10));
  Result<std::vector<sink::LifecycleRow>> rows = store_->SessionsLastSeenBefore(INT64_MAX);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const sink::LifecycleRow& r : *rows)
    EXPECT_EQ(r.last_ts, r.session_id == "future" ? Day(10) : Day(9)) << r.session_id;
  auto none = Run(20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->removed.empty());
  // A session purge planned as expired, which got newer data meanwhile, is kept.
  Record("phc_a", "late", Day(0));
  Record("phc_a", "late", Day(35));
  std::vector<sink::SessionKey> removed;
  auto c = store_->PurgeSessions({{{"phc_a", "late"}, Day(1)}}, &removed);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(removed.empty());
  EXPECT_TRUE(Stored("phc_a", "late"));
}

TEST_F(PurgeTest, ACrashBetweenRowsAndDirectoriesIsFinishedByTheNextRun) {
  Record("phc_a", "crash", Day(0));
  FaultSpec f;
  f.op = FaultOp::kRemove;
  f.kind = FaultKind::kEio;
  f.path_contains = "crash";
  env_.Arm(f);
  auto failed = Run(31);
  EXPECT_FALSE(failed.ok());
  env_.Clear();
  // The index no longer shows it; its files are still there until the next run.
  EXPECT_FALSE(store_->GetSession("crash", "phc_a").ok());
  EXPECT_TRUE(fs::exists(dir_.path() / "store" / "recordings" / "phc_a" / "crash"));
  // The next purge finishes it first.
  auto next = Run(31);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_GT(next->resumed, 0u);
  EXPECT_FALSE(fs::exists(dir_.path() / "store" / "recordings" / "phc_a" / "crash"));
}

TEST_F(PurgeTest, AnInterruptedPurgeIsFinishedAtOpenAndSparesASessionIndexedAgain) {
  Record("phc_a", "crash", Day(0));
  Record("phc_a", "again", Day(0));
  FaultSpec f;
  f.op = FaultOp::kRemove;
  f.kind = FaultKind::kEio;
  f.path_contains = "recordings";
  env_.Arm(f);
  EXPECT_FALSE(Run(31).ok());
  env_.Clear();
  fs::path again = dir_.path() / "store" / "recordings" / "phc_a" / "again";
  size_t old_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(again)) old_files += e.is_regular_file();
  ASSERT_EQ(old_files, 1u);
  Record("phc_a", "again", Day(40));  // the same session id gets data again before a restart
  store_.reset();
  store_ = std::move(sink::LocalStore::Open(dir_.path(), &env_)).value();  // finishes the purge
  EXPECT_FALSE(fs::exists(dir_.path() / "store" / "recordings" / "phc_a" / "crash"));
  // The new chunk stays and still exports; only the purged one went.
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(again)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  EXPECT_TRUE(store_->ExportSession("again", "phc_a").ok());
}

TEST_F(PurgeTest, AHoldPlacedAfterThePlanIsSeenByTheBatch) {
  Record("phc_a", "late-hold", Day(0));
  PurgeDeps d = Deps();
  d.held_by = nullptr;
  int calls = 0;
  d.resolve_holds = [&calls](bool* any) -> Result<PurgeDeps::HeldBy> {
    *any = ++calls > 1;  // the plan sees no hold; the batch sees one
    if (calls == 1) return PurgeDeps::HeldBy();
    return PurgeDeps::HeldBy([](std::string_view, std::string_view s, std::string_view) {
      return s == "late-hold" ? std::string("hold_00000000000000aa") : std::string();
    });
  };
  PurgeOptions o;
  o.now_ms = Day(31);
  auto r = RunPurge(d, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->removed.empty());
  ASSERT_EQ(r->held.size(), 1u);
  EXPECT_EQ(r->held[0].hold, "hold_00000000000000aa");
  EXPECT_TRUE(Stored("phc_a", "late-hold"));
}

TEST_F(PurgeTest, SessionlessEventsDeadLettersStateAndRequestsExpireToo) {
  json::object body{{"event", "$pageview"}, {"uuid", "u-loose"}, {"properties", json::object{}}};
  sink::StoredEvent loose{
      "phc_a", "", "pid_x", "u-loose", "$pageview", FormatRfc3339Ms(Day(0)), json::serialize(body),
      ""};
  env_.now_ms = Day(0);
  ASSERT_TRUE(store_->WriteEvents({loose}).ok());
  sink::Spool::Options so;
  so.dir = dir_.path() / "spool";
  so.now_ms = [] { return Day(0); };
  auto spool = std::move(sink::Spool::Open(so)).value();
  sink::SpoolRecord rec{"/e/", "text/plain", "phc_a", "b1", "", 1, 0, "body"};
  uint64_t seq = *spool->Append(rec);
  ASSERT_TRUE(spool->MoveToDead(seq, "http 400").ok());
  auto index = std::move(subjects::OpenSqliteSubjectStore(dir_.path())).value();
  subjects::RequestRecord done;
  done.id = "6f1c0a52-58a4-4b57-9e0b-1f4e0f1a2b3c";
  done.type = "access";
  done.regulation = "gdpr";
  done.status = "completed";
  done.updated_ms = Day(0);
  ASSERT_TRUE(index->PutRequest(done).ok());
  fs::create_directories(dir_.path() / "exports");
  std::ofstream(dir_.path() / "exports" / (done.id + ".zip")) << "zip";
  fs::last_write_time(dir_.path() / "exports" / (done.id + ".zip"),
                      fs::file_time_type::clock::now() - std::chrono::hours(24 * 400));

  PurgeDeps d = Deps();
  d.spool = spool.get();
  d.index = index.get();
  PurgeOptions o;
  o.now_ms = Day(31);
  auto r = RunPurge(d, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->loose_events, 1u);
  EXPECT_EQ(r->counts.dead, 1u);
  EXPECT_EQ(r->bundles, 1u);   // access bundles go after 30 days
  EXPECT_EQ(r->requests, 0u);  // the request record stays for three years
  EXPECT_FALSE(fs::exists(dir_.path() / "exports" / (done.id + ".zip")));
  EXPECT_FALSE(spool->Holds(seq));
  o.now_ms = Day(1100);
  r = RunPurge(d, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->requests, 1u);
  EXPECT_FALSE((*index->GetRequest(done.id)).has_value());
}

TEST_F(PurgeTest, TheSubjectIndexForgetsPurgedSessions) {
  Record("phc_a", "gone", Day(0));
  Record("phc_a", "kept", Day(29));
  auto index = std::move(subjects::OpenSqliteSubjectStore(dir_.path())).value();
  subjects::BatchFacts facts;
  for (const char* sid : {"gone", "kept"}) {
    subjects::EventFacts ev;
    ev.token = "phc_a";
    ev.session_id = sid;
    ev.recording = true;
    ev.nodes = {{"i:pid_person", "distinct_id", ""}, {std::string("s:") + sid, "session", ""}};
    facts.events.push_back(ev);
  }
  ASSERT_TRUE(index->Record(facts).ok());
  PurgeDeps d = Deps();
  d.index = index.get();
  PurgeOptions o;
  o.now_ms = Day(31);
  auto r = RunPurge(d, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto subject = index->Resolve({{"phc_a", "i:pid_person"}});
  ASSERT_TRUE(subject.ok());
  ASSERT_EQ(subject->parts.size(), 1u);
  EXPECT_EQ(subject->parts[0].sessions, std::vector<std::string>{"kept"});
  for (const subjects::NodeFact& n : subject->parts[0].nodes) EXPECT_NE(n.node, "s:gone");
}

TEST_F(PurgeTest, EachPurgeIsAuditedWithCountsOnly) {
  Record("phc_a", "canary-session-9d1e", Day(0));
  ASSERT_TRUE(Run(31).ok());
  log_.reset();
  EXPECT_FALSE(scrubd::testing::AnyFileContains(dir_.path() / "audit", "canary-session-9d1e"));
  EXPECT_TRUE(scrubd::testing::AnyFileContains(dir_.path() / "audit", "retention_purge"));
}

TEST_F(PurgeTest, AStoreFromBeforeLifecycleRowsIsMigratedOnceAtOpen) {
  Record("phc_a", "old", Day(0));
  Event("phc_a", "old", "$exception", Day(0));
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "store" / "index.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE lifecycle; DROP TABLE session_facts; DROP TABLE purge_pending;"
                         "PRAGMA user_version=0;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  store_ = std::move(sink::LocalStore::Open(dir_.path(), &env_)).value();
  EXPECT_EQ(store_->migrated_sessions(), 1u);
  auto r = Run(31);  // the $exception fact came back from the events rows
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->removed.empty());
  r = Run(91);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Sessions(r->removed), std::set<std::string>{"old"});
  store_.reset();
  store_ = std::move(sink::LocalStore::Open(dir_.path(), &env_)).value();
  EXPECT_EQ(store_->migrated_sessions(), 0u);  // once
}

TEST(RetentionRulesTest, ConditionsAreAndedAndAPropertyRuleReadsEventsOnlyWhenReached) {
  auto p = policies::ParsePolicy("p.yaml", R"(version: 1
retention:
  days: 30
  rules:
    - name: both
      match: {event: signup, url: '/pricing'}
      days: 60
    - name: prop
      match: {property: {name: amount, value: '^[0-9]{4,}$'}}
      days: 400
)",
                                 {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int loads = 0;
  SessionView v;
  v.token = "phc";
  v.events = {"signup"};
  v.urls = {"https://x.test/home"};
  v.load_events = [&]() -> Result<std::vector<json::object>> {
    ++loads;
    return std::vector<json::object>{json::object{{"properties", {{"amount", 12000}}}}};
  };
  auto verdict = Evaluate((*p)->retention, v);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(verdict->rule, "prop");  // `both` needs the URL too
  EXPECT_EQ(loads, 1);
  v.urls.push_back("https://x.test/pricing");
  verdict = Evaluate((*p)->retention, v);
  EXPECT_EQ(verdict->rule, "both");
  EXPECT_EQ(loads, 1);  // not reached: no load
  v.load_events = [] { return Result<std::vector<json::object>>(Status::Io("disk")); };
  v.urls.clear();
  EXPECT_FALSE(Evaluate((*p)->retention, v).ok());  // the caller keeps the session
}

}  // namespace
}  // namespace scrubd::retention

namespace scrubd::retention {
namespace {

TEST(RetentionRulesTest, IncompleteFactsTakeTheShortestOutcomeTheyAllow) {
  auto p = policies::ParsePolicy("p.yaml", R"(version: 1
retention:
  days: 30
  rules:
    - {name: checkout, match: {url: /checkout}, days: 7}
    - {name: errors, match: {event: $exception}, days: 90}
)",
                                 {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  SessionView v;
  v.token = "phc";
  v.events = {"$exception"};
  auto verdict = Evaluate((*p)->retention, v);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(verdict->rule, "errors");  // complete facts: no checkout page
  EXPECT_FALSE(verdict->uncertain);
  v.facts_complete = false;  // the checkout URL may be among the facts not kept
  verdict = Evaluate((*p)->retention, v);
  EXPECT_EQ(verdict->days, 7);
  EXPECT_EQ(verdict->rule, "checkout");
  EXPECT_TRUE(verdict->uncertain);
  v.events.clear();
  verdict = Evaluate((*p)->retention, v);  // no certain match: the default is an outcome too
  EXPECT_EQ(verdict->days, 7);
}

TEST(PurgeApiTest, BodiesAreCheckedAndNeverQuoted) {
  PurgeOptions o;
  bool text = false;
  EXPECT_TRUE(ParsePurgeBody("", 5, &o, &text).ok());
  EXPECT_EQ(o.now_ms, 5);
  EXPECT_FALSE(o.clock_given);
  ASSERT_TRUE(ParsePurgeBody(R"({"dry_run":true,"now":"2026-01-01T00:00:00Z","format":"text"})", 5,
                             &o, &text)
                  .ok());
  EXPECT_TRUE(o.dry_run && text && o.clock_given);
  for (const char* bad : {R"({"dry_run":true,"dry_run":false})", R"({"canary-zz":1})",
                          R"({"now":"canary-zz"})", R"({"dry_run":"canary-zz"})", "[1]",
                          "{\"format\":\"canary-zz\"}", "{\"now\":\"\xff\"}", "{"}) {
    PurgeOptions x;
    Status s = ParsePurgeBody(bad, 0, &x, &text);
    EXPECT_EQ(s.code(), Code::kInvalidInput) << bad;
    EXPECT_EQ(s.message().find("canary"), std::string::npos) << s.message();
  }
  int runs = 0;
  PurgeRunner run = [&runs](const PurgeOptions&) -> Result<PurgeReport> {
    ++runs;
    return PurgeReport{};
  };
  EXPECT_EQ(HandleAdminPurge(run, {"GET", "/admin/purge", ""}, 0).status, 405u);
  EXPECT_EQ(HandleAdminPurge(run, {"POST", "/admin/purgeX", ""}, 0).status, 404u);
  EXPECT_EQ(HandleAdminPurge(run, {"POST", "/admin/purge", std::string(5000, ' ')}, 0).status,
            413u);
  subjects::ApiReply bad = HandleAdminPurge(run, {"POST", "/admin/purge", "{\"x\":1}"}, 0);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(HandleAdminPurge(run, {"POST", "/admin/purge", "{}"}, 0).status, 200u);
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace scrubd::retention
