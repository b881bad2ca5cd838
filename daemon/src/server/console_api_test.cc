// The console's JSON API through App::Handle: per-session redaction counts from a real
// posthog-js recording, roles (401/403, auditor read-only), strict parameters that never echo
// a value, a canary in every parameter absent from logs and the audit log, the audited
// events route, the policy in force, audit status and on-demand verification.
#include "server/console_api.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "dom/state_store.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/rfc3339.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/canary.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kDsr[] = "dsr-token-0123456789ab";
constexpr char kAuditor[] = "auditor-token-01234567";
constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kToken[] = "phc_testkey123";

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    set_ = *set;
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    auto st = dom::StateStore::Open(o);
    ASSERT_TRUE(st.ok());
    state_ = std::move(st).value();
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    AppConfig cfg;
    cfg.admin_tokens = {{Role::kAdmin, kAdmin}, {Role::kDsr, kDsr}, {Role::kAuditor, kAuditor}};
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<App>(cfg, set_, store_.get(), state_.get(), log_.get());
  }

  HttpResponse Call(const std::string& method, const std::string& target, const char* token) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.peer = "203.0.113.9";
    if (token) r.headers["authorization"] = std::string("Bearer ") + token;
    return app_->Handle(r);
  }
  json::value GetJson(const std::string& target, const char* token = kAuditor) {
    HttpResponse r = Call("GET", target, token);
    EXPECT_EQ(r.status, 200u) << target << " " << r.body;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    return v;
  }
  void Ingest() {
    HttpRequest r;
    r.method = "POST";
    r.target = "/s/";
    r.body = Fixture("0008.body");
    r.headers["content-type"] = "text/plain";
    ASSERT_EQ(app_->Handle(r).status, 200u);
  }
  // The newest entries of `type`, newest first.
  std::vector<json::object> Entries(std::string_view type) {
    std::vector<json::object> out;
    auto recent = log_->Recent(10000);
    EXPECT_TRUE(recent.ok());
    if (recent.ok())
      for (const auto& e : *recent)
        if (e.type == type) out.push_back(json::parse(e.payload).as_object());
    return out;
  }

  TempDir dir_;
  std::shared_ptr<const policies::PolicySet> set_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<App> app_;
};

TEST_F(ConsoleApiTest, SessionsListCarriesTheRecordingsRedactionCounts) {
  Ingest();
  json::object page = GetJson("/admin/api/sessions").as_object();
  EXPECT_EQ(page.at("total").as_int64(), 1);
  ASSERT_EQ(page.at("sessions").as_array().size(), 1u);
  const json::object& s = page.at("sessions").as_array()[0].as_object();
  EXPECT_EQ(s.at("session_id").as_string(), kSession);
  EXPECT_EQ(s.at("token").as_string(), kToken);
  EXPECT_EQ(s.at("duration_ms").as_int64(),
            s.at("last_ts").as_int64() - s.at("first_ts").as_int64());
  EXPECT_GT(s.at("events").as_int64(), 10);
  EXPECT_GT(s.at("bytes").as_int64(), 1000);
  EXPECT_EQ(s.at("first_url").as_string(), "http://127.0.0.1:18931/");
  const int64_t total = s.at("redactions").as_int64();
  EXPECT_GT(total, 0);
  int64_t sum = 0;
  for (const auto& [rule, n] : s.at("redactions_by_rule").as_object()) sum += n.as_int64();
  EXPECT_EQ(sum, total);
  // The batch's audit entry counted the same redactions (one session in this batch).
  std::vector<json::object> batches = Entries("batch");
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(json::value(batches[0].at("redactions_by_rule")), s.at("redactions_by_rule"));
  // Filters reach the store: another token, a URL it never visited, "no redactions".
  for (const char* q : {"?token=phc_other", "?url=%2Fnever-visited", "?redacted=0",
                        "?from=2100-01-01", "?to=1970-01-02"}) {
    json::object other = GetJson(std::string("/admin/api/sessions") + q).as_object();
    EXPECT_EQ(other.at("total").as_int64(), 0) << q;
  }
  for (const char* q : {"?token=phc_testkey123", "?url=127.0.0.1", "?redacted=1",
                        "?from=2026-01-01&to=2030-12-31", "?limit=1&offset=0"}) {
    json::object same = GetJson(std::string("/admin/api/sessions") + q).as_object();
    EXPECT_EQ(same.at("total").as_int64(), 1) << q;
  }
}

