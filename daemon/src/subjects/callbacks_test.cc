#include "subjects/callbacks.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "subjects/signing.h"

namespace scrubd::subjects {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using Clock = CallbackSender::Clock;

constexpr const char* kId = "a7551968-d5d6-44b2-9831-815ac9017798";

struct Hit {
  std::string method, target, body, host, content_type, domain, signature;
};

// A controller's callback endpoint on 127.0.0.1:<ephemeral>: answers the scripted statuses in
// order (then 200) and records every request.
class CallbackServer {
 public:
  CallbackServer() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~CallbackServer() {
    ioc_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  void Script(std::deque<unsigned> s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(s);
  }
  std::vector<Hit> hits() {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_;
  }

 private:
  void DoAccept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      Serve(std::move(s));
      DoAccept();
    });
  }
  void Serve(tcp::socket s) {
    beast::error_code ec;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(s, buf, req, ec);
    if (ec) return;
    unsigned status = 200;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
      hits_.push_back({std::string(req.method_string()), std::string(req.target()), req.body(),
                       std::string(req[http::field::host]),
                       std::string(req[http::field::content_type]),
                       std::string(req["X-OpenDSR-Processor-Domain"]),
                       std::string(req["X-OpenDSR-Signature"])});
    }
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.body() = "{}";
    res.keep_alive(false);
    res.prepare_payload();
    http::write(s, res, ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<unsigned> script_;
  std::vector<Hit> hits_;
};

// A scripted client for the synchronous tests: status per call (0 = network error).
class ScriptClient : public sink::UpstreamClient {
 public:
  struct Shared {
    std::mutex mu;
    std::deque<unsigned> script;
    std::vector<std::pair<sink::UpstreamUrl, sink::UpstreamRequest>> seen;
  };
  ScriptClient(std::shared_ptr<Shared> s, sink::UpstreamUrl u) : s_(std::move(s)), u_(u) {}
  Result<sink::UpstreamResponse> Exchange(const sink::UpstreamRequest& req) override {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->seen.emplace_back(u_, req);
    unsigned st = 200;
    if (!s_->script.empty()) {
      st = s_->script.front();
      s_->script.pop_front();
    }
    if (st == 0) return Status::Unavailable("refused");
    sink::UpstreamResponse r;
    r.status = st;
    return r;
  }

 private:
  std::shared_ptr<Shared> s_;
  sink::UpstreamUrl u_;
};

CallbackOptions ScriptedOptions(std::shared_ptr<ScriptClient::Shared> shared) {
  CallbackOptions o;
  o.policy.allow_loopback = true;
  o.backoff = {milliseconds(100), milliseconds(400)};
  o.random = [] { return 0.999; };  // delay ~= the cap d
  o.make_client = [shared](
                      const sink::UpstreamUrl& u,
                      const sink::ClientOptions&) -> Result<std::unique_ptr<sink::UpstreamClient>> {
    return std::unique_ptr<sink::UpstreamClient>(std::make_unique<ScriptClient>(shared, u));
  };
  return o;
}

TEST(CallbackBody, MatchesTheSpecFields) {
  DsrRecordView r{kId, "access", "gdpr", "in_progress", 1538492401000, 1541170801000};
  json::value v = json::parse(
      CallbackBody("ctl", "https://c.example/cb", r, "https://scrubd.example/results/1"));
  EXPECT_EQ(v.at("controller_id").as_string(), "ctl");
  EXPECT_EQ(v.at("status_callback_url").as_string(), "https://c.example/cb");
  EXPECT_EQ(v.at("subject_request_id").as_string(), kId);
  EXPECT_EQ(v.at("request_status").as_string(), "in_progress");
  EXPECT_EQ(v.at("expected_completion_time").as_string(), "2018-11-02T15:00:01Z");
  EXPECT_EQ(v.at("results_url").as_string(), "https://scrubd.example/results/1");
  r.status = "deferred";
  v = json::parse(CallbackBody("ctl", "https://c.example/cb", r));
  EXPECT_EQ(v.at("request_status").as_string(), "in_progress");
  EXPECT_FALSE(v.as_object().contains("results_url"));
}

// The template takes a subjects::RequestRecord-shaped struct directly.
TEST(CallbackBody, TakesARequestRecord) {
  struct Record {
    std::string id = kId, type = "erasure", regulation = "ccpa", status = "completed";
    int64_t received_ms = 0, expected_ms = 45 * int64_t{86400000};
  } rec;
  json::value v = json::parse(CallbackBody("ctl", "https://c.example/cb", rec));
  EXPECT_EQ(v.at("request_status").as_string(), "completed");
  EXPECT_EQ(v.at("expected_completion_time").as_string(), "1970-02-15T00:00:00Z");
}

