// masking.urls and page-level blocking through App::Handle: canaries planted in every URL
// position and on blocked pages must be absent from every byte of the data dir.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/canary.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::ExpectAbsentEverywhere;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kWindow[] = "01a20355-1c58-723a-837c-2bcc756c7600";

std::string Props(const std::string& window) {
  return std::string(R"("token":"phc_testkey123","$session_id":")") + kSession +
         R"(","$window_id":")" + window + R"(","distinct_id":"d-1")";
}

std::string Snap(const std::string& items, const std::string& window = kWindow) {
  return R"([{"event":"$snapshot","uuid":"0190f7a5-0000-7000-8000-000000000001","properties":{)" +
         Props(window) + R"(,"$snapshot_data":[)" + items + "]}}]";
}

std::string Pageview(const std::string& url, const std::string& path, const std::string& extra,
                     const std::string& name = "$pageview") {
  return R"([{"event":")" + name +
         R"(","uuid":"0190f7a5-0000-7000-8000-000000000002","timestamp":"2026-01-01T00:00:00Z",)"
         R"("properties":{)" +
         Props(kWindow) + R"(,"$current_url":")" + url + R"(","$pathname":")" + path + "\"" +
         extra + "}}]";
}

std::string Meta(const std::string& href) {
  return R"({"type":4,"data":{"href":")" + href + R"(","width":800,"height":600},"timestamp":1})";
}

std::string Full(const std::string& text, const std::string& body_attrs = "",
                 const std::string& children = "") {
  return R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,)"
         R"("tagName":"html","attributes":{},"childNodes":[{"type":2,"id":3,"tagName":"body",)"
         R"("attributes":{)" +
         body_attrs + R"(},"childNodes":[{"type":3,"id":4,"textContent":")" + text + "\"}" +
         children + R"(]}]}]},"initialOffset":{"left":0,"top":0}},"timestamp":2})";
}

std::string Text(const std::string& value) {
  return R"({"type":3,"data":{"source":0,"texts":[{"id":4,"value":")" + value +
         R"("}],"attributes":[],"removes":[],"adds":[]},"timestamp":3})";
}

// A custom event: no DOM rule masks its payload, so only the page gate can keep it out.
std::string Note(const std::string& value) {
  return R"({"type":5,"data":{"tag":"note","payload":{"m":")" + value + R"("}},"timestamp":5})";
}

std::string Nav(const std::string& href, const std::string& tag = "$url_changed") {
  return R"({"type":5,"data":{"tag":")" + tag + R"(","payload":{"href":")" + href +
         R"("}},"timestamp":4})";
}

