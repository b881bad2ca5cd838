// The whole ingest -> admit -> scrub -> sink flow through App::Handle, without sockets.
#include "server/app.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "dom/dom_masker.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";

class AppTest : public ::testing::Test {
 protected:
  void SetUp() override { Build({}); }

  void Build(const std::vector<std::string>& policy_files) {
    app_.reset();
    auto set = policies::LoadPolicySet(policy_files, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    if (!store_) {
      auto store = sink::LocalStore::Open(dir_.path());
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
    }
    if (!state_) {
      dom::StateStore::Options o;
      o.dir = dir_.path() / "state";
      auto st = dom::StateStore::Open(o);
      ASSERT_TRUE(st.ok()) << st.status().ToString();
      state_ = std::move(st).value();
    }
    AppConfig cfg;
    cfg.admin_token = "s3cret-admin";
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    cfg.policy_files = policy_files;
    app_ = std::make_unique<App>(cfg, *set, store_.get(), StatePtr(), nullptr);
  }

  dom::StateStore* StatePtr() { return state_.get(); }

  HttpResponse Post(const std::string& target, const std::string& body,
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.headers = std::move(headers);
    if (!r.headers.count("content-type")) r.headers["content-type"] = "text/plain";
    return app_->Handle(r);
  }

  HttpResponse Get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.headers = std::move(headers);
    return app_->Handle(r);
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<App> app_;
};

TEST_F(AppTest, SnapshotFixtureIsStoredWithoutTypedPii) {
  HttpResponse r = Post("/s/", Fixture("0008.body"));
  ASSERT_EQ(r.status, 200u) << r.body;
  Result<std::string> exported = store_->ExportSession(kSession, "");
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  json::value events = json::parse(*exported);
  ASSERT_TRUE(events.is_array());
  bool full = false;
  for (const auto& e : events.as_array()) {
    if (e.as_object().at("type").as_int64() == 2) full = true;
    EXPECT_FALSE(e.as_object().contains("cv"));
  }
  EXPECT_TRUE(full);
  // Typed email, SSN and name; the email also in console logs and mutation text.
  for (const char* planted : {"jane.doe@example.com", "078-05-1120", "\"text\":\"Jane Doe\""}) {
    EXPECT_EQ(exported->find(planted), std::string::npos) << planted;
    EXPECT_FALSE(AnyFileContains(dir_.path(), planted)) << planted;
  }
  auto info = store_->GetSession(kSession, "phc_testkey123");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->token, "phc_testkey123");
  EXPECT_EQ(info->first_url, "http://127.0.0.1:18931/");  // a URL host is not a visitor IP
  EXPECT_GT(info->events, 10);
  EXPECT_GT(info->bytes, 1000);
  EXPECT_EQ(info->first_ts, 1795352239383);
}

TEST_F(AppTest, EventFixturesAreStoredWithoutPii) {
  for (const char* f : {"0000.body", "0009.body", "0010.body", "0011.body"})
    ASSERT_EQ(Post("/e/", Fixture(f)).status, 200u) << f;
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe@example.com"));
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe%40example.com"));
}

TEST_F(AppTest, BadInputGetsJson4xxAndStoresNothing) {
  struct Case {
    std::string body;
    unsigned status;
  } cases[] = {
      {"{not json", 400},
      {std::string("\x1f\x8b\x08\x00\x00\x00", 6), 400},
      {std::string(3000, '['), 413},
      {R"([{"event":"$snapshot","properties":{"token":"phc_x"}}])", 400},
  };
  for (const auto& c : cases) {
    HttpResponse r = Post("/s/", c.body, {{"content-type", "application/json"}});
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 40);
    json::value err = json::parse(r.body);
    EXPECT_TRUE(err.as_object().contains("error"));
  }
  EXPECT_EQ(Post("/nope/", "{}").status, 404u);
  auto list = store_->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// Routing ids are stored and logged as is, so one a detector would rewrite (the reviewer's