TEST(CallbackUrl, ParsesTargetsAndRefusesTricks) {
  auto u = ParseCallbackUrl("HTTP://Ctl.Example:8080?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "ctl.example");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/?x=1");
  u = ParseCallbackUrl("https://[2001:db8::1]/cb/x?y");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/cb/x?y");
  for (const char* bad :
       {"https://a@b.example/", "https://b.example@evil.example/", "https://[fe80::1%25eth0]/",
        "gopher://a.example/", "https://a.example/#x", "https://a.example:99999/",
        "https://a.example\\@b/", "https://"}) {
    Result<CallbackUrl> r = ParseCallbackUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find("example"), std::string::npos);  // never echoed
  }
}

TEST(CallbackDestination, AddressClasses) {
  CallbackPolicy strict;
  for (const char* refused : {"127.0.0.1",
                              "127.9.9.9",
                              "::1",
                              "10.1.2.3",
                              "172.16.0.1",
                              "172.31.255.255",
                              "192.168.1.1",
                              "100.64.0.1",
                              "169.254.169.254",
                              "0.0.0.0",
                              "::",
                              "224.0.0.1",
                              "255.255.255.255",
                              "fe80::1",
                              "fc00::1",
                              "fd12:3456::1",
                              "ff02::1",
                              "::ffff:127.0.0.1",
                              "::ffff:169.254.169.254",
                              "64:ff9b::a9fe:a9fe",
                              "not-an-ip"})
    EXPECT_FALSE(AddressAllowed(refused, strict)) << refused;
  for (const char* allowed : {"93.184.216.34", "172.32.0.1", "8.8.8.8", "2001:4860::8888",
                              "::ffff:8.8.8.8", "100.128.0.1"})
    EXPECT_TRUE(AddressAllowed(allowed, strict)) << allowed;
  CallbackPolicy loopback{true, false};
  EXPECT_TRUE(AddressAllowed("127.0.0.1", loopback));
  EXPECT_TRUE(AddressAllowed("::1", loopback));
  EXPECT_FALSE(AddressAllowed("10.0.0.1", loopback));
  EXPECT_FALSE(AddressAllowed("169.254.169.254", CallbackPolicy{true, true}));  // never
  EXPECT_TRUE(AddressAllowed("10.0.0.1", CallbackPolicy{false, true}));

  std::string pin;
  auto url = ParseCallbackUrl("http://localhost:9/cb");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(CheckDestination(*url, strict, &pin).code(), Code::kInvalidInput);  // by name too
  EXPECT_TRUE(CheckDestination(*url, loopback, &pin).ok());
  EXPECT_TRUE(pin == "127.0.0.1" || pin == "::1") << pin;
}

TEST(CallbackSender, RetriesWithCappedBackoffThenDelivers) {
  auto shared = std::make_shared<ScriptClient::Shared>();
  shared->script = {503, 0, 500, 200};
  CallbackSender sender(ScriptedOptions(shared));
  ASSERT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:8080/cb?t=1", "{\"a\":1}").ok());
  Clock::time_point t0 = Clock::now();
  Clock::time_point next = sender.RunDue(t0);
  EXPECT_EQ(next - t0, milliseconds(99));                  // d/2 + 0.999 * d/2 with d = 100
  EXPECT_EQ(sender.RunDue(next - milliseconds(1)), next);  // not due yet: nothing sent
  EXPECT_EQ(shared->seen.size(), 1u);
  next = sender.RunDue(next);
  Clock::time_point third = sender.RunDue(next);
  EXPECT_EQ(third - next, milliseconds(399));  // capped at 400
  EXPECT_EQ(sender.RunDue(third), Clock::time_point::max());
  ASSERT_EQ(shared->seen.size(), 4u);
  EXPECT_EQ(sender.counters().delivered, 1u);
  EXPECT_EQ(sender.counters().retries, 3u);
  EXPECT_EQ(sender.Pending(), 0u);
  const auto& [url, req] = shared->seen.back();
  EXPECT_FALSE(url.tls);
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, "8080");
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/cb?t=1");
  EXPECT_EQ(req.body, "{\"a\":1}");
}

TEST(CallbackSender, GivesUpAfterMaxAttempts) {
  auto shared = std::make_shared<ScriptClient::Shared>();
  shared->script = {500, 500, 500, 500};
  CallbackOptions o = ScriptedOptions(shared);
  o.max_attempts = 3;
  CallbackSender sender(o);
  ASSERT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/cb", "{}").ok());
  Clock::time_point now = Clock::now();
  for (int i = 0; i < 5 && now != Clock::time_point::max(); ++i) now = sender.RunDue(now);
  EXPECT_EQ(shared->seen.size(), 3u);
  EXPECT_EQ(sender.counters().failed, 1u);
  EXPECT_EQ(sender.counters().delivered, 0u);
  EXPECT_EQ(sender.Pending(), 0u);
}

