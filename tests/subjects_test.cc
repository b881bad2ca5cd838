// Subject requests through the whole daemon, in process: App (router, ingest, admin roles)
// plus the subjects runtime `serve` wires (index as ingest hooks, service on its work queue,
// /admin/subjects and OpenDSR routes, PostHog eraser). Erasure follows the person across ids,
// leaves no byte of them, keeps later data out, survives a restart, waits for the upstream,
// and proves itself with a receipt that verifies; ingest racing an erasure leaves nothing.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json.hpp>
#include <sstream>
#include <thread>

#include "cli/subjects_wiring.h"
#include "dom/state_store.h"
#include "scrub/identity.h"
#include "scrubd/audit/log.h"
#include "scrubd/audit/receipt.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/canary.h"
#include "support/fake_posthog.h"
#include "support/fixtures.h"

namespace scrubd {
namespace {
namespace json = boost::json;
using server::HttpRequest;
using server::HttpResponse;

constexpr char kMaster[] = "subjects-test-master-key-000001";
constexpr char kToken[] = "phc_subjects1";
constexpr char kEmail[] = "jane.canary.zq@example.com";
constexpr char kAnon[] = "anon-0193aa10-7f2e-7c11";
constexpr char kOther[] = "person-b-77aa";
constexpr char kAnonSession[] = "0193aa10-0000-7000-8000-00000000a001";
constexpr char kIdSession[] = "0193aa10-0000-7000-8000-00000000a002";
constexpr char kDsrCanary[] = "dsr.canary.zq@example.net";
constexpr char kOtherSession[] = "0193aa10-0000-7000-8000-00000000b001";

std::string Recording(const std::string& distinct_id, const std::string& session,
                      const std::string& window, const std::string& text) {
  json::object meta{
      {"type", 4},
      {"data", json::object{{"href", "https://shop.example/p"}, {"width", 800}, {"height", 600}}},
      {"timestamp", 1764583200000}};
  json::object text_node{{"type", 3}, {"id", 3}, {"textContent", text}};
  json::object html{{"type", 2},
                    {"id", 2},
                    {"tagName", "p"},
                    {"attributes", json::object{}},
                    {"childNodes", json::array{text_node}}};
  json::object snap{
      {"type", 2},
      {"data",
       json::object{
           {"node", json::object{{"type", 0}, {"id", 1}, {"childNodes", json::array{html}}}},
           {"initialOffset", json::object{{"left", 0}, {"top", 0}}}}},
      {"timestamp", 1764583200001}};
  json::object ev{{"event", "$snapshot"},
                  {"properties", json::object{{"distinct_id", distinct_id},
                                              {"$session_id", session},
                                              {"$window_id", window},
                                              {"$snapshot_data", json::array{meta, snap}}}}};
  return json::serialize(json::object{{"api_key", kToken}, {"batch", json::array{ev}}});
}

std::string Event(const std::string& uuid, const std::string& name, json::object props) {
  props["token"] = kToken;
  json::object ev{{"uuid", uuid},
                  {"event", name},
                  {"timestamp", "2026-12-01T10:00:00Z"},
                  {"properties", std::move(props)}};
  return json::serialize(json::object{{"api_key", kToken}, {"batch", json::array{ev}}});
}

class SubjectsTest : public ::testing::Test {
 protected:
  void Start(cli::ServeConfig cfg = {}) {
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    dom::StateStore::Options so;
    so.dir = dir_.path() / "state";
    auto state = dom::StateStore::Open(so);
    ASSERT_TRUE(state.ok());
    state_ = std::move(state).value();
    server::AppConfig acfg;
    acfg.admin_token = "admin-token-1";
    acfg.admin_tokens = {{server::Role::kDsr, "dsr-token-1"},
                         {server::Role::kAuditor, "auditor-token-1"}};
    acfg.pseudonym_key = "pseudonym-key";
    acfg.policy_options = {"hash-key", kMaster};
    auto set = policies::LoadPolicySet({}, acfg.policy_options);
    ASSERT_TRUE(set.ok());
    app_ = std::make_unique<server::App>(acfg, *set, store_.get(), state_.get(), log_.get());
    auto rt = cli::SubjectsRuntime::Start(cfg, {dir_.path(), kMaster, "pseudonym-key", store_.get(),
                                                nullptr, state_.get(), log_.get(), app_.get()});
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
  }
  void Stop() {
    if (rt_) rt_->Stop();
    rt_.reset();
    app_.reset();
    state_.reset();
    store_.reset();
    if (log_) EXPECT_TRUE(log_->Close().ok());
    log_.reset();
  }
  void TearDown() override { Stop(); }

