// Integration: scrubd's App + HttpServer with an upstream pointing at a fake PostHog capture
// (a Beast server on 127.0.0.1:0). The captured posthog-js requests go in; the upstream must
// receive decodable, clean batches, nothing may be lost while it is down or across a restart,
// a full spool must answer 503, and /flags, /array, /static must be proxied.
#include "sink/upstream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <mutex>
#include <thread>

#include "dom/dom_masker.h"
#include "ingest/decode.h"
#include "ingest/gzip.h"
#include "server/app.h"
#include "server/http_server.h"
#include "sink/local_store.h"
#include "support/fixtures.h"
#include "support/http_client.h"

namespace scrubd {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using testing::Fixture;
using testing::ReadFile;
using testing::TempDir;

constexpr const char* kPii[] = {"jane.doe@example.com", "078-05-1120"};

struct Seen {
  std::string method, target, body, cookie, content_type, forwarded_for;
  unsigned answered = 0;
};

// A fake PostHog: answers `fail_status` while it is non-zero, else 200 with a canned body.
class FakeUpstream {
 public:
  FakeUpstream() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeUpstream() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  std::atomic<unsigned> fail_status{0};

 private:
  void DoAccept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      Serve(std::move(s));  // loopback and small: handled inline
      DoAccept();
    });
  }
  void Serve(tcp::socket s) {
    beast::error_code ec;
    beast::flat_buffer buf;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(s, buf, parser, ec);
    if (ec) return;
    auto req = parser.release();
    Seen seen{std::string(req.method_string()),
              std::string(req.target()),
              req.body(),
              std::string(req[http::field::cookie]),
              std::string(req[http::field::content_type]),
              std::string(req["X-Forwarded-For"])};
    unsigned st = fail_status.load();
    http::response<http::string_body> res{static_cast<http::status>(st ? st : 200), 11};
    std::string path = seen.target.substr(0, seen.target.find('?'));
    if (path.starts_with("/flags")) {
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"featureFlags":{"from-upstream":true}})";
    } else if (path.starts_with("/static/")) {
      res.set(http::field::content_type, "application/javascript");
      res.body() = "/* recorder from upstream */";
    } else {
      res.set(http::field::content_type, "application/json");
      res.body() = st ? R"({"error":"down"})" : R"({"status":"Ok"})";
    }
    res.set(http::field::set_cookie, "upstream=1");  // must never reach the browser
    res.keep_alive(false);
    res.prepare_payload();
    seen.answered = res.result_int();
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(std::move(seen));
    }
    http::write(s, res, ec);
    s.shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

using Reply = testing::HttpReply;

class UpstreamTest : public ::testing::Test {
 protected:
  // Starts scrubd (App + HttpServer) with the upstream; fast backoff so retries are quick.
  void StartScrubd(uint64_t spool_max = uint64_t{1} << 30) {
    sink::UpstreamOptions uo;
    uo.url = fake_.url();
    uo.spool_dir = dir_.path() / "spool";
    uo.spool_max_bytes = spool_max;
    uo.backoff = {milliseconds(20), milliseconds(200)};
    uo.client.connect_timeout = milliseconds(2000);
    uo.client.read_timeout = milliseconds(5000);
    uo.client.write_timeout = milliseconds(5000);
    auto up = sink::Upstream::Open(uo);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    upstream_ = std::move(up).value();
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    if (!store_) {
      auto store = sink::LocalStore::Open(dir_.path());
      ASSERT_TRUE(store.ok());
      store_ = std::move(store).value();
      dom::StateStore::Options o;
      o.dir = dir_.path() / "state";
      auto st = dom::StateStore::Open(o);
      ASSERT_TRUE(st.ok());
      state_ = std::move(st).value();
    }
    server::AppConfig cfg;
    cfg.admin_token = "tok";
    cfg.pseudonym_key = "k";
    app_ = std::make_unique<server::App>(cfg, *set, store_.get(), state_.get(), nullptr,
                                         upstream_.get());
    server::ServerOptions opts;
    opts.listen = "127.0.0.1:0";
    opts.max_body_bytes = 1u << 20;
    opts.read_timeout = std::chrono::seconds(5);
    server_ = std::make_unique<server::HttpServer>(app_.get(), opts);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    upstream_->Start();
  }
  void StopScrubd() {
    if (server_) server_->Stop();
    if (upstream_) upstream_->Stop();
    server_.reset();
    app_.reset();
    upstream_.reset();
  }
  void TearDown() override { StopScrubd(); }