TEST_F(ConsoleApiTest, RolesAuditorReadsAdminWritesDsrSeesSubjectsOnly) {
  struct Case {
    const char* method;
    const char* target;
    const char* token;
    unsigned status;
  };
  const Case cases[] = {
      {"GET", "/admin/api/whoami", nullptr, 401},
      {"GET", "/admin/api/whoami", "not-a-known-token-000", 401},
      {"GET", "/admin/api/sessions", nullptr, 401},
      {"GET", "/admin/api/sessions", kAuditor, 200},
      {"GET", "/admin/api/sessions", kAdmin, 200},
      {"GET", "/admin/api/sessions", kDsr, 403},
      {"POST", "/admin/api/sessions", kAuditor, 403},
      {"DELETE", "/admin/api/sessions", kAuditor, 403},
      {"POST", "/admin/api/sessions", kAdmin, 405},
      {"GET", "/admin/api/policy", kAuditor, 200},
      {"GET", "/admin/api/policy", kDsr, 403},
      {"GET", "/admin/api/audit", kAuditor, 200},
      {"GET", "/admin/api/audit", kDsr, 403},
      {"POST", "/admin/api/audit/verify", kAuditor, 200},
      {"POST", "/admin/api/audit/verify", kAdmin, 200},
      {"POST", "/admin/api/audit/verify", kDsr, 403},
      {"GET", "/admin/api/audit/verify", kAuditor, 405},
      {"GET", "/admin/api/subjects/requests", kDsr, 503},  // no lists wired in this App
      {"GET", "/admin/api/subjects/requests", kAuditor, 503},
      {"POST", "/admin/api/subjects/requests", kDsr, 403},
      {"GET", "/admin/api/holds", kDsr, 403},
      {"GET", "/admin/api/nope", kAuditor, 404},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call(c.method, c.target, c.token);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << r.body;
  }
  for (auto [token, role] : {std::pair{kAdmin, "admin"}, {kDsr, "dsr"}, {kAuditor, "auditor"}}) {
    json::object who = GetJson("/admin/api/whoami", token).as_object();
    EXPECT_EQ(who, (json::object{{"role", role}}));
  }
  // Every denial is audited by route class and a path hash, never by path.
  std::vector<json::object> denied = Entries("admin_denied");
  ASSERT_FALSE(denied.empty());
  for (const json::object& e : denied) {
    ASSERT_TRUE(e.contains("route") && e.at("route").is_string()) << json::serialize(e);
    EXPECT_TRUE(e.at("route").as_string().starts_with("/admin")) << json::serialize(e);
    EXPECT_EQ(e.at("route").as_string().find('?'), json::string::npos) << json::serialize(e);
    EXPECT_TRUE(e.contains("path_hash")) << json::serialize(e);
    EXPECT_FALSE(e.contains("path")) << json::serialize(e);
  }
}

TEST_F(ConsoleApiTest, ListsAreTheSubjectsModulesOnceWired) {
  app_->SetConsoleLists(
      [](std::string_view q) {
        return HttpResponse{
            200,
            "application/json",
            std::string(R"({"requests":[],"total":0,"q":")") + std::string(q) + "\"}",
            {}};
      },
      [](std::string_view) {
        return HttpResponse{200, "application/json", R"({"holds":[]})", {}};
      });
  EXPECT_EQ(GetJson("/admin/api/subjects/requests", kDsr).at("total").as_int64(), 0);
  EXPECT_EQ(GetJson("/admin/api/subjects/requests?x=1").at("q").as_string(), "x=1");
  EXPECT_TRUE(GetJson("/admin/api/holds").at("holds").as_array().empty());
  HttpResponse r = Call("GET", "/admin/api/holds", kAuditor);
  bool no_store = false;
  for (const auto& [k, v] : r.headers)
    no_store = no_store || (k == "Cache-Control" && v == "no-store");
  EXPECT_TRUE(no_store);
}