  HttpResponse Post(const std::string& path, const std::string& body) {
    HttpRequest r{"POST", path, {{"content-type", "application/json"}}, body, "127.0.0.1"};
    return app_->Handle(r);
  }
  HttpResponse Admin(const std::string& method, const std::string& path, const std::string& body,
                     const std::string& token = "admin-token-1") {
    HttpRequest r{method, path, {{"content-type", "application/json"}}, body, "127.0.0.1"};
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return app_->Handle(r);
  }
  // Submits an erasure of one identity and waits for it to leave pending / in_progress.
  json::object Forget(const std::string& type, const std::string& value) {
    json::object body{{"type", "erasure"},
                      {"identities", json::array{json::object{{"type", type}, {"value", value}}}}};
    HttpResponse r = Admin("POST", "/admin/subjects/requests", json::serialize(body));
    EXPECT_EQ(r.status, 201u) << r.body;
    std::string id(json::parse(r.body).as_object().at("request_id").as_string());
    return WaitFor(id, "completed");
  }
  json::object WaitFor(const std::string& id, const std::string& status, int seconds = 20) {
    json::object last;
    for (int i = 0; i < seconds * 20; ++i) {
      HttpResponse g = Admin("GET", "/admin/subjects/requests/" + id, "");
      last = json::parse(g.body).as_object();
      if (last.at("status").as_string() == status) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "request " << id << " never reached " << status << ": "
                  << json::serialize(last);
    return last;
  }
  bool Exported(const std::string& session) { return store_->ExportSession(session, "").ok(); }
  void RecordPersonA() {
    ASSERT_EQ(
        Post("/s/", Recording(kAnon, kAnonSession, kAnonSession, "before identify zqa")).status,
        200u);
    ASSERT_EQ(Post("/e/", Event("0193aa10-0000-7000-8000-0000000000e1", "$identify",
                                {{"distinct_id", kEmail},
                                 {"$anon_distinct_id", kAnon},
                                 {"$session_id", kIdSession},
                                 {"$window_id", kIdSession},
                                 {"$set", json::object{{"email", kEmail}}}}))
                  .status,
              200u);
    ASSERT_EQ(Post("/s/", Recording(kEmail, kIdSession, kIdSession, "after identify zqb")).status,
              200u);
    ASSERT_EQ(
        Post("/s/", Recording(kOther, kOtherSession, kOtherSession, "other person zqc")).status,
        200u);
    ASSERT_TRUE(Exported(kAnonSession) && Exported(kIdSession) && Exported(kOtherSession));
  }

  testing::TempDir dir_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<server::App> app_;
  std::unique_ptr<cli::SubjectsRuntime> rt_;
};

TEST_F(SubjectsTest, EraseByEmailFollowsTheAnonymousSessionAndLeavesNoByte) {
  Start();
  RecordPersonA();
  // An access request first: its bundle holds the person's sessions, so erasure removes it.
  json::object access{
      {"type", "access"},
      {"identities", json::array{json::object{{"type", "email"}, {"value", kEmail}}}}};
  HttpResponse a = Admin("POST", "/admin/subjects/requests", json::serialize(access));
  ASSERT_EQ(a.status, 201u) << a.body;
  std::string aid(json::parse(a.body).as_object().at("request_id").as_string());
  WaitFor(aid, "completed");
  HttpResponse bundle = Admin("GET", "/admin/subjects/requests/" + aid + "/bundle", "");
  ASSERT_EQ(bundle.status, 200u);
  EXPECT_EQ(bundle.body.substr(0, 2), "PK");
  // Raw ids never reach disk (they are pseudonymised at ingest): what erasure must remove
  // from the store and DOM state is their pseudonyms. Present before, gone after.
  const std::string pids[] = {scrub::IdentifierPseudonym(kMaster, kToken, kEmail),
                              scrub::IdentifierPseudonym(kMaster, kToken, kAnon)};
  for (const std::string& pid : pids)
    ASSERT_NE(testing::DirBytes(dir_.path() / "store").find(pid), std::string::npos) << pid;
  json::object done = Forget("email", kEmail);
  const json::object& receipt = done.at("receipt").as_object();
  const json::object& req = receipt.at("request").as_object();
  EXPECT_EQ(req.at("counts").as_object().at("access_bundles").as_int64(), 1);
  for (const std::string& pid : pids) {  // the subject index keeps them only as tombstones
    testing::ExpectAbsentEverywhere(dir_.path() / "store", pid);
    testing::ExpectAbsentEverywhere(dir_.path() / "state", pid);
  }
  EXPECT_EQ(Admin("GET", "/admin/subjects/requests/" + aid + "/bundle", "").status, 404u);
  EXPECT_EQ(req.at("counts").as_object().at("sessions").as_int64(), 2);
  EXPECT_GE(req.at("counts").as_object().at("events").as_int64(), 1);
  // Both sessions had DOM state (in memory, not yet persisted): counted and gone.
  EXPECT_EQ(req.at("counts").as_object().at("dom_state").as_int64(), 2);
  EXPECT_FALSE(state_->HoldsSession(kToken, kAnonSession));
  EXPECT_TRUE(req.at("scan").as_object().at("clean").as_bool());
  EXPECT_TRUE(req.at("scan").as_object().at("raw_identifiers_checked").as_bool());
  EXPECT_FALSE(Exported(kAnonSession));
  EXPECT_FALSE(Exported(kIdSession));
  EXPECT_TRUE(Exported(kOtherSession));  // no over-erasure
  EXPECT_TRUE(audit::VerifyReceipt(json::serialize(receipt), log_->PublicKeyPem()).ok());
  std::string tampered = json::serialize(receipt);
  tampered.replace(tampered.find("\"sessions\":2"), 12, "\"sessions\":3");
  EXPECT_FALSE(audit::VerifyReceipt(tampered, log_->PublicKeyPem()).ok());
  for (const char* gone : {kEmail, kAnon, "before identify zqa", "after identify zqb"})
    testing::ExpectAbsentEverywhere(dir_.path(), gone);
  EXPECT_NE(testing::DirBytes(dir_.path()).find("other person zqc"), std::string::npos);

  // Later data of the person: 200 (no retry), dropped before scrubbing, counted.
  EXPECT_EQ(Post("/s/", Recording(kAnon, kAnonSession, "0193aa10-0000-7000-8000-00000000a0ff",
                                  "late data zqd"))
                .status,
            200u);
  EXPECT_FALSE(Exported(kAnonSession));
  testing::ExpectAbsentEverywhere(dir_.path(), "late data zqd");
  EXPECT_NE(Admin("GET", "/metrics", "").body.find("reason=\"tombstone\"} 1"), std::string::npos);
}

TEST_F(SubjectsTest, IngestRacingAnErasureLeavesNothingOfTheSubject) {
  Start();
  RecordPersonA();
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 2000; ++i) {
      char window[64];
      std::snprintf(window, sizeof window, "0193aa10-0000-7000-8000-%012d", i);
      HttpResponse r = Post("/s/", Recording(kAnon, kAnonSession, window, "racing zqe"));
      EXPECT_EQ(r.status, 200u);
      sent++;
    }
  });
  while (sent.load() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  json::object done = Forget("distinct_id", kEmail);
  stop = true;
  writer.join();
  EXPECT_TRUE(done.at("receipt")
                  .as_object()
                  .at("request")
                  .as_object()
                  .at("scan")
                  .as_object()
                  .at("clean")
                  .as_bool());
  EXPECT_FALSE(Exported(kAnonSession));  // every batch was erased or dropped
  testing::ExpectAbsentEverywhere(dir_.path(), "racing zqe");
  EXPECT_TRUE(Exported(kOtherSession));
}

TEST_F(SubjectsTest, UpstreamErasureRetriesAcrossARestartUntilAcknowledged) {
  testing::FakePosthog posthog;
  std::string pid = scrub::IdentifierPseudonym(kMaster, kToken, kEmail);
  std::string person = posthog.AddPerson({pid});
  std::filesystem::path key = dir_.path() / "posthog.key";
  ASSERT_TRUE(sink::WriteFileDurably(key, posthog.api_key(), 0600).ok());
  cli::ServeConfig cfg;
  cfg.posthog_api_host = posthog.url();
  cfg.posthog_project_id = posthog.project_id();
  cfg.posthog_api_key_file = key.string();
  Start(cfg);
  RecordPersonA();
  posthog.FailNext(1000, 503);
  json::object body{
      {"type", "erasure"},
      {"identities", json::array{json::object{{"type", "email"}, {"value", kEmail}}}}};
  HttpResponse r = Admin("POST", "/admin/subjects/requests", json::serialize(body));
  ASSERT_EQ(r.status, 201u);
  std::string id(json::parse(r.body).as_object().at("request_id").as_string());
  // In progress with the local part done: the record carries the interim counts.
  bool interim = false;
  for (int i = 0; i < 400 && !interim; ++i) {
    interim = WaitFor(id, "in_progress").contains("progress");
    if (!interim) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(interim);
  EXPECT_FALSE(Exported(kIdSession));  // the local part is done already
  EXPECT_TRUE(posthog.HasPerson(person));
  Stop();                        // restart: the request is durable
  testing::FakePosthog healthy;  // the upstream is back (a fresh fake, no scripted faults)
  std::string person2 = healthy.AddPerson({pid});
  ASSERT_TRUE(sink::WriteFileDurably(key, healthy.api_key(), 0600).ok());
  cfg.posthog_api_host = healthy.url();
  cfg.posthog_project_id = healthy.project_id();
  Start(cfg);
  json::object done = WaitFor(id, "completed", 30);
  EXPECT_FALSE(healthy.HasPerson(person2));
  bool looked_up_by_pseudonym = false;
  for (const auto& seen : healthy.Requests()) {
    EXPECT_EQ(seen.target.find("jane"), std::string::npos) << seen.target;  // never raw
    if (seen.target.find(pid) != std::string::npos) looked_up_by_pseudonym = true;
  }
  EXPECT_TRUE(looked_up_by_pseudonym);
  const json::object& req = done.at("receipt").as_object().at("request").as_object();
  EXPECT_EQ(req.at("upstream").as_string(), "done");
  EXPECT_EQ(req.at("counts").as_object().at("sessions").as_int64(), 2);  // carried over
  EXPECT_FALSE(req.at("scan").as_object().at("raw_identifiers_checked").as_bool());
}

TEST_F(SubjectsTest, OpenDsrFlowWithRolesAndErrorShape) {
  Start();
  RecordPersonA();
  std::string id = "7d5b7f0e-4a8c-4b8e-9f3a-2c1d0e9f8a71";
  json::object body{
      {"subject_request_id", id},
      {"subject_request_type", "erasure"},
      {"regulation", "gdpr"},
      {"submitted_time", "2026-12-01T10:00:00Z"},
      {"subject_identities", json::array{json::object{{"identity_type", "controller_customer_id"},
                                                      {"identity_value", kOther},
                                                      {"identity_format", "raw"}},
                                         json::object{{"identity_type", "email"},
                                                      {"identity_value", kDsrCanary},
                                                      {"identity_format", "raw"}}}}};
  std::string text = json::serialize(body);
  std::ostringstream logs;  // every log line of the request's life
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs);
  spdlog::default_logger()->sinks().push_back(sink);
  EXPECT_EQ(Admin("POST", "/v1/requests", text, "").status, 401u);
  EXPECT_EQ(Admin("POST", "/v1/requests", text, "auditor-token-1").status, 403u);
  EXPECT_EQ(Admin("GET", "/v1/discovery", "", "dsr-token-1").status, 200u);
  HttpResponse bad = Admin("POST", "/v1/requests", R"({"subject_request_id":"x"})", "dsr-token-1");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_TRUE(json::parse(bad.body).as_object().at("error").as_object().contains("errors"));
  HttpResponse created = Admin("POST", "/v1/requests", text, "dsr-token-1");
  ASSERT_EQ(created.status, 201u) << created.body;
  json::object c = json::parse(created.body).as_object();
  EXPECT_TRUE(c.contains("expected_completion_time"));
  EXPECT_TRUE(c.contains("received_time"));
  json::object status;
  for (int i = 0; i < 400; ++i) {
    status = json::parse(Admin("GET", "/v1/requests/" + id, "", "dsr-token-1").body).as_object();
    if (status.at("request_status").as_string() == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(status.at("request_status").as_string(), "completed") << json::serialize(status);
  EXPECT_TRUE(status.contains("receipt"));
  EXPECT_FALSE(Exported(kOtherSession));
  EXPECT_TRUE(Exported(kIdSession));
  EXPECT_EQ(Admin("DELETE", "/v1/requests/" + id, "", "dsr-token-1").status, 400u);
  EXPECT_EQ(Admin("GET", "/v1/requests/" + id, "", "auditor-token-1").status, 403u);
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_NE(logs.str().find("erasure " + id), std::string::npos);  // the sink saw the run
  // The identities of a valid OpenDSR request reach no byte written, nor a log line.
  for (const char* raw : {kDsrCanary, kOther}) {
    testing::ExpectAbsentEverywhere(dir_.path(), raw);
    EXPECT_EQ(logs.str().find(raw), std::string::npos) << raw;
  }
}

TEST_F(SubjectsTest, CanaryInEveryRequestFieldNeverReachesTheAuditLogOrTheIndex) {
  Start();
  RecordPersonA();
  const std::string canary = "req.canary.zq@example.org";
  json::object body{
      {"type", "erasure"},
      {"regulation", "gdpr"},
      {"identities",
       json::array{json::object{{"type", "email"}, {"value", canary}, {"format", "raw"}},
                   json::object{{"type", "distinct_id"}, {"value", canary}}}}};
  HttpResponse r = Admin("POST", "/admin/subjects/requests", json::serialize(body));
  ASSERT_EQ(r.status, 201u);
  std::string id(json::parse(r.body).as_object().at("request_id").as_string());
  WaitFor(id, "completed");
  // Invalid bodies carrying the canary: 400 whose message never quotes it.
  for (const std::string& bad :
       {std::string(R"({"type":")") + canary + R"(","identities":[]})",
        std::string(R"({"type":"erasure","identities":[{"type":")") + canary +
            R"(","value":"x"}]})",
        std::string(R"({"type":"erasure","identities":[{"type":"email","value":"x","format":")") +
            canary + R"("}]})"}) {
    HttpResponse e = Admin("POST", "/admin/subjects/requests", bad);
    EXPECT_EQ(e.status, 400u);
    EXPECT_EQ(e.body.find(canary), std::string::npos) << e.body;
  }
  testing::ExpectAbsentEverywhere(dir_.path(), canary);
}

}  // namespace
}  // namespace scrubd

