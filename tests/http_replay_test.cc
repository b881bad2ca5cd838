// Integration: the real HTTP server on 127.0.0.1:0, fed the captured posthog-js requests with
// their original method, path and headers, plus hostile traffic. Nothing accepted is lost.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <thread>

#include "dom/dom_masker.h"
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
using testing::AnyFileContains;
using testing::ReadFile;
using testing::TempDir;

class HttpReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    dom::StateStore* state = nullptr;
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    auto st = dom::StateStore::Open(o);
    ASSERT_TRUE(st.ok());
    state_ = std::move(st).value();
    state = state_.get();
    server::AppConfig cfg;
    cfg.admin_token = "tok";
    cfg.pseudonym_key = "k";
    app_ = std::make_unique<server::App>(cfg, *set, store_.get(), state, nullptr);
    server::ServerOptions opts;
    opts.listen = "127.0.0.1:0";
    opts.max_body_bytes = 256u << 10;  // above the largest fixture (126 KB)
    opts.read_timeout = std::chrono::seconds(5);
    opts.max_inflight_body_bytes = 300u << 10;
    server_ = std::make_unique<server::HttpServer>(app_.get(), opts);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
  }
  void TearDown() override { server_->Stop(); }

  testing::HttpReply Send(const std::string& method, const std::string& target,
                          const std::string& body, const json::object& headers = {}) {
    return testing::HttpSend(port_, method, target, body, headers);
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<server::App> app_;
  std::unique_ptr<server::HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpReplayTest, CapturedFixturesReplayWithTheirHeaders) {
  int replayed = 0;
  for (const auto& set : {"posthog-js-1.449.2", "posthog-js-1.449.2-crm"}) {
    std::vector<std::filesystem::path> metas;
    for (const auto& e : std::filesystem::directory_iterator(testing::FixtureDir(set)))
      if (e.path().string().ends_with(".meta.json")) metas.push_back(e.path());
    std::sort(metas.begin(), metas.end());
    for (const auto& m : metas) {
      json::object meta = json::parse(ReadFile(m)).as_object();
      std::string base = m.string().substr(0, m.string().size() - 10);
      std::string body = ReadFile(base + ".body");
      testing::HttpReply r =
          Send(std::string(meta["method"].as_string()), std::string(meta["path"].as_string()), body,
               meta["headers"].as_object());
      EXPECT_EQ(r.status, 200u) << m << ": " << r.body;
      EXPECT_EQ(r.allow_origin, meta["headers"].as_object()["Origin"].as_string());  // CORS echo
      ++replayed;
    }
  }
  EXPECT_EQ(replayed, 15);
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe@example.com"));
  EXPECT_FALSE(AnyFileContains(dir_.path(), "078-05-1120"));
  auto list = store_->ListSessions(100);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);  // the checkout and the CRM session
}

TEST_F(HttpReplayTest, HostileTrafficGetsJson4xxAndAcceptedDataSurvives) {
  std::string good = ReadFile(testing::FixtureDir() / "0008.body");
  ASSERT_EQ(Send("POST", "/s/", good).status, 200u);
  struct Case {
    std::string body;
    unsigned status;
  } cases[] = {
      {std::string(300u << 10, 'a'), 413},  // over the 256 KiB cap, within socket buffers
      {"{\"truncated\": ", 400},            // malformed JSON
      {std::string("\x1f\x8b\x08\x00garbage", 12), 400},  // corrupt gzip
      {std::string(5000, '['), 413},                      // deep nesting
  };
  for (const auto& c : cases) {
    testing::HttpReply r = Send("POST", "/s/", c.body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, c.status);
    json::value err = json::parse(r.body);
    EXPECT_TRUE(err.as_object().contains("error")) << r.body;
  }
  EXPECT_EQ(Send("GET", "/unknown", "").status, 404u);
  EXPECT_EQ(Send("GET", "/s/", "").status, 405u);
  EXPECT_EQ(Send("OPTIONS", "/s/", "", {{"Origin", "http://a.test"}}).status, 204u);
  // The server is still up and the first batch is intact.
  EXPECT_EQ(Send("GET", "/healthz", "").status, 200u);
  EXPECT_TRUE(store_->ExportSession("01a20355-1c58-723a-837c-2bcc756c76c4", "").ok());
}

TEST_F(HttpReplayTest, BodyBudgetTurnsAwayUploadsBeyondIt) {
  // Connection A announces a 250 KB body, sends 200 KB of it and stalls: the bytes that
  // arrived are charged (an announced Content-Length alone holds nothing).
  asio::io_context ioc;
  beast::tcp_stream a(ioc);
  a.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  std::string head = "POST /s/ HTTP/1.1\r\nHost: x\r\nContent-Length: 256000\r\n\r\n";
  asio::write(a, asio::buffer(head + std::string(200000, 'x')));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // B's 250 KB (under the 256 KiB per-request cap) does not fit in the 300 KiB budget beside
  // A's 200 KB: refused with 503 and a JSON body once its bytes pass the budget.
  testing::HttpReply b = Send("POST", "/s/", std::string(250u << 10, 'x'));
  EXPECT_EQ(b.status, 503u) << b.body;
  EXPECT_NE(b.body.find("unavailable"), std::string::npos);
  a.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Once A is gone its bytes are released and uploads are accepted again.
  std::string good = ReadFile(testing::FixtureDir() / "0008.body");
  EXPECT_EQ(Send("POST", "/s/", good).status, 200u);
}

}  // namespace
}  // namespace scrubd