class AppUrlsTest : public ::testing::Test {
 protected:
  void Build(const std::string& policy_yaml, bool persistent_state = true) {
    app_.reset();
    std::ofstream(pdir_.path() / "p.yaml") << "version: 1\nname: urls\n" << policy_yaml;
    auto set = policies::LoadPolicySet({(pdir_.path() / "p.yaml").string()},
                                       {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    if (!store_) store_ = sink::LocalStore::Open(dir_.path()).value();
    if (!state_) {
      dom::StateStore::Options o;
      if (persistent_state) o.dir = dir_.path() / "state";
      o.now = [this] { return now_; };
      state_ = dom::StateStore::Open(o).value();
    }
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<App>(cfg, *set, store_.get(), state_.get(), nullptr);
  }

  // Shutdown and start again on the same data dir (state persisted by PersistAll).
  void Restart(const std::string& policy_yaml) {
    app_.reset();
    ASSERT_TRUE(state_->PersistAll().ok());
    state_.reset();
    store_.reset();
    Build(policy_yaml);
  }

  unsigned Post(const std::string& target, const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.headers["content-type"] = "application/json";
    return app_->Handle(r).status;
  }

  std::string Exported() {
    auto e = store_->ExportSession(kSession, "");
    return e.ok() ? *e : "";
  }

  bool OnDisk(const std::string& needle) { return AnyFileContains(dir_.path(), needle); }

  TempDir dir_, pdir_;
  dom::StateStore::Clock::time_point now_{};
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<App> app_;
};

constexpr char kUrlPolicy[] = R"(masking:
  urls:
    deny_params: [secret]
    path_templates: ["/users/:id"]
    strip_fragment: true
)";

TEST_F(AppUrlsTest, CanaryInEveryUrlPositionIsGone) {
  Build(kUrlPolicy);
  const std::string u = "https://shop.test/users/";
  std::string children =
      R"(,{"type":2,"id":5,"tagName":"a","attributes":{"href":")" + u +
      R"(czqp3?secret=czqq3"},"childNodes":[]},{"type":2,"id":6,"tagName":"img","attributes":)"
      R"({"src":"/i.png?secret=czqq4&w=1","srcset":"/i.png?secret=czqq5 2x"},"childNodes":[]},)"
      R"({"type":2,"id":7,"tagName":"form","attributes":{"action":"/users/czqp6#czqf6"},)"
      R"("childNodes":[{"type":2,"id":8,"tagName":"button","attributes":{"formaction":)"
      R"("/f?secret=czqq7"},"childNodes":[]}]})";
  std::string mutation =
      R"({"type":3,"data":{"source":0,"texts":[],"removes":[],"attributes":[{"id":5,)"
      R"("attributes":{"href":"/users/czqp8?secret=czqq8"}}],"adds":[{"parentId":3,"nextId":null,)"
      R"("node":{"type":2,"id":9,"tagName":"a","attributes":{"href":"/x?secret=czqq9"},)"
      R"("childNodes":[]}}]},"timestamp":5})";
  std::string network =
      R"({"type":6,"data":{"plugin":"rrweb/network@1","payload":{"requests":[{"name":")"
      R"(https://api.test/users/czqp10?secret=czqq10&page=2","method":"GET",)"
      R"("initiatorType":"fetch","startTime":1,"endTime":2}]}},"timestamp":6})";
  ASSERT_EQ(Post("/s/", Snap(Meta(u + "czqp1?secret=czqq1&page=2#czqf1") + "," +
                             Full("hello", "", children) + "," + mutation + "," + network + "," +
                             Nav(u + "czqp2?secret=czqq2#czqf2"))),
            200u);
  ASSERT_EQ(Post("/e/", Pageview(u + "czqp11?secret=czqq11&page=2#czqf11", "/users/czqp12",
                                 R"(,"$referrer":"https://ref.test/?secret=czqq13#czqf13",)"
                                 R"("$set_once":{"$initial_referrer":"/?SECRET=czqq14"})")),
            200u);
  for (const char* kind : {"czqp", "czqq", "czqf"})
    for (int i = 1; i <= 14; ++i) {
      std::string canary = kind + std::to_string(i);
      EXPECT_FALSE(OnDisk(canary)) << canary;  // (not every position has all three parts)
    }
  EXPECT_FALSE(OnDisk("secret=")) << "a denied parameter survived";
  std::string out = Exported();
  EXPECT_NE(out.find("https://shop.test/users/:id?page=2"), std::string::npos) << out;
  EXPECT_NE(out.find("/i.png?w=1"), std::string::npos);       // allowed param survives
  EXPECT_TRUE(OnDisk("https://shop.test/users/:id?page=2"));  // the /e/ event too
  auto info = store_->GetSession(kSession, "phc_testkey123");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->first_url, "https://shop.test/users/:id?page=2");
}

TEST_F(AppUrlsTest, FixtureQueryParameterIsRemoved) {
  Build("masking:\n  urls: {deny_params: [email]}\n");
  // 0011: a real posthog-js $pageview of index.html?email=jane.doe%40example.com
  ASSERT_EQ(Post("/e/", scrubd::testing::Fixture("0011.body")), 200u);
  EXPECT_FALSE(OnDisk("email="));
  EXPECT_FALSE(OnDisk("jane.doe"));
  EXPECT_TRUE(OnDisk(":18931/index.html\""));  // the URL itself is kept, query gone
}