// A bad parameter is a 400 naming the parameter, never its value.
TEST_F(ConsoleApiTest, BadParametersAreRejectedWithoutEchoingTheValue) {
  const std::string c = "canary.k7q@example.com";
  const std::string e = "canary.k7q%40example.com";
  const std::string targets[] = {
      "/admin/api/sessions?token=" + e,
      "/admin/api/sessions?from=" + e,
      "/admin/api/sessions?to=" + e,
      "/admin/api/sessions?redacted=" + e,
      "/admin/api/sessions?limit=" + e,
      "/admin/api/sessions?offset=" + e,
      "/admin/api/sessions?" + e + "=1",
      "/admin/api/sessions?token=phc_a&token=" + e,
      "/admin/api/sessions?url=" + std::string(kConsoleMaxUrlFilter + 1, 'u'),
      "/admin/api/sessions?limit=0",
      "/admin/api/sessions?limit=501",
      "/admin/api/sessions?offset=1000001",
      "/admin/api/sessions?from=2026-02-30",
      "/admin/api/sessions?from=2026-12-02&to=2026-12-01",
      "/admin/api/sessions?x=" + std::string(kConsoleMaxQueryBytes, 'q'),
      "/admin/api/sessions/" + e + "/events",
      "/admin/api/sessions/" + std::string(kSession) + "/events?token=" + e,
      "/admin/api/sessions/" + std::string(kSession) + "/events?window=" + e,
      "/admin/api/sessions/" + std::string(kSession) + "/events?" + e + "=1",
  };
  for (const std::string& t : targets) {
    HttpResponse r = Call("GET", t, kAuditor);
    EXPECT_EQ(r.status, 400u) << t << " " << r.body;
    EXPECT_NE(r.body.find("\"invalid_input\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("canary"), std::string::npos) << r.body;
  }
}

// A canary in every parameter and path segment of every route: it reaches no log line and no
// byte of the audit log, whatever the answer.
TEST_F(ConsoleApiTest, CanaryInEveryParameterReachesNoLogAndNoAuditEntry) {
  Ingest();
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  const std::string raw = "canary.z3x@example.com", e = "canary.z3x%40example.com";
  const std::string shaped = "canaryZ3xShapedLikeAnId";  // passes the id checks
  std::vector<std::string> targets;
  for (const std::string& v : {e, shaped}) {
    for (const char* k : {"token", "from", "to", "url", "redacted", "limit", "offset", "all"})
      targets.push_back("/admin/api/sessions?" + std::string(k) + "=" + v);
    targets.push_back("/admin/api/sessions?" + v + "=1");
    targets.push_back("/admin/api/sessions/" + v + "/events");
    targets.push_back("/admin/api/sessions/" + std::string(kSession) + "/events?token=" + v);
    targets.push_back("/admin/api/sessions/" + std::string(kSession) + "/events?window=" + v);
    for (const char* r : {"whoami", "policy", "audit", "holds", "subjects/requests"})
      targets.push_back("/admin/api/" + std::string(r) + "?" + v + "=" + v);
    targets.push_back("/admin/api/" + v);
  }
  for (const std::string& t : targets)
    for (const char* token : {kAuditor, kDsr, static_cast<const char*>(nullptr)}) {
      HttpResponse r = Call("GET", t, token);
      EXPECT_EQ(r.body.find("canary"), std::string::npos) << t << " " << r.body;
    }
  EXPECT_EQ(Call("POST", "/admin/api/audit/verify?" + e + "=1", kAuditor).status, 200u);
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(log_->Checkpoint().ok());
  EXPECT_EQ(captured.str().find("canary"), std::string::npos) << captured.str();
  for (const std::string& needle : {raw, e, shaped, std::string("canary")})
    EXPECT_EQ(scrubd::testing::ExpectAbsentEverywhere(dir_.path(), needle), 0u);
  EXPECT_FALSE(Entries("admin_call").empty());  // the calls were audited, without the canary
}

TEST_F(ConsoleApiTest, EventsRouteIsTheAuditedExport) {
  Ingest();
  const std::string target =
      "/admin/api/sessions/" + std::string(kSession) + "/events?token=" + kToken;
  HttpResponse r = Call("GET", target, kAuditor);
  ASSERT_EQ(r.status, 200u) << r.body;
  Result<std::string> exported = store_->ExportSession(kSession, kToken);
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ(r.body, *exported);
  std::vector<json::object> exports = Entries("export");
  ASSERT_EQ(exports.size(), 1u);
  EXPECT_EQ(exports[0].at("token").as_string(), kToken);
  EXPECT_FALSE(exports[0].at("session").as_string().empty());  // a pseudonym, not the id
  EXPECT_EQ(std::string(exports[0].at("session").as_string()).find(kSession), std::string::npos);
  EXPECT_EQ(Call("GET", "/admin/api/sessions/no-such-session/events", kAuditor).status, 404u);
  EXPECT_EQ(Entries("export").size(), 1u);  // nothing handed out, nothing audited
}

TEST_F(ConsoleApiTest, PolicyShowsTheSetInForceAndWhenItWasLoaded) {
  json::object p = GetJson("/admin/api/policy").as_object();
  ASSERT_EQ(p.at("policies").as_array().size(), set_->policies().size());
  const json::object& first = p.at("policies").as_array()[0].as_object();
  EXPECT_EQ(first.at("name").as_string(), set_->policies()[0]->name);
  EXPECT_EQ(first.at("sha256").as_string(), set_->policies()[0]->sha256);
  EXPECT_EQ(first.at("sha256").as_string().size(), 64u);
  EXPECT_EQ(first.at("file").as_string(), "<embedded>/default.yaml");
  EXPECT_EQ(first.at("version").as_int64(), set_->policies()[0]->version);
  EXPECT_TRUE(first.at("applies_to").is_array());
  const std::string before(p.at("loaded_at").as_string());
  Result<int64_t> at = ParseRfc3339Ms(before);
  ASSERT_TRUE(at.ok()) << before;
  EXPECT_EQ(app_->policies_loaded_ms() / 1000, *at / 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  app_->SwapPolicies(set_);
  EXPECT_GT(*ParseRfc3339Ms(std::string(GetJson("/admin/api/policy").at("loaded_at").as_string())),
            *at);
}

TEST_F(ConsoleApiTest, AuditShowsCheckpointNewestEntriesByTypeAndVerification) {
  for (int i = 0; i < 30; ++i) app_->Audit("console_test", "{\"i\":" + std::to_string(i) + "}");
  ASSERT_TRUE(log_->Checkpoint().ok());
  json::object a = GetJson("/admin/api/audit").as_object();
  const json::object& cp = a.at("checkpoint").as_object();
  EXPECT_GE(cp.at("size").as_int64(), 30);
  EXPECT_GE(cp.at("entries").as_int64(), cp.at("size").as_int64());
  EXPECT_EQ(cp.at("origin").as_string(), "scrubd/audit");
  EXPECT_EQ(cp.at("root").as_string().size(), 44u);  // base64 of 32 bytes
  EXPECT_NE(cp.at("note").as_string().find(cp.at("root").as_string()), std::string::npos);
  EXPECT_TRUE(a.at("last_verify").is_null());
  const json::array& mine = a.at("latest").as_object().at("console_test").as_array();
  ASSERT_EQ(mine.size(), kConsoleEntriesPerType);
  EXPECT_EQ(mine[0].at("payload").at("i").as_int64(), 29);  // newest first
  EXPECT_EQ(mine[19].at("payload").at("i").as_int64(), 10);
  EXPECT_GT(mine[0].at("seq").as_int64(), mine[1].at("seq").as_int64());
  EXPECT_TRUE(ParseRfc3339Ms(std::string(mine[0].at("at").as_string())).ok());
  EXPECT_TRUE(a.at("latest").as_object().contains("admin_call"));

  HttpResponse v = Call("POST", "/admin/api/audit/verify", kAuditor);
  ASSERT_EQ(v.status, 200u) << v.body;
  json::object result = json::parse(v.body).as_object();
  EXPECT_TRUE(result.at("ok").as_bool()) << v.body;
  EXPECT_GE(result.at("entries").as_int64(), 30);
  EXPECT_TRUE(result.at("error").is_null());
  EXPECT_EQ(GetJson("/admin/api/audit").at("last_verify"), json::value(result));
  EXPECT_EQ(Entries("audit_verify").size(), 1u);
}

// A damaged segment: the verification says so, and the entries view refuses to show
// entries that no longer match their leaf hashes (fail closed).
TEST_F(ConsoleApiTest, DamagedLogFailsVerificationAndTheEntriesView) {
  for (int i = 0; i < 5; ++i) app_->Audit("console_test", "{\"i\":" + std::to_string(i) + "}");
  ASSERT_TRUE(log_->Checkpoint().ok());
  std::filesystem::path seg;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "audit"))
    if (e.path().filename().string().starts_with("seg-")) seg = e.path();
  ASSERT_FALSE(seg.empty());
  std::string bytes = scrubd::testing::ReadFile(seg);
  size_t at = bytes.rfind("\"i\":3");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] = '7';
  std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;
  HttpResponse v = Call("POST", "/admin/api/audit/verify", kAuditor);
  ASSERT_EQ(v.status, 200u) << v.body;
  json::object result = json::parse(v.body).as_object();
  EXPECT_FALSE(result.at("ok").as_bool()) << v.body;
  EXPECT_TRUE(result.at("error").is_string());
  EXPECT_EQ(Call("GET", "/admin/api/audit", kAuditor).status, 503u);
}

}  // namespace
}  // namespace scrubd::server
