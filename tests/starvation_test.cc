// Integration: the HTTP layer under the starvation attacks of issue 9 section 8, against the
// real server on 127.0.0.1:0. Attackers connect from 127.0.0.2 (all of 127/8 is local on
// Linux), the real client from 127.0.0.1. Also: EMFILE backoff, pipelining, chunked charging,
// admin CORS, transport-rejection counting and the denied-admin audit aggregation.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <sstream>
#include <thread>

#include "dom/dom_masker.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "server/guard.h"
#include "server/http_server.h"
#include "sink/local_store.h"
#include "support/canary.h"
#include "support/fixtures.h"
#include "support/http_client.h"

// Under ASan/UBSan the sanitizer runtime itself needs descriptors (its memory-accessibility
// probe opens a pipe), so exhausting them reports false "invalid vptr" errors. The EMFILE test
// runs in the Release tree only.
#if defined(__SANITIZE_ADDRESS__)
#define SCRUBD_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRUBD_UNDER_SANITIZER 1
#endif
#endif

namespace scrubd {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using testing::AnyFileContains;
using testing::ExpectAbsentEverywhere;
using testing::ReadFile;
using testing::TempDir;

constexpr char kCanary[] = "canary.zq@example.com";

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A blocking socket from `from` to 127.0.0.1:port, with 5 s send/receive timeouts so that a
// broken server fails the test instead of hanging it.
std::unique_ptr<tcp::socket> ConnectFrom(asio::io_context& ioc, const char* from, uint16_t port) {
  auto s = std::make_unique<tcp::socket>(ioc);
  s->open(tcp::v4());
  s->bind(tcp::endpoint(asio::ip::make_address(from), 0));
  s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  timeval tv{5, 0};
  setsockopt(s->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return s;
}

// Reads one response from `s`; status 0 on a transport error.
http::response<http::string_body> ReadResponse(tcp::socket& s, beast::flat_buffer& buf) {
  http::response<http::string_body> res;
  beast::error_code ec;
  http::read(s, buf, res, ec);
  if (ec) res.result(0);
  return res;
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

template <class Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

class StarvationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {  // 1,111 attacker sockets, both ends in this process
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

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
    server::AppConfig cfg;
    cfg.admin_token = "tok";
    cfg.pseudonym_key = "k";
    app_ = std::make_unique<server::App>(cfg, set_, store_.get(), state_.get(), log_.get());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Start(server::ServerOptions opts) {
    if (server_) server_->Stop();
    opts.listen = "127.0.0.1:0";
    server_ = std::make_unique<server::HttpServer>(app_.get(), opts);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }

  std::string Metrics() { return testing::HttpSend(port_, "GET", "/metrics", "").body; }

  // 11 header-only 25 MiB uploads, then 1,100 idle sockets, all from 127.0.0.2.
  void Attack() {
    asio::io_context& ioc = ioc_;
    std::string head = "POST /s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 26214400\r\n\r\n";
    for (int i = 0; i < 11; ++i) {
      attackers_.push_back(ConnectFrom(ioc, "127.0.0.2", port_));
      asio::write(*attackers_.back(), asio::buffer(head));
    }
    for (int i = 0; i < 1100; ++i) attackers_.push_back(ConnectFrom(ioc, "127.0.0.2", port_));
    // Let the server take in every connection before the real client comes.
    WaitFor([&] {
      server::ServerStats s = server_->stats();
      return s.accepted >= 1111;
    });
  }

  // The real client on 127.0.0.1: a captured posthog-js recording batch; returns the latency
  // in ms of the slowest of `n` requests, each on a fresh connection (asserting 200).
  double RealClientWorstMs(int n) {
    std::string good = ReadFile(testing::FixtureDir() / "0008.body");
    double worst = 0;
    for (int i = 0; i < n; ++i) {
      auto t = Clock::now();
      testing::HttpReply r = testing::HttpSend(port_, "POST", "/s/", good);
      double ms = MsSince(t);
      EXPECT_EQ(r.status, 200u) << r.body;
      worst = std::max(worst, ms);
    }
    return worst;
  }

  TempDir dir_;
  std::shared_ptr<const policies::PolicySet> set_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<server::App> app_;
  std::unique_ptr<server::HttpServer> server_;
  std::mutex fault_mu_;
  std::string fault_at_;  // the io handler that throws next (once); guarded by fault_mu_
  asio::io_context ioc_;  // before attackers_: sockets must not outlive it
  std::vector<std::unique_ptr<tcp::socket>> attackers_;
  uint16_t port_ = 0;
};

// The reported attack against the reported cap (1,024 connections), every other limit at its
// default: the per-peer cap turns most of 127.0.0.2 away, its header-only uploads hold no
// budget, and 127.0.0.1 is served at once.
TEST_F(StarvationTest, OnePeersIdleSocketsAndHeaderOnlyUploadsDoNotStarveOthers) {
  server::ServerOptions opts;
  opts.max_connections = 1024;
  Start(opts);
  Attack();
  server::ServerStats s = server_->stats();
  EXPECT_EQ(s.body_bytes, 0u);     // 11 x 25 MiB announced, nothing sent, nothing charged
  EXPECT_LE(s.connections, 256u);  // 127.0.0.2's share: max(64, 1024 / 4)
  EXPECT_GT(s.refused, 800u);
  double worst = RealClientWorstMs(5);
  EXPECT_LT(worst, 1000.0);
  std::printf(
      "[ figures ] per-peer cap: 127.0.0.1 worst of 5 batches %.1f ms under attack "
      "(connections %zu, refused %llu)\n",
      worst, s.connections, static_cast<unsigned long long>(s.refused));
  EXPECT_NE(Metrics().find("reason=\"peer_connection_cap\""), std::string::npos);
}

// The same attack as if it came from many addresses (no per-peer cap): the server nears its
// cap and sheds the longest-idle connections, so a new client still gets in.
TEST_F(StarvationTest, IdleConnectionsAreShedFirstNearTheCap) {
  server::ServerOptions opts;
  opts.max_connections = 1024;
  opts.max_connections_per_peer = 100000;
  Start(opts);
  Attack();
  server::ServerStats s = server_->stats();
  EXPECT_EQ(s.body_bytes, 0u);
  EXPECT_GT(s.shed_idle, 50u);
  EXPECT_LE(s.connections, 1024u + 2u);
  double worst = RealClientWorstMs(5);
  EXPECT_LT(worst, 1000.0);
  std::printf(
      "[ figures ] idle shedding: 127.0.0.1 worst of 5 batches %.1f ms under attack "
      "(connections %zu, shed %llu, refused %llu)\n",
      worst, s.connections, static_cast<unsigned long long>(s.shed_idle),
      static_cast<unsigned long long>(s.refused));
}

// At 3/4 of the connection cap a new connection gets the short header wait.
TEST_F(StarvationTest, UnderPressureTheHeaderWaitIsShorter) {
  server::ServerOptions opts;
  opts.max_connections = 100;
  opts.max_connections_per_peer = 1000;
  opts.pressure_idle_timeout = std::chrono::seconds(1);
  Start(opts);
  for (int i = 0; i < 80; ++i) attackers_.push_back(ConnectFrom(ioc_, "127.0.0.2", port_));
  ASSERT_TRUE(WaitFor([&] { return server_->stats().idle == 80; }));
  auto late = ConnectFrom(ioc_, "127.0.0.2", port_);
  auto t = Clock::now();
  char byte;
  beast::error_code ec;
  late->read_some(asio::buffer(&byte, 1), ec);  // closed by the server, not by SO_RCVTIMEO
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(MsSince(t), 2500.0);  // the normal idle timeout is 30 s
  EXPECT_GE(MsSince(t), 500.0);
}

TEST_F(StarvationTest, ChunkedUploadChargesOnlyTheBytesReceived) {
  Start({});
  asio::io_context ioc;
  auto a = ConnectFrom(ioc, "127.0.0.2", port_);
  std::string chunk(10000, 'x');
  std::string msg =
      "POST /s/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2710\r\n" + chunk + "\r\n";
  asio::write(*a, asio::buffer(msg));
  EXPECT_TRUE(WaitFor([&] { return server_->stats().body_bytes == 10000; }))
      << server_->stats().body_bytes;             // not the 25 MiB per-request cap
  auto b = ConnectFrom(ioc, "127.0.0.2", port_);  // headers only: nothing charged
  asio::write(*b, asio::buffer(std::string(
                      "POST /s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 26214400\r\n\r\n")));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->stats().body_bytes, 10000u);
  a->close();
  EXPECT_TRUE(WaitFor([&] { return server_->stats().body_bytes == 0; }));
}

// A peer over its byte share gets a 503 JSON; other peers are served; the rejection is
// counted on /metrics and audited under a pseudonym, never the address.
TEST_F(StarvationTest, PeerOverItsByteShareGets503AndOthersAreServed) {
  server::ServerOptions opts;
  opts.max_body_bytes = 1u << 20;
  opts.max_inflight_body_bytes = 8u << 20;
  opts.max_peer_inflight_body_bytes = 1536u << 10;
  Start(opts);
  asio::io_context ioc;
  std::string head = "POST /s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n";
  std::string part(900u << 10, 'x');
  auto a = ConnectFrom(ioc, "127.0.0.2", port_);
  asio::write(*a, asio::buffer(head + part));
  ASSERT_TRUE(WaitFor([&] { return server_->stats().body_bytes == part.size(); }));
  auto b = ConnectFrom(ioc, "127.0.0.2", port_);
  beast::error_code ec;
  asio::write(*b, asio::buffer(head + part), ec);
  beast::flat_buffer buf;
  auto res = ReadResponse(*b, buf);
  EXPECT_EQ(res.result_int(), 503u);
  EXPECT_NE(res.body().find("\"unavailable\""), std::string::npos) << res.body();
  EXPECT_GE(RealClientWorstMs(1), 0.0);  // 127.0.0.1 gets its 200 meanwhile
  EXPECT_NE(Metrics().find("scrubd_transport_rejections_total{status=\"503\","
                           "reason=\"peer_body_budget\"} 1"),
            std::string::npos);
  ASSERT_TRUE(WaitFor([&] { return AnyFileContains(dir_.path() / "audit", "peer_body_budget"); }));
  EXPECT_FALSE(AnyFileContains(dir_.path() / "audit", "127.0.0.2"));
}

TEST_F(StarvationTest, SlowBodyStillTimesOut) {
  server::ServerOptions opts;
  opts.read_timeout = std::chrono::seconds(1);
  Start(opts);
  asio::io_context ioc;
  auto a = ConnectFrom(ioc, "127.0.0.2", port_);
  asio::write(*a, asio::buffer("POST /s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                               std::string(5000, 'x')));
  auto t = Clock::now();
  char byte;
  beast::error_code ec;
  a->read_some(asio::buffer(&byte, 1), ec);  // the server closes the connection
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(MsSince(t), 3000.0);
  EXPECT_TRUE(WaitFor([&] { return server_->stats().body_bytes == 0; }));
}

TEST_F(StarvationTest, PipelinedRequestsAreAnsweredInOrder) {
  Start({});
  asio::io_context ioc;
  auto s = ConnectFrom(ioc, "127.0.0.1", port_);
  std::string good = ReadFile(testing::FixtureDir() / "0008.body");
  std::string batch = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + Post("/s/", good) +
                      "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(*s, asio::buffer(batch));  // one write: all three arrive together
  beast::flat_buffer buf;
  auto r1 = ReadResponse(*s, buf);
  auto r2 = ReadResponse(*s, buf);
  auto r3 = ReadResponse(*s, buf);
  EXPECT_EQ(r1.result_int(), 200u);
  EXPECT_NE(r1.body().find("ok"), std::string::npos);
  EXPECT_EQ(r2.result_int(), 200u) << r2.body();
  EXPECT_EQ(r2.body(), R"({"status":1})");
  EXPECT_EQ(r3.result_int(), 404u);
}

// Out of descriptors, accept backs off on a timer instead of spinning, and logs a line at
// most every 10 s; when descriptors come back the waiting client is served.
TEST_F(StarvationTest, AcceptBacksOffOnEmfileAndRecovers) {
#ifdef SCRUBD_UNDER_SANITIZER
  GTEST_SKIP() << "descriptor exhaustion breaks the sanitizer runtime (see top of file)";
#endif
  std::ostringstream log_text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text);
  spdlog::default_logger()->sinks().push_back(sink);
  Start({});
  tcp::socket client(ioc_);
  client.open(tcp::v4());  // its descriptor is taken before the table is filled
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  int probe = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(probe, 0);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(probe + 64);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers{probe};
  for (int fd; (fd = ::dup(probe)) >= 0;) fillers.push_back(fd);
  beast::error_code cec;
  client.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), cec);  // in the backlog
  uint64_t errors_before = server_->stats().accept_errors;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  server::ServerStats s = server_->stats();
  uint64_t attempts = s.accept_errors - errors_before;
  for (int fd : fillers) ::close(fd);
  setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_FALSE(cec) << cec.message();
  size_t lines = 0;
  for (size_t p = 0; (p = log_text.str().find("accept failed", p)) != std::string::npos; ++p)
    ++lines;
  std::printf("[ figures ] EMFILE: %llu failed accepts and %zu log lines in 1 s\n",
              static_cast<unsigned long long>(attempts), lines);
  EXPECT_GE(attempts, 1u);
  EXPECT_LE(attempts, 20u);  // a spinning loop makes hundreds of thousands
  EXPECT_LE(lines, 1u);
  auto t = Clock::now();
  asio::write(client, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
  timeval tv{5, 0};
  setsockopt(client.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  beast::flat_buffer buf;
  EXPECT_EQ(ReadResponse(client, buf).result_int(), 200u);
  EXPECT_LT(MsSince(t), 2500.0);  // the backoff is capped at 1 s
  spdlog::default_logger()->sinks().pop_back();
}

bool HasAllowOrigin(uint16_t port, const std::string& method, const std::string& target,
                    const std::string& origin) {
  return !testing::HttpSend(port, method, target, "", {{"Origin", origin}}).allow_origin.empty();
}

TEST_F(StarvationTest, AdminRoutesSendNoCorsUnlessTheAdminOriginMatches) {
  Start({});
  EXPECT_TRUE(HasAllowOrigin(port_, "GET", "/healthz", "https://evil.test"));
  EXPECT_FALSE(HasAllowOrigin(port_, "GET", "/admin/sessions", "https://evil.test"));
  EXPECT_FALSE(HasAllowOrigin(port_, "OPTIONS", "/admin/reload", "https://evil.test"));
  EXPECT_FALSE(HasAllowOrigin(port_, "GET", "/admin", ""));
  server::ServerOptions opts;
  opts.admin_origin = "https://ops.test";
  Start(opts);
  EXPECT_TRUE(HasAllowOrigin(port_, "GET", "/admin/sessions", "https://ops.test"));
  EXPECT_TRUE(HasAllowOrigin(port_, "OPTIONS", "/admin/reload", "https://ops.test"));
  EXPECT_FALSE(HasAllowOrigin(port_, "GET", "/admin/sessions", "https://ops.test.evil.test"));
}

// 200 denied admin calls with 60 KB paths holding an email: a few hundred bytes of audit log
// (one entry, then one summary with the count), and the email nowhere in the data dir.
TEST_F(StarvationTest, DeniedAdminFloodIsAggregatedWithoutThePath) {
  Start({});
  auto size_of = [&] {
    uintmax_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.path() / "audit"))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  };
  uintmax_t before = size_of();
  std::string path = "/admin/" + std::string(30000, 'a') + kCanary + std::string(30000, 'b');
  for (int i = 0; i < 200; ++i) ASSERT_EQ(testing::HttpSend(port_, "GET", path, "").status, 401u);
  app_->FlushAuditAggregates(/*all=*/true);
  uintmax_t grew = size_of() - before;
  std::printf("[ figures ] 200 denied 60 KB admin paths added %ju bytes of audit log\n", grew);
  EXPECT_LT(grew, 4096u);
  ExpectAbsentEverywhere(dir_.path(), kCanary);
  EXPECT_FALSE(AnyFileContains(dir_.path(), std::string(1000, 'a')));
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "\"count\":199"));
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "\"route\":\"unknown\""));
}

