// Through App::Handle, checked against every byte of the data dir:
// - the per-request CPU deadline (AppConfig::request_deadline): a batch past it is rejected
//   whole with 503 deadline_exceeded, counted, and nothing of it is stored;
// - CSS strings, tricked rrweb integers and autocapture element chains carry no canary into
//   the store, while selectors survive.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

struct Harness {
  explicit Harness(std::chrono::nanoseconds deadline) {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    EXPECT_TRUE(set.ok());
    store = std::move(sink::LocalStore::Open(dir.path())).value();
    dom::StateStore::Options o;
    o.dir = dir.path() / "state";
    state = std::move(dom::StateStore::Open(o)).value();
    AppConfig cfg;
    cfg.pseudonym_key = "k";
    cfg.request_deadline = deadline;
    app = std::make_unique<App>(cfg, *set, store.get(), state.get(), nullptr);
  }
  HttpResponse Post(const std::string& target, const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.headers["content-type"] = "text/plain";
    return app->Handle(r);
  }
  TempDir dir;
  std::unique_ptr<sink::LocalStore> store;
  std::unique_ptr<dom::StateStore> state;
  std::unique_ptr<App> app;
};

TEST(RequestDeadlineTest, BatchPastTheDeadlineIsRejectedWholeAndCounted) {
  Harness h(std::chrono::nanoseconds(1));
  HttpResponse r = h.Post("/s/", Fixture("0008.body"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(json::parse(r.body).at("error").as_string(), "deadline_exceeded");
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 1u);
  EXPECT_EQ(h.app->metrics().batches_ok.load(), 0u);
  auto list = h.store->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(h.Post("/e/", Fixture("0009.body")).status, 503u);  // events too
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 2u);
}

TEST(RequestDeadlineTest, TheDefaultDeadlineLetsRealBatchesThrough) {
  Harness h(AppConfig{}.request_deadline);
  EXPECT_EQ(h.Post("/s/", Fixture("0008.body")).status, 200u);
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 0u);
  auto list = h.store->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

constexpr char kRecording[] = R"J([{"event":"$snapshot","properties":{"token":"phc_t",
  "$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4","$window_id":"w1","$snapshot_data":[
  {"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[
   {"type":2,"tagName":"html","id":2,"attributes":{},"childNodes":[
    {"type":2,"tagName":"style","id":3,"attributes":{"_cssText":
      "input[name=password], [data-email], .password-field{content:\"canary.zq@example.com\"}"},
     "childNodes":[{"type":3,"id":4,"isStyle":true,
      "textContent":".avatar{background:url(https://x.test/a?email=canary.zq@example.com)}"}]},
    {"type":2,"tagName":"div","id":5,"attributes":{"class":"ph-mask"},"childNodes":[
     {"type":2,"tagName":"style","id":6,"attributes":{},"childNodes":[{"type":3,"id":7,
      "isStyle":true,"textContent":".x::after{content:'Zq9canary'}"}]}]}]}]},
   "initialOffset":{"left":0,"top":0}}},
  {"type":"2","timestamp":2,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,
   "tagName":"input","id":9,"attributes":{"type":"password","value":"Zq9canary"}}]}}},
  {"type":3,"timestamp":3,"data":{"source":8,"id":3,"note":"canary.zq@example.com",
   "adds":[{"rule":".password-field::before{content:'canary.zq@example.com'}","index":0}]}},
  {"type":3,"timestamp":4,"data":{"source":2.5,"id":5,"text":"Zq9canary"}}
  ]}}])J";

constexpr char kAutocapture[] =
    R"J([{"event":"$autocapture","properties":{"token":"phc_t",
  "distinct_id":"d1","$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4","$window_id":"w1",
  "$el_text":"Zq9canary","$elements_chain":)J"
    R"J("span:nth-child=\"1\"nth-of-type=\"1\"text=\"Zq9canary\";div.ph-no-capture:)J"
    R"J(attr__class=\"ph-no-capture\"attr__title=\"Zq9canary\"nth-child=\"1\"nth-of-type=\"1\"",)J"
    R"J(
  "$elements":[{"tag_name":"span","$el_text":"Zq9canary"},
               {"tag_name":"div","attr__class":"ph-mask","attr__title":"Zq9canary"}]}}])J";

TEST(DomSliceAppTest, CssTrickedIntegersAndAutocaptureLeaveNoCanaryInTheDataDir) {
  Harness h(AppConfig{}.request_deadline);
  ASSERT_EQ(h.Post("/s/", kRecording).status, 200u);
  ASSERT_EQ(h.Post("/e/", kAutocapture).status, 200u);
  EXPECT_EQ(h.app->metrics().events_stored.load(), 3u);  // snapshot, style rule, autocapture
  for (const char* canary : {"canary.zq@example.com", "canary.zq%40example.com", "Zq9canary"})
    EXPECT_FALSE(AnyFileContains(h.dir.path(), canary)) << canary;
  EXPECT_TRUE(AnyFileContains(h.dir.path(), "input[name=password], [data-email], .password-field"));
  EXPECT_TRUE(AnyFileContains(h.dir.path(), ".password-field::before{content:'"));
}

}  // namespace
}  // namespace scrubd::server
