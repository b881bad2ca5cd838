#include "admit/page_gate.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "dom/page_state.h"
#include "dom/state_store.h"
#include "support/fixtures.h"

namespace scrubd::admit {
namespace {
namespace json = boost::json;

std::shared_ptr<const policies::Policy> MakePolicy(const std::string& yaml) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\n" + yaml, {});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

ingest::Event Recording(const std::string& items) {
  ingest::Event ev;
  ev.name = "$snapshot";
  ev.token = "phc_t";
  ev.session_id = "s-1";
  ev.window_id = "w-1";
  ev.is_snapshot = true;
  ev.json = json::parse(R"({"event":"$snapshot","properties":{"$snapshot_data":[)" + items + "]}}")
                .as_object();
  return ev;
}

ingest::Event Analytics(const std::string& props, const std::string& window = "w-1") {
  ingest::Event ev;
  ev.name = "$pageview";
  ev.token = "phc_t";
  ev.session_id = "s-1";
  ev.window_id = window;
  ev.json = json::object{{"event", "$pageview"}, {"properties", json::parse(props)}};
  return ev;
}

std::string Meta(const std::string& href) {
  return R"({"type":4,"data":{"href":")" + href + R"("},"timestamp":1})";
}
std::string Nav(const std::string& tag, const std::string& href) {
  return R"({"type":5,"data":{"tag":")" + tag + R"(","payload":{"href":")" + href +
         R"("}},"timestamp":2})";
}
constexpr char kMutation[] = R"({"type":3,"data":{"source":0,"texts":[]},"timestamp":3})";

size_t Items(ingest::Event& ev) { return ingest::SnapshotItems(ev.json)->size(); }

TEST(PageGateTest, NavigationInsideOneBatchSplitsIt) {
  auto p = MakePolicy("blocking: {urls: ['/account']}\n");
  auto store = dom::StateStore::Open({}).value();
  PageGate gate(store.get());
  std::map<std::string, uint64_t> dropped;
  uint64_t in = 0;
  ingest::Event ev = Recording(Meta("https://x.test/") + "," + kMutation + "," +
                               Nav("$url_changed", "/account/7") + "," + kMutation + "," +
                               Nav("$pageview", "https://x.test/home") + "," + kMutation);
  ASSERT_TRUE(gate.Apply(ev, *p, &dropped, &in));
  EXPECT_EQ(Items(ev), 4u);  // the blocked navigation and what it showed are gone
  EXPECT_EQ(dropped["blocked_page"], 2u);
  EXPECT_EQ(in, 2u);
  ingest::Event later = Recording(kMutation);
  EXPECT_TRUE(gate.Apply(later, *p, &dropped, &in));  // the window ended on /home
}