// A throw inside an io-thread handler (accept, body read, response write) is caught: only
// that connection closes, nothing it held leaks, and the server keeps serving.
TEST_F(StarvationTest, AThrowInAnIoHandlerClosesOnlyItsConnection) {
  server::ServerOptions opts;
  opts.fault_injection = [this](const char* where) {
    std::lock_guard<std::mutex> lock(fault_mu_);
    if (fault_at_ != where) return;
    fault_at_.clear();
    throw std::runtime_error("injected");
  };
  Start(opts);
  std::string good = ReadFile(testing::FixtureDir() / "0008.body");
  for (const char* where : {"accept", "read body", "write", "read header"}) {
    ASSERT_TRUE(WaitFor([&] { return server_->stats().connections == 0; }));  // the last one
    {
      std::lock_guard<std::mutex> lock(fault_mu_);
      fault_at_ = where;
    }
    EXPECT_EQ(testing::HttpSend(port_, "POST", "/s/", good).status, 0u) << where;
    EXPECT_EQ(testing::HttpSend(port_, "POST", "/s/", good).status, 200u) << where;
  }
  EXPECT_EQ(server_->stats().handler_exceptions, 4u);
  EXPECT_TRUE(WaitFor([&] { return server_->stats().body_bytes == 0; }));
  auto t = Clock::now();
  server_->Stop();  // nothing left in flight: no wait for the 20 s drain deadline
  EXPECT_LT(MsSince(t), 2000.0);
}

TEST(HandlerGuardTest, ThrowsAreLoggedAndContained) {
  EXPECT_TRUE(server::RunGuarded("test", [] {}));
  EXPECT_FALSE(server::RunGuarded("test", [] { throw std::runtime_error("boom"); }));
  EXPECT_FALSE(server::RunGuarded("test", [] { throw 42; }));
}

}  // namespace
}  // namespace scrubd