TEST_F(AppUrlsTest, AllowListRemovesEveryOtherParameter) {
  Build("masking:\n  urls: {allow_params: [utm_source]}\n");
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/?utm_source=news&q=czqa1&czqa2=1") + "," +
                             Full("hello"))),
            200u);
  EXPECT_FALSE(OnDisk("czqa1"));
  EXPECT_FALSE(OnDisk("czqa2"));
  EXPECT_EQ(store_->GetSession(kSession, "phc_testkey123")->first_url,
            "https://shop.test/?utm_source=news");
}

constexpr char kBlockPolicy[] = "blocking:\n  urls: ['/account(/|$)']\n";

TEST_F(AppUrlsTest, BlockedPageDropsLaterBatchesWithoutMeta) {
  Build(kBlockPolicy);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/account") + "," + Full("czqb0"))), 200u);
  for (int i = 1; i <= 3; ++i)
    ASSERT_EQ(Post("/s/", Snap(Text("x") + "," + Note("czqb" + std::to_string(i)))), 200u);
  EXPECT_EQ(Exported(), "");
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/home") + "," + Full("czqok"))), 200u);
  ASSERT_EQ(Post("/s/", Snap(Text("czqok2") + "," + Note("czqok3"))), 200u);
  for (int i = 0; i <= 3; ++i) EXPECT_FALSE(OnDisk("czqb" + std::to_string(i))) << i;
  EXPECT_FALSE(OnDisk("shop.test/account"));
  EXPECT_NE(Exported().find("czqok2"), std::string::npos);  // resumed after navigating away
  EXPECT_NE(Exported().find("czqok3"), std::string::npos);
}

// blocking.urls matches the canonical URL (admit/url_canon.h): no encoding of the blocked
// page escapes the pattern, whether it arrives as a Meta href, a navigation or $current_url,
// and an allowed page is still stored. Each encoding gets its own window.
TEST_F(AppUrlsTest, EncodingsOfABlockedUrlAreAllBlocked) {
  Build("blocking:\n  urls: ['/account(/|$)']\n");
  const std::vector<std::string> hrefs = {"https://shop.test/Account%2Fsettings",
                                          "https://shop.test/%61ccount",
                                          "https://shop.test/ACCOUNT",
                                          "HTTPS://SHOP.TEST/AcCoUnT/7",
                                          "https://shop.test/a/../account",
                                          "https://shop.test/a/%2e%2e/account/",
                                          "https://shop.test//account",
                                          "https://shop.test/x//..//account",
                                          "https://shop.test\\\\account",
                                          "https://shop.test/%2561ccount",
                                          "https://shop.test/acc\\nount",
                                          "/Account%2F"};
  for (size_t i = 0; i < hrefs.size(); ++i) {
    char window[40];
    std::snprintf(window, sizeof window, "01a20355-1c58-723a-837c-2bcc756c77%02zu", i);
    const std::string canary = "czqenc" + std::to_string(i);
    ASSERT_EQ(Post("/s/", Snap(Meta(hrefs[i]) + "," + Full(canary), window)), 200u) << hrefs[i];
    ASSERT_EQ(Post("/s/", Snap(Nav(hrefs[i]) + "," + Note(canary + "n"), window)), 200u);
  }
  ASSERT_EQ(Post("/e/", Pageview("https://shop.test/%41ccount", "/ACCOUNT", R"(,"m":"czqencpv")")),
            200u);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/accounts-overview") + "," + Full("czqokx"),
                             "01a20355-1c58-723a-837c-2bcc756c7799")),
            200u);
  for (size_t i = 0; i < hrefs.size(); ++i) {
    ExpectAbsentEverywhere(dir_.path(), "czqenc" + std::to_string(i));
    ExpectAbsentEverywhere(dir_.path(), "czqenc" + std::to_string(i) + "n");
  }
  ExpectAbsentEverywhere(dir_.path(), "czqencpv");
  EXPECT_TRUE(OnDisk("czqokx"));  // an allowed page is stored
}