  Reply Send(const std::string& method, const std::string& target, const std::string& body,
             const json::object& headers = {}) {
    return testing::HttpSend(port_, method, target, body, headers);
  }

  // Replays one captured request (NNNN.body + NNNN.meta.json) with its method, path, headers.
  Reply Replay(const std::string& n) {
    json::object meta = json::parse(Fixture(n + ".meta.json")).as_object();
    return Send(std::string(meta["method"].as_string()), std::string(meta["path"].as_string()),
                Fixture(n + ".body"), meta["headers"].as_object());
  }

  // Waits until `pred(seen)` holds (up to 15 s).
  template <class Pred>
  bool WaitFor(Pred pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < end) {
      if (pred(fake_.seen())) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  static size_t Delivered(const std::vector<Seen>& seen, const std::string& prefix) {
    size_t n = 0;
    for (const auto& s : seen)
      if (s.target.starts_with(prefix) && s.answered == 200) ++n;
    return n;
  }

  // Gunzips a /s/ body, checks its shape and expands every cv field; returns the decoded
  // events as JSON text and how many rrweb events carried cv "2024-10".
  static std::string DecodeRecording(const std::string& body, size_t* cv_events) {
    auto text = ingest::Gunzip(body, {});
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    if (!text.ok()) return "";
    json::value v = json::parse(*text);
    EXPECT_TRUE(v.is_array());
    for (json::value& ev : v.as_array()) {
      json::object& props = ev.as_object()["properties"].as_object();
      EXPECT_EQ(ev.as_object()["event"], "$snapshot");
      EXPECT_TRUE(props.contains("$session_id"));
      for (json::value& item : props["$snapshot_data"].as_array()) {
        json::object& o = item.as_object();
        if (auto* cv = o.if_contains("cv")) {
          EXPECT_EQ(*cv, "2024-10");
          ++*cv_events;
          size_t budget = 64u << 20;
          Status s = ingest::ExpandNested(o, {}, &budget);
          EXPECT_TRUE(s.ok()) << s.ToString();
        }
      }
    }
    return json::serialize(v);
  }

  FakeUpstream fake_;
  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<sink::Upstream> upstream_;
  std::unique_ptr<server::App> app_;
  std::unique_ptr<server::HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(UpstreamTest, RecordingAndEventsReachTheUpstreamCleanAndDecodable) {
  StartScrubd();
  // The raw fixture does carry the PII (inside nested gzip), so the checks below can fail.
  ASSERT_EQ(Replay("0008").status, 200u);
  for (const char* e : {"0000", "0009", "0010", "0011"}) EXPECT_EQ(Replay(e).status, 200u) << e;
  ASSERT_TRUE(WaitFor([](const std::vector<Seen>& s) {
    return Delivered(s, "/s/") == 1 && Delivered(s, "/e/") == 4;
  }));
  size_t cv_events = 0;
  std::string decoded_recording;
  size_t events_forwarded = 0;
  for (const Seen& s : fake_.seen()) {
    EXPECT_EQ(s.method, "POST");
    EXPECT_EQ(s.content_type, "text/plain");
    EXPECT_TRUE(s.target.ends_with("?compression=gzip-js")) << s.target;
    EXPECT_TRUE(s.cookie.empty());  // the browser's cookies are not forwarded
    ASSERT_TRUE(ingest::LooksGzip(s.body));
    if (s.target.starts_with("/s/")) {
      decoded_recording = DecodeRecording(s.body, &cv_events);
      for (const char* pii : kPii) EXPECT_EQ(decoded_recording.find(pii), std::string::npos) << pii;
    } else {
      auto text = ingest::Gunzip(s.body, {});
      ASSERT_TRUE(text.ok());
      json::object b = json::parse(*text).as_object();
      EXPECT_EQ(b["api_key"], "phc_testkey123");
      events_forwarded += b["batch"].as_array().size();
      for (const char* pii : kPii) EXPECT_EQ(text->find(pii), std::string::npos) << pii;
    }
  }
  EXPECT_GT(cv_events, 0u);  // FullSnapshot / mutations were re-encoded like posthog-js
  EXPECT_NE(decoded_recording.find("01a20355-1c58-723a-837c-2bcc756c76c4"), std::string::npos);
  EXPECT_NE(decoded_recording.find("\"type\":2"), std::string::npos);
  EXPECT_GT(events_forwarded, 0u);
  // Upstream only: nothing written to the local store, the spool is drained.
  EXPECT_TRUE(store_->ListSessions(10)->empty());
  EXPECT_TRUE(WaitFor([&](const auto&) { return upstream_->spool()->stats().pending_files == 0; }));
  auto metrics = Send("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("scrubd_upstream_delivered_total 5"), std::string::npos)
      << metrics.body;
}

TEST_F(UpstreamTest, UpstreamDownThenUpLosesNothingEvenAcrossARestart) {
  fake_.fail_status = 503;
  StartScrubd();
  ASSERT_EQ(Replay("0008").status, 200u);  // acknowledged once spooled
  ASSERT_EQ(Replay("0000").status, 200u);
  ASSERT_TRUE(WaitFor([](const std::vector<Seen>& s) { return s.size() >= 3; }));  // retrying
  EXPECT_EQ(upstream_->spool()->stats().pending_files, 2u);
  // Restart scrubd while the upstream is still down: the spool survives.
  StopScrubd();
  fake_.fail_status = 0;
  StartScrubd();
  ASSERT_TRUE(WaitFor([](const std::vector<Seen>& s) {
    return Delivered(s, "/s/") == 1 && Delivered(s, "/e/") == 1;
  }));
  // Order kept: the recording (spooled first) was delivered before the events.
  std::vector<Seen> seen = fake_.seen();
  size_t first_ok = 0;
  while (seen[first_ok].answered != 200) ++first_ok;
  EXPECT_TRUE(seen[first_ok].target.starts_with("/s/"));
  size_t cv = 0;
  std::string decoded = DecodeRecording(seen[first_ok].body, &cv);
  for (const char* pii : kPii) EXPECT_EQ(decoded.find(pii), std::string::npos);
  EXPECT_TRUE(WaitFor([&](const auto&) { return upstream_->spool()->stats().pending_files == 0; }));
}

TEST_F(UpstreamTest, RejectedBatchGoesToDeadLetterNotLost) {
  fake_.fail_status = 400;
  StartScrubd();
  ASSERT_EQ(Replay("0000").status, 200u);
  ASSERT_TRUE(WaitFor([&](const auto&) { return upstream_->spool()->stats().dead_files == 1; }));
  EXPECT_EQ(upstream_->spool()->stats().pending_files, 0u);
  EXPECT_FALSE(std::filesystem::is_empty(dir_.path() / "spool" / "dead"));
}

TEST_F(UpstreamTest, FullSpoolAnswers503SoTheClientRetries) {
  fake_.fail_status = 503;
  StartScrubd(/*spool_max=*/512);  // smaller than one encoded recording
  Reply r = Replay("0008");
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(upstream_->spool()->stats().pending_files, 0u);
  EXPECT_EQ(upstream_->spool()->stats().full_rejections, 1u);
  EXPECT_TRUE(store_->ListSessions(10)->empty());  // not silently kept elsewhere either
}

TEST_F(UpstreamTest, FlagsConfigAndStaticAreProxied) {
  StartScrubd();
  json::object meta = json::parse(Fixture("0004.meta.json")).as_object();
  std::string flags_body = Fixture("0004.body");
  Reply r = Send("POST", "/flags/?v=2", flags_body, meta["headers"].as_object());
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"featureFlags":{"from-upstream":true}})");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.set_cookie.empty());
  r = Send("GET", "/array/phc_testkey123/config.js", "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, R"({"status":"Ok"})");
  r = Send("GET", "/static/recorder.js?v=1.449.2", "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "/* recorder from upstream */");
  EXPECT_EQ(r.content_type, "application/javascript");
  std::vector<Seen> seen = fake_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/flags/?v=2");
  // Scrubbed by policy and re-encoded as plain JSON, shape kept (docs/identifiers.md).
  json::object sent = json::parse(*ingest::Gunzip(flags_body, {})).as_object();
  json::object got = json::parse(seen[0].body).as_object();
  EXPECT_EQ(seen[0].content_type, "application/json");
  EXPECT_EQ(got.size(), sent.size());
  for (const auto& kv : sent) EXPECT_TRUE(got.contains(kv.key())) << kv.key();
  EXPECT_EQ(got.at("token"), sent.at("token"));
  EXPECT_TRUE(got.at("distinct_id").as_string().starts_with("pid_"));
  EXPECT_EQ(seen[0].body.find(std::string(sent.at("distinct_id").as_string())), std::string::npos);
  EXPECT_EQ(seen[0].forwarded_for, "127.0.0.0");  // the loopback client, truncated
  EXPECT_TRUE(seen[0].cookie.empty());
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/array/phc_testkey123/config.js");
  EXPECT_EQ(seen[2].target, "/static/recorder.js?v=1.449.2");
}

// Through real sockets: ids, $set and $ip of an identify event arrive pseudonymised or
// truncated, and the client address behind a local proxy arrives as a /24.
TEST_F(UpstreamTest, IdentifyReachesTheUpstreamPseudonymisedWithATruncatedAddress) {
  StartScrubd();
  const std::string body = R"({"api_key":"phc_testkey123","batch":[{"event":"$identify",
    "uuid":"01a20355-1c58-723a-837c-2bcc756c7601",
    "$set":{"email":"canary.zq@example.com","plan":"pro-plan"},
    "properties":{"distinct_id":"canary.zq@example.com","$anon_distinct_id":"anon-canary-zq",
      "$device_id":"device-canary-zq","$ip":"203.0.113.77","token":"phc_testkey123",
      "$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4"}}]})";
  Reply r = Send("POST", "/e/", body,
                 json::object{{"Content-Type", "application/json"},
                              {"X-Forwarded-For", "6.6.6.6, 203.0.113.77"},
                              {"X-Real-IP", "6.6.6.6"}});
  ASSERT_EQ(r.status, 200u);
  ASSERT_TRUE(WaitFor([](const std::vector<Seen>& s) { return Delivered(s, "/e/") == 1; }));
  Seen e = fake_.seen().front();
  EXPECT_EQ(e.forwarded_for, "203.0.113.0");
  std::string text = *ingest::Gunzip(e.body, {});
  for (const char* raw : {"canary", "zq@", "203.0.113.77", "6.6.6.6"})
    EXPECT_EQ(text.find(raw), std::string::npos) << raw;
  json::object ev = json::parse(text).at("batch").at(0).as_object();
  EXPECT_TRUE(ev.at("properties").at("distinct_id").as_string().starts_with("pid_"));
  EXPECT_EQ(ev.at("properties").at("$ip").as_string(), "203.0.113.0");
  EXPECT_EQ(ev.at("$set").at("plan").as_string(), "pro-plan");
  EXPECT_FALSE(testing::AnyFileContains(dir_.path(), "canary"));
}