TEST(CallbackSender, KeepsOrderPerRequestAndUrl) {
  auto shared = std::make_shared<ScriptClient::Shared>();
  shared->script = {500};  // the first delivery fails once
  CallbackSender sender(ScriptedOptions(shared));
  ASSERT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/a", "in_progress").ok());
  ASSERT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/a", "completed").ok());
  ASSERT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/b", "b-completed").ok());
  Clock::time_point now = Clock::now();
  now = sender.RunDue(now);  // /a in_progress fails; /b goes; /a completed must wait
  ASSERT_EQ(shared->seen.size(), 2u);
  EXPECT_EQ(shared->seen[1].second.body, "b-completed");
  now = sender.RunDue(now);
  now = sender.RunDue(now);
  ASSERT_EQ(shared->seen.size(), 4u);
  EXPECT_EQ(shared->seen[2].second.body, "in_progress");
  EXPECT_EQ(shared->seen[3].second.body, "completed");
  EXPECT_EQ(now, Clock::time_point::max());
}

TEST(CallbackSender, BoundedQueueAndBadUrlsFailFast) {
  auto shared = std::make_shared<ScriptClient::Shared>();
  CallbackOptions o = ScriptedOptions(shared);
  o.max_queue = 2;
  CallbackSender sender(o);
  EXPECT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/a", "1").ok());
  EXPECT_TRUE(sender.Enqueue(kId, "http://127.0.0.1:1/a", "2").ok());
  EXPECT_EQ(sender.Enqueue(kId, "http://127.0.0.1:1/a", "3").code(), Code::kUnavailable);
  EXPECT_EQ(sender.Enqueue(kId, "ftp://127.0.0.1/a", "4").code(), Code::kInvalidInput);
  EXPECT_EQ(sender.counters().queue_full, 1u);
  EXPECT_EQ(sender.Pending(), 2u);
  EXPECT_NE(sender.MetricsText().find("scrubd_dsr_callbacks_queue_full_total 1\n"),
            std::string::npos);
}

TEST(CallbackSender, RefusesInternalDestinationsWithoutSending) {
  auto shared = std::make_shared<ScriptClient::Shared>();
  CallbackOptions o = ScriptedOptions(shared);
  o.policy.allow_loopback = false;
  CallbackSender sender(o);
  for (const char* url : {"http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/cb",
                          "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://localhost/cb"})
    ASSERT_TRUE(sender.Enqueue(kId, url, "{}").ok());
  EXPECT_EQ(sender.RunDue(Clock::now()), Clock::time_point::max());
  EXPECT_TRUE(shared->seen.empty());
  EXPECT_EQ(sender.counters().refused, 5u);
  EXPECT_EQ(sender.Pending(), 0u);
}

// End to end over a real socket: the sender's own thread, the Beast client, retries on 503,
// signed headers, and the Host header naming the URL's host while the address is pinned.
TEST(CallbackSender, DeliversOverHttpWithRetriesAndSignature) {
  CallbackServer server;
  server.Script({503, 502});
  auto signer = DsrSigner::Generate("scrubd.example");
  ASSERT_TRUE(signer.ok());
  CallbackOptions o;
  o.policy.allow_loopback = true;
  o.backoff = {milliseconds(10), milliseconds(40)};
  const DsrSigner* s = signer->get();
  o.sign = [s](std::string_view body) { return s->Headers(body); };
  CallbackSender sender(o);
  sender.Start();
  const std::string url = server.url("/opendsr/callbacks?c=1");
  DsrRecordView rec{kId, "erasure", "gdpr", "completed", 0, 86400000};
  const std::string body = CallbackBody("ctl", url, rec);
  ASSERT_TRUE(sender.Enqueue(kId, url, body).ok());
  for (int i = 0; i < 500 && sender.counters().delivered == 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  sender.Stop();
  std::vector<Hit> hits = server.hits();
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(sender.counters().retries, 2u);
  EXPECT_EQ(sender.counters().delivered, 1u);
  const Hit& h = hits.back();
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/opendsr/callbacks?c=1");
  EXPECT_EQ(h.body, body);
  EXPECT_EQ(h.content_type, "application/json");
  EXPECT_EQ(h.host, url.substr(7, url.find('/', 7) - 7));
  EXPECT_EQ(h.domain, "scrubd.example");
  EXPECT_TRUE(DsrSigner::Verify((*signer)->PublicPem(), h.body, h.signature));
  EXPECT_EQ(json::parse(h.body).at("request_status").as_string(), "completed");
}

TEST(CallbackSender, StopReturnsWhileRetriesArePending) {
  CallbackServer server;
  server.Script({500, 500, 500, 500, 500, 500, 500, 500, 500, 500});
  CallbackOptions o;
  o.policy.allow_loopback = true;
  o.backoff = {milliseconds(60000), milliseconds(60000)};
  CallbackSender sender(o);
  sender.Start();
  ASSERT_TRUE(sender.Enqueue(kId, server.url("/cb"), "{}").ok());
  for (int i = 0; i < 300 && sender.counters().retries == 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  auto t0 = Clock::now();
  sender.Stop();
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
  EXPECT_EQ(sender.counters().retries, 1u);
  EXPECT_EQ(sender.Pending(), 1u);  // dropped with the sender, not sent again
}

}  // namespace
}  // namespace scrubd::subjects
