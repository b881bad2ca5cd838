// The per-request CPU deadline through App::Handle, where the walk of one value is what
// costs: an /e/ event with one enormous nested value is rejected whole (503, counted, nothing
// of it in any byte of the data dir), and a /flags/ body past the deadline gets 503 and is
// not forwarded. The budget is checked against a baseline measured in the same run.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "sink/upstream.h"
#include "support/big_value.h"
#include "support/canary.h"
#include "support/fixtures.h"
#include "support/recording_upstream.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::EnormousValue;
using scrubd::testing::ExpectAbsentEverywhere;
using scrubd::testing::RecordingClient;
using scrubd::testing::TempDir;
using scrubd::testing::ThreadCpuMs;

constexpr char kToken[] = "phc_deadline1";
constexpr char kCanary[] = "canary.zq@example.com";

struct Harness {
  explicit Harness(std::chrono::nanoseconds deadline) {
    auto set = policies::LoadPolicySet({}, {"hash-key-0123456789abcdef", "deadline-master-key"});
    EXPECT_TRUE(set.ok());
    store = std::move(sink::LocalStore::Open(dir.path())).value();
    dom::StateStore::Options o;
    o.dir = dir.path() / "state";
    state = std::move(dom::StateStore::Open(o)).value();
    sink::UpstreamOptions uo;
    uo.url = "http://127.0.0.1:9";
    uo.spool_dir = dir.path() / "spool";
    upstream = std::move(sink::Upstream::Open(uo, &client)).value();
    AppConfig cfg;
    cfg.pseudonym_key = "k";
    cfg.request_deadline = deadline;
    cfg.upstream_and_store = true;
    app = std::make_unique<App>(cfg, *set, store.get(), state.get(), nullptr, upstream.get());
  }
  HttpResponse Post(const std::string& target, const std::string& body, double* cpu_ms) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.peer = "127.0.0.1";
    r.headers["content-type"] = "application/json";
    double t0 = ThreadCpuMs();
    HttpResponse resp = app->Handle(r);
    *cpu_ms = ThreadCpuMs() - t0;
    return resp;
  }
  TempDir dir;
  RecordingClient client;
  std::unique_ptr<sink::LocalStore> store;
  std::unique_ptr<dom::StateStore> state;
  std::unique_ptr<sink::Upstream> upstream;
  std::unique_ptr<App> app;
};

std::string EventBody(int n) {
  json::object props{{"distinct_id", "d-1"},
                     {"$session_id", "01a20355-1c58-723a-837c-2bcc756c76c4"},
                     {"$window_id", "01a20355-1c58-723a-837c-2bcc756c76c5"},
                     {"big", EnormousValue(n, kCanary)}};
  json::object ev{
      {"uuid", "01a20355-1c58-723a-837c-2bcc756c7601"}, {"event", "big"}, {"properties", props}};
  return json::serialize(json::object{{"api_key", kToken}, {"batch", json::array{ev}}});
}

std::string FlagsBody(int n) {
  return json::serialize(
      json::object{{"token", kToken}, {"distinct_id", "d-1"}, {"x", EnormousValue(n, kCanary)}});
}

TEST(WalkDeadlineAppTest, OneEnormousEventValueIsRejectedWholeWithinTheBudget) {
  const std::string body = EventBody(40000);
  double full_ms = 0, spent_ms = 0;
  {
    Harness free_app(std::chrono::nanoseconds(0));  // baseline: no deadline
    ASSERT_EQ(free_app.Post("/e/", body, &full_ms).status, 200u);
    ExpectAbsentEverywhere(free_app.dir.path(), kCanary);
  }
  const auto budget = std::chrono::microseconds(static_cast<int64_t>(full_ms * 1000 / 10));
  Harness h(budget);
  HttpResponse r = h.Post("/e/", body, &spent_ms);
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("deadline_exceeded"), std::string::npos);
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 1u);
  EXPECT_EQ(h.app->metrics().batches_ok.load(), 0u);
  auto rows = h.store->ListSessions(10);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  EXPECT_LT(spent_ms, full_ms / 3) << "full " << full_ms << " ms";
  std::printf("/e/ enormous value: full %.1f ms, budget %.1f ms, rejected after %.1f ms\n", full_ms,
              full_ms / 10, spent_ms);
  h.upstream->forwarder()->RunOnce();
  EXPECT_TRUE(h.client.seen.empty());
  ExpectAbsentEverywhere(h.dir.path(), kCanary);
  ExpectAbsentEverywhere(h.dir.path(), "canary.zq");
}

TEST(WalkDeadlineAppTest, FlagsBodyPastTheDeadlineIsNotForwarded) {
  const std::string body = FlagsBody(40000);
  double full_ms = 0, spent_ms = 0;
  {
    Harness free_app(std::chrono::nanoseconds(0));
    ASSERT_EQ(free_app.Post("/flags/?v=2", body, &full_ms).status, 200u);
    ASSERT_EQ(free_app.client.seen.size(), 1u);
    EXPECT_EQ(free_app.client.seen[0].body.find("canary.zq"), std::string::npos);
  }
  Harness h(std::chrono::microseconds(static_cast<int64_t>(full_ms * 1000 / 10)));
  HttpResponse r = h.Post("/flags/?v=2", body, &spent_ms);
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("deadline_exceeded"), std::string::npos);
  EXPECT_TRUE(h.client.seen.empty());  // nothing forwarded
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 1u);
  EXPECT_LT(spent_ms, full_ms / 3) << "full " << full_ms << " ms";
  std::printf("/flags/ enormous value: full %.1f ms, budget %.1f ms, rejected after %.1f ms\n",
              full_ms, full_ms / 10, spent_ms);
  ExpectAbsentEverywhere(h.dir.path(), "canary.zq");
  // A small body still goes through under the same deadline.
  EXPECT_EQ(h.Post("/flags/?v=2", FlagsBody(2), &spent_ms).status, 200u);
  EXPECT_EQ(h.client.seen.size(), 1u);
}

}  // namespace
}  // namespace scrubd::server