namespace scrubd {
namespace {

// Review findings: a shared session is no person link, a reused request id with another
// request is refused, and the operator's reason is never stored as text.
TEST_F(SubjectsTest, SharedSessionDoesNotMergePersonsAndReasonsAreNotKept) {
  Start();
  const std::string shared = "0193aa10-0000-7000-8000-00000000c001";
  const std::string erin_own = "0193aa10-0000-7000-8000-00000000c002";
  ASSERT_EQ(Post("/e/", Event("0193aa10-0000-7000-8000-0000000000c1", "pageview",
                              {{"distinct_id", "carol-id-1"}, {"$session_id", shared}}))
                .status,
            200u);
  ASSERT_EQ(Post("/e/", Event("0193aa10-0000-7000-8000-0000000000c2", "pageview",
                              {{"distinct_id", "erin-id-1"}, {"$session_id", shared}}))
                .status,
            200u);
  ASSERT_EQ(Post("/s/", Recording("erin-id-1", erin_own, erin_own, "erin own zqf")).status, 200u);
  const std::string reason = "asked by reason.canary.zq@example.org on the phone";
  json::object body{
      {"type", "erasure"},
      {"reason", reason},
      {"identities", json::array{json::object{{"type", "distinct_id"}, {"value", "carol-id-1"}}}}};
  HttpResponse r = Admin("POST", "/admin/subjects/requests", json::serialize(body));
  ASSERT_EQ(r.status, 201u) << r.body;
  std::string id(json::parse(r.body).as_object().at("request_id").as_string());
  json::object done = WaitFor(id, "completed");
  EXPECT_TRUE(Exported(erin_own));  // Erin shared a session with Carol, nothing more
  testing::ExpectAbsentEverywhere(dir_.path(), "reason.canary.zq");
  EXPECT_TRUE(
      done.at("receipt").as_object().at("request").as_object().at("subject_found").as_bool());
  // The same id for another kind of request: refused, not silently answered.
  json::object other{
      {"subject_request_id", id},
      {"subject_request_type", "access"},
      {"regulation", "gdpr"},
      {"submitted_time", "2026-12-01T10:00:00Z"},
      {"subject_identities", json::array{json::object{{"identity_type", "controller_customer_id"},
                                                      {"identity_value", "erin-id-1"},
                                                      {"identity_format", "raw"}}}}};
  EXPECT_EQ(Admin("POST", "/v1/requests", json::serialize(other), "dsr-token-1").status, 400u);
  EXPECT_TRUE(Exported(erin_own));
}

}  // namespace
}  // namespace scrubd