TEST(UpstreamUnreachableTest, ProxyAnswers502WhenNothingListens) {
  TempDir dir;
  // Reserve a port, then close it so nothing listens there.
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = a.local_endpoint().port();
  a.close();
  sink::UpstreamOptions uo;
  uo.url = "http://127.0.0.1:" + std::to_string(port);
  uo.spool_dir = dir.path() / "spool";
  auto up = sink::Upstream::Open(uo);
  ASSERT_TRUE(up.ok());
  auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
  ASSERT_TRUE(set.ok());
  auto store = sink::LocalStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  server::App app({}, *set, store->get(), nullptr, nullptr, up->get());
  server::HttpRequest req{
      "POST", "/flags/?v=2", {}, R"({"token":"phc_x","distinct_id":"d"})", "127.0.0.1"};
  server::HttpResponse r = app.Handle(req);
  EXPECT_EQ(r.status, 502u);
}

// A self-signed certificate for 127.0.0.1 (valid until 2126), so a verifying client must refuse
// it and only --upstream-insecure may accept it.
constexpr const char* kTestCert = R"(-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUX5Qu+7+onm8gh1QTNIM78vJBWOYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjE0MDc1MVoYDzIxMjYxMDI5
MTQwNzUxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARf6INIsNdXyfSRZPNh7M4ZhDPM+o8hyFvqlXEHmHDydC+1E5kkHkSx
Qp/QaKqwF7PlJdalHrJvDhPtLZsyVN8io28wbTAdBgNVHQ4EFgQUQI01EOqzxixD
3LTeiUvhtsHcaoEwHwYDVR0jBBgwFoAUQI01EOqzxixD3LTeiUvhtsHcaoEwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIhAL+tvRfISAnU5CJghOz8efhSiPpWGiDNBbgdwTKZaHtnAiBq
P6366s4QgSlN9IAgLlOc6KmkeG3lF/sUI3p5KbjTSQ==
-----END CERTIFICATE-----
)";
constexpr const char* kTestKey = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUy4uVGXTlVxS2ds9
2x3ke+GPsEjGlflCs/qss0azlp2hRANCAARf6INIsNdXyfSRZPNh7M4ZhDPM+o8h
yFvqlXEHmHDydC+1E5kkHkSxQp/QaKqwF7PlJdalHrJvDhPtLZsyVN8i
-----END PRIVATE KEY-----
)";

