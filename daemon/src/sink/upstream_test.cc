#include "sink/upstream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <fstream>
#include <thread>

#include "ingest/decode.h"
#include "ingest/gzip.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using scrubd::testing::TempDir;
using std::chrono::milliseconds;

// Scripted upstream: each Exchange pops the next answer (a status, or 0 for a network error).
class FakeClient : public UpstreamClient {
 public:
  std::deque<unsigned> script;
  std::vector<UpstreamRequest> seen;
  std::vector<std::pair<std::string, std::string>> reply_headers;
  std::atomic<int> calls{0};
  Result<UpstreamResponse> Exchange(const UpstreamRequest& req) override {
    seen.push_back(req);
    calls++;
    unsigned st = script.empty() ? 200 : script.front();
    if (!script.empty()) script.pop_front();
    if (st == 0) return Status::Unavailable("connection refused");
    UpstreamResponse r;
    r.status = st;
    r.headers = reply_headers;
    return r;
  }
};

SpoolRecord Rec(const std::string& body) {
  SpoolRecord r;
  r.target = "/s/?compression=gzip-js";
  r.content_type = "text/plain";
  r.token = "phc_a";
  r.batch_id = "b";
  r.body = body;
  return r;
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Spool::Options o;
    o.dir = dir_.path() / "spool";
    auto s = Spool::Open(o);
    ASSERT_TRUE(s.ok());
    spool_ = std::move(s).value();
    fwd_ = std::make_unique<Forwarder>(spool_.get(), &client_,
                                       BackoffPolicy{milliseconds(100), milliseconds(1000)},
                                       [] { return 1.0; });  // deterministic: upper bound
  }
  TempDir dir_;
  std::unique_ptr<Spool> spool_;
  FakeClient client_;
  std::unique_ptr<Forwarder> fwd_;
};

TEST_F(ForwarderTest, DeliversInOrderAndDeletesOn2xx) {
  for (const char* b : {"one", "two", "three"}) ASSERT_TRUE(spool_->Append(Rec(b)).ok());
  client_.script = {200, 202, 204};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kDelivered);
  EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kIdle);
  ASSERT_EQ(client_.seen.size(), 3u);
  EXPECT_EQ(client_.seen[0].body, "one");
  EXPECT_EQ(client_.seen[1].body, "two");
  EXPECT_EQ(client_.seen[2].body, "three");
  EXPECT_EQ(client_.seen[0].target, "/s/?compression=gzip-js");
  EXPECT_EQ(client_.seen[0].method, "POST");
  EXPECT_EQ(spool_->stats().pending_files, 0u);
  EXPECT_EQ(fwd_->counters().delivered, 3u);
}

TEST_F(ForwarderTest, RetriesNetworkErrors5xxAnd429WithGrowingBackoffThenDelivers) {
  ASSERT_TRUE(spool_->Append(Rec("first")).ok());
  ASSERT_TRUE(spool_->Append(Rec("second")).ok());
  client_.script = {0, 503, 429, 500, 408, 0, 200, 200};
  std::vector<int64_t> delays;
  for (int i = 0; i < 6; ++i) {
    Forwarder::Step s = fwd_->RunOnce();
    ASSERT_EQ(s.outcome, Forwarder::Outcome::kRetry) << i;
    EXPECT_EQ(s.seq, 1u);  // the oldest file blocks the rest: order is kept
    delays.push_back(s.delay.count());
  }
  EXPECT_EQ(delays, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  EXPECT_EQ(spool_->stats().pending_files, 2u);  // nothing lost while the upstream is down
  EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kDelivered);
  EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kDelivered);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(client_.seen[i].body, "first");
  EXPECT_EQ(client_.seen[7].body, "second");
  EXPECT_EQ(fwd_->counters().retries, 6u);
  EXPECT_EQ(fwd_->counters().network_errors, 2u);
  // The backoff restarts after a success.
  ASSERT_TRUE(spool_->Append(Rec("third")).ok());
  client_.script = {503};
  EXPECT_EQ(fwd_->RunOnce().delay.count(), 100);
}

TEST_F(ForwarderTest, RetryAfterIsHonouredUpToTheCap) {
  ASSERT_TRUE(spool_->Append(Rec("x")).ok());
  client_.script = {429};
  client_.reply_headers = {{"retry-after", "1"}};
  EXPECT_EQ(fwd_->RunOnce().delay.count(), 1000);
}