TEST_F(AppUrlsTest, SpaNavigationIntoBlockedUrlAndBack) {
  Build(kBlockPolicy);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqok0"))), 200u);
  ASSERT_EQ(Post("/s/", Snap(Nav("https://shop.test/account/7") + "," + Text("czqs1"))), 200u);
  ASSERT_EQ(Post("/s/", Snap(Text("czqs2"))), 200u);
  ASSERT_EQ(Post("/s/", Snap(Nav("/home", "$pageview") + "," + Text("czqok3"))), 200u);
  // Analytics: a $pageview into the blocked page moves the window there too.
  ASSERT_EQ(Post("/e/", Pageview("https://shop.test/account", "/account", R"(,"m":"czqs4")")),
            200u);
  ASSERT_EQ(Post("/s/", Snap(Text("czqs5") + "," + Note("czqs6"))), 200u);
  ASSERT_EQ(Post("/e/", Pageview("https://shop.test/", "/", R"(,"m":"czqok6")", "$pageleave")),
            200u);
  ASSERT_EQ(Post("/s/", Snap(Text("czqok7"))), 200u);
  for (const char* c : {"czqs1", "czqs2", "czqs4", "czqs5", "czqs6", "account"})
    EXPECT_FALSE(OnDisk(c)) << c;
  for (const char* c : {"czqok0", "czqok3", "czqok6", "czqok7"}) EXPECT_TRUE(OnDisk(c)) << c;
}

TEST_F(AppUrlsTest, RestartKeepsBlocking) {
  // unknown_url: allow, so only the persisted verdict can keep the window blocked.
  const std::string policy = std::string(kBlockPolicy) + "  unknown_url: allow\n";
  Build(policy);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/account") + "," + Full("czqr0"))), 200u);
  Restart(policy);
  ASSERT_EQ(Post("/s/", Snap(Text("x") + "," + Note("czqr1"))), 200u);
  EXPECT_FALSE(OnDisk("czqr0"));
  EXPECT_FALSE(OnDisk("czqr1"));
  EXPECT_FALSE(OnDisk("shop.test"));  // the state keeps the verdict, never the URL
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqok"))), 200u);
  EXPECT_TRUE(OnDisk("czqok"));
}

TEST_F(AppUrlsTest, UnknownOrEvictedWindowDropsByDefault) {
  Build(kBlockPolicy, /*persistent_state=*/false);
  ASSERT_EQ(Post("/s/", Snap(Note("czqu1"), "01a20355-1c58-723a-837c-2bcc756c7601")), 200u);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqok"))), 200u);
  now_ += std::chrono::hours(1);
  ASSERT_GE(state_->EvictIdle(), 1u);  // memory-only state: the page is forgotten
  ASSERT_EQ(Post("/s/", Snap(Note("czqu2"))), 200u);
  EXPECT_FALSE(OnDisk("czqu1"));
  EXPECT_FALSE(OnDisk("czqu2"));
  EXPECT_TRUE(OnDisk("czqok"));
}

TEST_F(AppUrlsTest, UnknownWindowIsStoredWhenAllowed) {
  Build(std::string(kBlockPolicy) + "  unknown_url: allow\n", /*persistent_state=*/false);
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqok"))), 200u);
  now_ += std::chrono::hours(1);
  ASSERT_GE(state_->EvictIdle(), 1u);
  ASSERT_EQ(Post("/s/", Snap(Note("czqallowed"))), 200u);
  EXPECT_TRUE(OnDisk("czqallowed"));
}

TEST_F(AppUrlsTest, SamplingAppliesToRecordingsOnly) {
  Build("sampling: {session_rate: 0.0}\n");
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqrec"))), 200u);
  ASSERT_EQ(Post("/e/", Pageview("https://shop.test/", "/", R"(,"m":"czqevent")")), 200u);
  EXPECT_FALSE(OnDisk("czqrec"));
  EXPECT_TRUE(OnDisk("czqevent"));
}

TEST_F(AppUrlsTest, SamplingAppliesToAllWhenConfigured) {
  Build("sampling: {session_rate: 0.0, applies_to: all}\n");
  ASSERT_EQ(Post("/s/", Snap(Meta("https://shop.test/") + "," + Full("czqrec"))), 200u);
  ASSERT_EQ(Post("/e/", Pageview("https://shop.test/", "/", R"(,"m":"czqevent")")), 200u);
  EXPECT_FALSE(OnDisk("czqrec"));
  EXPECT_FALSE(OnDisk("czqevent"));
}

}  // namespace
}  // namespace scrubd::server