// token `536-22-1234`, `$session_id` `4111-1111-1111-1111`) rejects the request whole.
TEST_F(AppTest, RoutingIdShapedLikePiiIsRejected) {
  const std::string ok_sid = kSession;
  struct Case {
    std::string token, sid, wid, canary;
  } cases[] = {
      {"536-22-1234", ok_sid, "", "536-22-1234"},
      {"phc_testkey123", "4111-1111-1111-1111", "", "4111-1111-1111-1111"},
      {"phc_testkey123", ok_sid, "4111-1111-1111-1111", "4111-1111-1111-1111"},
  };
  for (const auto& c : cases) {
    std::string props = R"("token":")" + c.token + R"(","$session_id":")" + c.sid + '"';
    if (!c.wid.empty()) props += R"(,"$window_id":")" + c.wid + '"';
    std::string body = R"([{"event":"$pageview","properties":{"distinct_id":"d1",)" + props +
                       R"(,"$current_url":"http://127.0.0.1/"}}])";
    HttpResponse r = Post("/e/", body, {{"content-type", "application/json"}});
    EXPECT_EQ(r.status, 400u) << c.canary << " " << r.body;
    EXPECT_EQ(json::parse(r.body).as_object().at("error").as_string(), "invalid_input") << r.body;
    EXPECT_EQ(r.body.find(c.canary), std::string::npos) << r.body;
    EXPECT_FALSE(AnyFileContains(dir_.path(), c.canary)) << c.canary;
  }
  auto list = store_->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  // The same request with clean ids is accepted.
  std::string clean = R"([{"event":"$pageview","properties":{"distinct_id":"d1",)"
                      R"("token":"phc_testkey123","$session_id":")" +
                      ok_sid + R"(","$current_url":"http://127.0.0.1/"}}])";
  EXPECT_EQ(Post("/e/", clean, {{"content-type", "application/json"}}).status, 200u);
}

TEST_F(AppTest, RemoteConfigEnablesRecording) {
  HttpResponse flags = Post("/flags/?v=2", Fixture("0004.body"));
  ASSERT_EQ(flags.status, 200u);
  json::value f = json::parse(flags.body);
  EXPECT_EQ(f.at("sessionRecording").at("endpoint").as_string(), "/s/");
  HttpResponse cfg = Get("/array/phc_testkey123/config");
  ASSERT_EQ(cfg.status, 200u);
  EXPECT_EQ(json::parse(cfg.body).at("sessionRecording").at("endpoint").as_string(), "/s/");
  HttpResponse js = Get("/array/phc_testkey123/config.js");
  EXPECT_EQ(js.content_type, "application/javascript");
  EXPECT_NE(js.body.find("_POSTHOG_REMOTE_CONFIG"), std::string::npos);
}

TEST_F(AppTest, AdminNeedsTheToken) {
  EXPECT_EQ(Get("/admin/sessions").status, 401u);
  EXPECT_EQ(Get("/admin/sessions", {{"authorization", "Bearer wrong"}}).status, 401u);
  ASSERT_EQ(Post("/s/", Fixture("0008.body")).status, 200u);
  HttpResponse list = Get("/admin/sessions", {{"authorization", "Bearer s3cret-admin"}});
  ASSERT_EQ(list.status, 200u);
  EXPECT_NE(list.body.find(kSession), std::string::npos);
  HttpResponse exp = Get(std::string("/admin/sessions/") + kSession + "/export",
                         {{"authorization", "Bearer s3cret-admin"}});
  EXPECT_EQ(exp.status, 200u);
  EXPECT_EQ(Get("/admin/sessions/export", {{"authorization", "Bearer s3cret-admin"}}).status,
            404u);  // no id between the prefix and the suffix
}

TEST_F(AppTest, GpcDropsTheBatch) {
  HttpResponse r = Post("/s/", Fixture("0008.body"), {{"sec-gpc", "1"}});
  EXPECT_EQ(r.status, 200u);  // accepted and dropped: the client must not retry
  EXPECT_FALSE(store_->ExportSession(kSession, "").ok());
}

TEST_F(AppTest, BlockingAndSamplingPolicy) {
  TempDir pdir;
  std::string policy = R"(version: 1
name: blocker
applies_to: ["phc_testkey123"]
blocking:
  events: ["$web_vitals"]
  urls: ["^http://127\\.0\\.0\\.1:18931/"]
)";
  std::ofstream(pdir.path() / "p.yaml") << policy;
  Build({(pdir.path() / "p.yaml").string()});
  EXPECT_EQ(Post("/s/", Fixture("0008.body")).status, 200u);
  EXPECT_FALSE(store_->ExportSession(kSession, "").ok());  // page URL is blocked

  std::ofstream(pdir.path() / "q.yaml") << "version: 1\nsampling: {session_rate: 0.0}\n";
  Build({(pdir.path() / "q.yaml").string()});
  EXPECT_EQ(Post("/s/", Fixture("0008.body")).status, 200u);
  EXPECT_FALSE(store_->ExportSession(kSession, "").ok());
}

TEST_F(AppTest, TokenWithoutPolicyIsDropped) {
  TempDir pdir;
  std::ofstream(pdir.path() / "p.yaml") << "version: 1\napplies_to: [phc_other]\n";
  Build({(pdir.path() / "p.yaml").string()});
  EXPECT_EQ(Post("/s/", Fixture("0008.body")).status, 200u);
  EXPECT_FALSE(store_->ExportSession(kSession, "").ok());
}

}  // namespace
}  // namespace scrubd::server