namespace scrubd {
namespace {

std::string HoldBody(json::object o) { return json::serialize(o); }

// Issue 11 section 3: a held session survives `forget`; the erasure is deferred (tombstones in,
// nothing deleted), and runs to a verifiable receipt once the hold is released.
TEST_F(SubjectsTest, HeldSessionSurvivesForgetUntilTheHoldIsReleased) {
  Start();
  RecordPersonA();
  HttpResponse h = Admin("POST", "/admin/holds",
                         HoldBody({{"session", kIdSession}, {"reason", "litigation hold 7"}}));
  ASSERT_EQ(h.status, 201u) << h.body;
  std::string hold(json::parse(h.body).as_object().at("hold_id").as_string());
  json::object body{
      {"type", "erasure"},
      {"identities", json::array{json::object{{"type", "email"}, {"value", kEmail}}}}};
  HttpResponse r = Admin("POST", "/admin/subjects/requests", json::serialize(body));
  ASSERT_EQ(r.status, 201u) << r.body;
  std::string id(json::parse(r.body).as_object().at("request_id").as_string());
  json::object deferred = WaitFor(id, "deferred");
  const json::array& holds = deferred.at("progress").as_object().at("holds").as_array();
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].as_string(), hold);
  EXPECT_TRUE(Exported(kIdSession) && Exported(kAnonSession));  // nothing deleted
  std::string audit = testing::DirBytes(dir_.path() / "audit");
  EXPECT_NE(audit.find("erasure_deferred"), std::string::npos);
  EXPECT_EQ(audit.find("erasure_completed"), std::string::npos);
  // OpenDSR knows no "deferred": the request is accepted and not finished.
  HttpResponse dsr = Admin("GET", "/v1/requests/" + id, "", "dsr-token-1");
  EXPECT_EQ(json::parse(dsr.body).as_object().at("request_status").as_string(), "in_progress");
  // Tombstones are in: later data of the person stays out while the erasure waits.
  ASSERT_EQ(Post("/s/", Recording(kAnon, kAnonSession, "0193aa10-0000-7000-8000-00000000a0fe",
                                  "late under hold zqh"))
                .status,
            200u);
  testing::ExpectAbsentEverywhere(dir_.path(), "late under hold zqh");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a Tick: no retry of deferred
  EXPECT_EQ(WaitFor(id, "deferred").at("status").as_string(), "deferred");