TEST_F(ForwarderTest, OtherClientErrorsAreDeadLetteredAndTheNextFileFlows) {
  ASSERT_TRUE(spool_->Append(Rec("bad")).ok());
  ASSERT_TRUE(spool_->Append(Rec("good")).ok());
  client_.script = {400, 200};
  Forwarder::Step s = fwd_->RunOnce();
  EXPECT_EQ(s.outcome, Forwarder::Outcome::kDead);
  EXPECT_EQ(s.http_status, 400u);
  EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kDelivered);
  EXPECT_TRUE(fs::exists(dir_.path() / "spool" / "dead" / "00000000000000000001.req"));
  EXPECT_EQ(spool_->stats().dead_files, 1u);
  EXPECT_EQ(fwd_->counters().dead, 1u);
  EXPECT_EQ(client_.seen.back().body, "good");
}

TEST_F(ForwarderTest, CorruptFileIsDeadLetteredWithoutBeingSent) {
  ASSERT_TRUE(spool_->Append(Rec("payload")).ok());
  fs::path p = dir_.path() / "spool" / "00000000000000000001.req";
  std::string text = scrubd::testing::ReadFile(p);
  text.back() = '!';
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  EXPECT_EQ(fwd_->RunOnce().outcome, Forwarder::Outcome::kDead);
  EXPECT_TRUE(client_.seen.empty());
  EXPECT_EQ(spool_->stats().corrupt_files, 1u);
  EXPECT_NE(
      scrubd::testing::ReadFile(dir_.path() / "spool" / "dead" / "00000000000000000001.reason")
          .find("corrupt"),
      std::string::npos);
}

TEST_F(ForwarderTest, ThreadDeliversAndStopsPromptlyDuringBackoff) {
  client_.script = {503};
  fwd_ = std::make_unique<Forwarder>(spool_.get(), &client_,
                                     BackoffPolicy{milliseconds(60000), milliseconds(60000)});
  fwd_->Start();
  ASSERT_TRUE(spool_->Append(Rec("a")).ok());
  auto start = std::chrono::steady_clock::now();
  while (client_.calls == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
    std::this_thread::sleep_for(milliseconds(5));
  std::this_thread::sleep_for(milliseconds(50));
  fwd_->Stop();  // in a 30-60 s backoff: must not wait it out
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(spool_->stats().pending_files, 1u);  // kept for the next start
}

TEST(BackoffTest, ExponentialWithJitterAndCap) {
  BackoffPolicy p{milliseconds(500), milliseconds(60000)};
  EXPECT_EQ(BackoffDelay(p, 1, 0.0).count(), 250);
  EXPECT_EQ(BackoffDelay(p, 1, 1.0).count(), 500);
  EXPECT_EQ(BackoffDelay(p, 3, 0.0).count(), 1000);
  EXPECT_EQ(BackoffDelay(p, 3, 1.0).count(), 2000);
  EXPECT_EQ(BackoffDelay(p, 40, 1.0).count(), 60000);
  EXPECT_EQ(BackoffDelay(p, 1000, 0.0).count(), 30000);
}

TEST(UpstreamUrlTest, ParsesAndRejects) {
  auto u = ParseUpstreamUrl("https://eu.i.posthog.com");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "eu.i.posthog.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->path_prefix, "");
  u = ParseUpstreamUrl("http://127.0.0.1:8123/ingest/");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, "8123");
  EXPECT_EQ(u->path_prefix, "/ingest");
  u = ParseUpstreamUrl("http://[::1]:9000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  for (const char* bad : {"ftp://x", "eu.i.posthog.com", "https://", "https://u:p@h",
                          "https://h/?q=1", "https://h:0", "https://h:99999", "https://h x"}) {
    auto r = ParseUpstreamUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidConfig) << bad;
    }
  }
}