TEST(PageGateTest, AnalyticsEventsMoveTheWindowAndPathnameCounts) {
  auto p = MakePolicy("blocking: {urls: ['^/account']}\n");
  auto store = dom::StateStore::Open({}).value();
  PageGate gate(store.get());
  std::map<std::string, uint64_t> dropped;
  uint64_t in = 0;
  ingest::Event blocked =
      Analytics(R"({"$current_url":"https://x.test/account","$pathname":"/account"})");
  EXPECT_FALSE(gate.Apply(blocked, *p, &dropped, &in));  // $pathname matches '^/account'
  ingest::Event rec = Recording(kMutation);
  EXPECT_FALSE(gate.Apply(rec, *p, &dropped, &in));  // the window is on a blocked page
  ingest::Event no_url = Analytics("{}");
  EXPECT_FALSE(gate.Apply(no_url, *p, &dropped, &in));
  ingest::Event server_side = Analytics("{}", "");
  EXPECT_TRUE(gate.Apply(server_side, *p, &dropped, &in));  // no window, no page: admitted
  ingest::Event away = Analytics(R"({"$current_url":"https://x.test/","$pathname":"/"})");
  EXPECT_TRUE(gate.Apply(away, *p, &dropped, &in));
  ingest::Event rec2 = Recording(kMutation);
  EXPECT_TRUE(gate.Apply(rec2, *p, &dropped, &in));
  EXPECT_EQ(dropped["blocked_page"], 3u);
}

TEST(PageGateTest, UnknownPageFollowsThePolicyAndRulesChangeForgetsVerdicts) {
  auto drop = MakePolicy("blocking: {urls: ['/account']}\n");
  auto allow = MakePolicy("blocking: {urls: ['/account'], unknown_url: allow}\n");
  auto other = MakePolicy("blocking: {urls: ['/other']}\n");
  auto none = MakePolicy("blocking: {urls: []}\n");
  auto store = dom::StateStore::Open({}).value();
  PageGate gate(store.get());
  std::map<std::string, uint64_t> dropped;
  uint64_t in = 0;
  ingest::Event a = Recording(kMutation);
  EXPECT_FALSE(gate.Apply(a, *drop, &dropped, &in));
  ingest::Event b = Recording(kMutation);
  EXPECT_TRUE(gate.Apply(b, *allow, &dropped, &in));
  ingest::Event c = Recording(kMutation);
  EXPECT_TRUE(gate.Apply(c, *none, &dropped, &in));  // no URL rule: nothing to track
  ingest::Event d = Recording(Meta("https://x.test/"));
  EXPECT_TRUE(gate.Apply(d, *drop, &dropped, &in));
  ingest::Event e = Recording(kMutation);
  EXPECT_FALSE(gate.Apply(e, *other, &dropped, &in));  // verdict made under other rules
  auto bad = policies::ParsePolicy("p.yaml", "version: 1\nblocking: {unknown_url: maybe}\n", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.yaml:2:25"), std::string::npos)
      << bad.status().message();
}

TEST(PageGateTest, VerdictSurvivesEvictionAndIsPersistedWithoutTheUrl) {
  // unknown_url: allow, so only the persisted verdict can keep the window blocked.
  auto p = MakePolicy("blocking: {urls: ['/account'], unknown_url: allow}\n");
  scrubd::testing::TempDir dir;
  dom::StateStore::Clock::time_point now{};
  dom::StateStore::Options o;
  o.dir = dir.path();
  o.now = [&] { return now; };
  auto store = dom::StateStore::Open(o).value();
  PageGate gate(store.get());
  std::map<std::string, uint64_t> dropped;
  uint64_t in = 0;
  ingest::Event a = Recording(Meta("https://x.test/account/czqe1"));
  EXPECT_FALSE(gate.Apply(a, *p, &dropped, &in));
  now += std::chrono::hours(1);
  ASSERT_EQ(store->EvictIdle(), 1u);
  EXPECT_EQ(store->stats().windows, 0u);
  EXPECT_FALSE(scrubd::testing::AnyFileContains(dir.path(), "czqe1"));
  EXPECT_FALSE(scrubd::testing::AnyFileContains(dir.path(), "x.test"));
  ingest::Event b = Recording(kMutation);
  EXPECT_FALSE(gate.Apply(b, *p, &dropped, &in));  // reloaded from the .dpg file
  ASSERT_TRUE(store->ForgetSession("phc_t", "s-1").ok());
  ingest::Event c = Recording(kMutation);
  EXPECT_TRUE(gate.Apply(c, *p, &dropped, &in));  // erased: unknown, and unknown_url: allow
}

TEST(PageStateTest, EncodingRoundTripsAndDamageIsCorruption) {
  dom::PageState s;
  s.Set(dom::PageState::Page::kBlocked, 42);
  std::string bytes = s.Encode("k");
  auto back = dom::PageState::Decode(bytes, "k");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->page, dom::PageState::Page::kBlocked);
  EXPECT_EQ(back->Under(42), dom::PageState::Page::kBlocked);
  EXPECT_EQ(back->Under(43), dom::PageState::Page::kUnknown);
  EXPECT_EQ(dom::PageState::Decode(bytes, "other").status().code(), Code::kNotFound);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x5a;
    EXPECT_FALSE(dom::PageState::Decode(bad, "k").ok()) << i;
  }
  EXPECT_FALSE(dom::PageState::Decode(bytes.substr(0, bytes.size() - 1), "k").ok());
}

}  // namespace
}  // namespace scrubd::admit