  HttpResponse rel = Admin("POST", "/admin/holds/" + hold + "/release", "");
  ASSERT_EQ(rel.status, 200u) << rel.body;
  json::object done = WaitFor(id, "completed");
  const json::object& receipt = done.at("receipt").as_object();
  EXPECT_TRUE(audit::VerifyReceipt(json::serialize(receipt), log_->PublicKeyPem()).ok());
  const json::object& req = receipt.at("request").as_object();
  EXPECT_EQ(req.at("counts").as_object().at("sessions").as_int64(), 2);
  EXPECT_TRUE(req.at("scan").as_object().at("clean").as_bool());
  EXPECT_FALSE(Exported(kIdSession));
  EXPECT_FALSE(Exported(kAnonSession));
  EXPECT_TRUE(Exported(kOtherSession));
  EXPECT_EQ(Admin("POST", "/admin/holds/" + hold + "/release", "").status, 400u);  // twice
}

// /admin/holds: admin places and releases, auditors may only list, dsr tokens get nothing.
// A canary in every field it accepts (reason, distinct id, session, token) reaches no log
// line and no audit byte; the raw distinct id reaches no byte on disk at all.
TEST_F(SubjectsTest, HoldRoutesCheckRolesAndKeepEveryFieldOutOfLogsAndAudit) {
  Start();
  RecordPersonA();
  std::ostringstream logs;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs);
  spdlog::default_logger()->sinks().push_back(sink);
  const std::string reason = "reason.canary.zq@example.org, counsel's request";
  const std::string person = "did.canary.zq@example.org";
  const std::string session = "0193aa10-cafe-7000-8000-00000000ca11";
  const std::string token = "phc_tokencanaryzq";
  std::string by_person = HoldBody({{"distinct_id", person}, {"reason", reason}});
  std::string by_session = HoldBody({{"session", session}, {"token", token}, {"reason", reason}});
  EXPECT_EQ(Admin("GET", "/admin/holds", "", "").status, 401u);
  EXPECT_EQ(Admin("POST", "/admin/holds", by_person, "").status, 401u);
  EXPECT_EQ(Admin("GET", "/admin/holds", "", "dsr-token-1").status, 403u);
  EXPECT_EQ(Admin("POST", "/admin/holds", by_person, "dsr-token-1").status, 403u);
  EXPECT_EQ(Admin("POST", "/admin/holds", by_person, "auditor-token-1").status, 403u);
  HttpResponse a = Admin("POST", "/admin/holds", by_person);
  ASSERT_EQ(a.status, 201u) << a.body;
  HttpResponse b = Admin("POST", "/admin/holds", by_session);
  ASSERT_EQ(b.status, 201u) << b.body;
  std::string hold_b(json::parse(b.body).as_object().at("hold_id").as_string());
  EXPECT_EQ(Admin("POST", "/admin/holds/" + hold_b + "/release", "", "auditor-token-1").status,
            403u);
  HttpResponse listed = Admin("GET", "/admin/holds", "", "auditor-token-1");
  ASSERT_EQ(listed.status, 200u);
  EXPECT_EQ(json::parse(listed.body).at("holds").as_array().size(), 2u);
  EXPECT_EQ(Admin("POST", "/admin/holds/" + hold_b + "/release", "").status, 200u);
  for (const std::string& bad :
       {HoldBody({{"distinct_id", person}, {"session", session}, {"reason", reason}}),
        HoldBody({{"distinct_id", person}, {"token", token}, {"reason", reason}}),
        HoldBody({{"session", session + "!"}, {"reason", reason}}),
        HoldBody({{"session", session}, {"reason", reason + "\n"}}),
        HoldBody({{"session", session}, {"reason", reason}, {person, token}}), "{" + reason}) {
    HttpResponse e = Admin("POST", "/admin/holds", bad);
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_EQ(json::parse(e.body).as_object().at("error").as_string(), "invalid_input");
    for (const std::string& c : {reason, person, session, token})
      EXPECT_EQ(e.body.find(c), std::string::npos) << e.body;
  }
  EXPECT_EQ(Admin("POST", "/admin/holds/" + person + "/release", "").status, 400u);
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_NE(logs.str().find(hold_b), std::string::npos);  // the sink saw the holds
  for (const std::string& c : {reason, std::string("reason.canary"), person, session, token}) {
    EXPECT_EQ(logs.str().find(c), std::string::npos) << c;
    testing::ExpectAbsentEverywhere(dir_.path() / "audit", c);
  }
  testing::ExpectAbsentEverywhere(dir_.path(), person);
  for (const char* sub : {"store", "subjects", "state", "audit"})
    testing::ExpectAbsentEverywhere(dir_.path() / sub, "reason.canary");
}

}  // namespace
}  // namespace scrubd