TEST(EncodeTest, ReencodedFieldsDecodeBackToTheCleanedValues) {
  json::object full = json::parse(R"({"type":2,"timestamp":1,"data":{"node":{"id":1,"type":0,
      "childNodes":[]},"initialOffset":{"top":0,"left":0}}})")
                          .as_object();
  json::object mutation = json::parse(R"({"type":3,"timestamp":2,"data":{"source":0,
      "texts":[{"id":5,"value":"hi"}],"attributes":[],"removes":[{"parentId":1,"id":3}],
      "adds":[{"parentId":1,"nextId":null,"node":{"type":3,"textContent":"x","id":9}}]}})")
                              .as_object();
  json::object input = json::parse(R"({"type":3,"data":{"source":5,"text":"***"}})").as_object();
  for (json::object* ev : {&full, &mutation, &input}) {
    json::object copy = *ev;
    ASSERT_TRUE(ingest::CompressNested(copy).ok());
    if (ev == &input) {
      EXPECT_EQ(copy, *ev);  // never compressed
      continue;
    }
    EXPECT_EQ(copy["cv"], "2024-10");
    if (ev == &full) {
      EXPECT_TRUE(copy["data"].is_string());
    }
    if (ev == &mutation) {
      for (const char* k : {"texts", "attributes", "removes", "adds"})
        EXPECT_TRUE(copy["data"].as_object()[k].is_string()) << k;
    }
    size_t budget = 1 << 20;
    ASSERT_TRUE(ingest::ExpandNested(copy, {}, &budget).ok());
    EXPECT_EQ(copy, *ev);  // lossless round trip
  }
}

TEST(EncodeTest, RecordingsAreOneGzipArrayAndEventsOneBatchPerToken) {
  json::object snap = json::parse(R"({"event":"$snapshot","properties":{"$session_id":"s1",
      "token":"phc_a","$snapshot_data":[{"type":2,"data":{"node":{"id":1}}},
      {"type":3,"data":{"source":1,"positions":[]}}]}})")
                          .as_object();
  OutgoingBatch rb;
  rb.path = "/s/";
  rb.recording = true;
  rb.events = {{"phc_a", &snap}};
  for (bool reencode : {true, false}) {
    auto recs = EncodeBatch(rb, {reencode});
    ASSERT_TRUE(recs.ok());
    ASSERT_EQ(recs->size(), 1u);
    const SpoolRecord& r = recs->front();
    EXPECT_EQ(r.target, "/s/?compression=gzip-js");
    EXPECT_EQ(r.content_type, "text/plain");
    auto text = ingest::Gunzip(r.body, {});
    ASSERT_TRUE(text.ok());
    json::array arr = json::parse(*text).as_array();
    ASSERT_EQ(arr.size(), 1u);
    json::array& items = arr[0].as_object()["properties"].as_object()["$snapshot_data"].as_array();
    EXPECT_EQ(items[0].as_object()["data"].is_string(), reencode);
    EXPECT_EQ(items[0].as_object().contains("cv"), reencode);
    EXPECT_FALSE(items[1].as_object().contains("cv"));
  }
  // The caller's events are not modified.
  EXPECT_TRUE(snap["properties"]
                  .as_object()["$snapshot_data"]
                  .as_array()[0]
                  .as_object()["data"]
                  .is_object());

  json::object e1 = json::parse(R"({"event":"a","properties":{"token":"phc_a"}})").as_object();
  json::object e2 = json::parse(R"({"event":"b","properties":{"token":"phc_b"}})").as_object();
  json::object e3 = json::parse(R"({"event":"c","properties":{"token":"phc_a"}})").as_object();
  OutgoingBatch eb;
  eb.path = "/i/v0/e/";
  eb.events = {{"phc_a", &e1}, {"phc_b", &e2}, {"phc_a", &e3}};
  auto recs = EncodeBatch(eb, {});
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 2u);
  std::map<std::string, json::object> by_token;
  for (const auto& r : *recs) {
    EXPECT_EQ(r.target, "/i/v0/e/?compression=gzip-js");
    auto text = ingest::Gunzip(r.body, {});
    ASSERT_TRUE(text.ok());
    by_token[r.token] = json::parse(*text).as_object();
  }
  EXPECT_EQ(by_token["phc_a"]["api_key"], "phc_a");
  ASSERT_EQ(by_token["phc_a"]["batch"].as_array().size(), 2u);
  EXPECT_EQ(by_token["phc_a"]["batch"].as_array()[0].as_object()["event"], "a");
  EXPECT_EQ(by_token["phc_a"]["batch"].as_array()[1].as_object()["event"], "c");
  EXPECT_EQ(by_token["phc_b"]["batch"].as_array().size(), 1u);
}

}  // namespace
}  // namespace scrubd::sink