class FakeTlsUpstream {
 public:
  FakeTlsUpstream()
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain(asio::buffer(std::string_view(kTestCert)));
    ctx_.use_private_key(asio::buffer(std::string_view(kTestKey)), asio::ssl::context::pem);
    DoAccept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeTlsUpstream() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::atomic<int> served{0};

 private:
  void DoAccept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      beast::ssl_stream<tcp::socket> stream(std::move(s), ctx_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(stream, buf, req, ec);
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "tls-ok";
        res.keep_alive(false);
        res.prepare_payload();
        if (!ec) http::write(stream, res, ec);
        if (!ec) served++;
      }
      DoAccept();
    });
  }
  asio::io_context ioc_;
  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(UpstreamTlsTest, CertificateIsVerifiedByDefaultAndInsecureIsOptIn) {
  FakeTlsUpstream tls;
  auto url = sink::ParseUpstreamUrl("https://127.0.0.1:" + std::to_string(tls.port()));
  ASSERT_TRUE(url.ok());
  sink::ClientOptions opts;
  opts.connect_timeout = milliseconds(3000);
  sink::UpstreamRequest req;
  req.method = "GET";
  req.target = "/static/x.js";
  auto verifying = sink::MakeBeastClient(*url, opts);
  ASSERT_TRUE(verifying.ok());
  auto r = (*verifying)->Exchange(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(tls.served, 0);
  opts.insecure = true;
  auto insecure = sink::MakeBeastClient(*url, opts);
  ASSERT_TRUE(insecure.ok());
  r = (*insecure)->Exchange(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->body, "tls-ok");
}

}  // namespace
}  // namespace scrubd
