// --admin-listen: two HttpServers over one App. Admin, mounted and /metrics routes answer only
// on the admin port; the public port answers ingest, remote config and /healthz and 404s the
// rest. Over real sockets on 127.0.0.1:0.
#include <gtest/gtest.h>

#include "server/app.h"
#include "server/http_server.h"
#include "sink/local_store.h"
#include "support/fixtures.h"
#include "support/http_client.h"

namespace scrubd::server {
namespace {
using scrubd::testing::HttpSend;
using scrubd::testing::TempDir;

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kAuditor[] = "auditor-token-01234567";

class AdminListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    AppConfig cfg;
    cfg.admin_tokens = {{Role::kAdmin, kAdmin}, {Role::kAuditor, kAuditor}};
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<App>(cfg, *set, store_.get(), nullptr, nullptr);
    app_->Mount("/v1/", Role::kDsr, [](const HttpRequest&, const AdminCaller&) {
      return HttpResponse{200, "application/json", "{}", {}};
    });
    ServerOptions pub;
    pub.listen = "127.0.0.1:0";
    pub.surface = Surface::kPublic;
    ServerOptions adm = pub;
    adm.surface = Surface::kAdmin;
    public_ = std::make_unique<HttpServer>(app_.get(), pub);
    admin_ = std::make_unique<HttpServer>(app_.get(), adm);
    auto p = public_->Start();
    auto a = admin_->Start();
    ASSERT_TRUE(p.ok() && a.ok());
    public_port_ = *p;
    admin_port_ = *a;
  }
  void TearDown() override {
    if (public_) public_->Stop();
    if (admin_) admin_->Stop();
  }

  static boost::json::object Bearer(const char* token) {
    return boost::json::object{{"Authorization", std::string("Bearer ") + token}};
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<App> app_;
  std::unique_ptr<HttpServer> public_, admin_;
  uint16_t public_port_ = 0, admin_port_ = 0;
};

TEST_F(AdminListenerTest, AdminRoutesAnswerOnlyOnTheAdminPort) {
  for (const char* target :
       {"/admin/sessions", "/admin/reload", "/v1/discovery", "/metrics", "/admin"}) {
    SCOPED_TRACE(target);
    auto pub = HttpSend(public_port_, "GET", target, "", Bearer(kAdmin));
    EXPECT_EQ(pub.status, 404u) << pub.body;
    EXPECT_NE(pub.body.find("not_found"), std::string::npos);
  }
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/admin/sessions", "", Bearer(kAdmin)).status, 200u);
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/v1/discovery", "", Bearer(kAdmin)).status, 200u);
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/admin/sessions", "").status, 401u);
}

TEST_F(AdminListenerTest, IngestAndRemoteConfigAnswerOnlyOnThePublicPort) {
  std::string body = scrubd::testing::Fixture("0008.body");
  boost::json::object text{{"Content-Type", "text/plain"}};
  EXPECT_EQ(HttpSend(public_port_, "POST", "/s/", body, text).status, 200u);
  EXPECT_EQ(HttpSend(public_port_, "GET", "/healthz", "").status, 200u);
  EXPECT_EQ(HttpSend(public_port_, "GET", "/array/phc_test/config", "").status, 200u);
  EXPECT_EQ(HttpSend(admin_port_, "POST", "/s/", body, text).status, 404u);
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/array/phc_test/config", "").status, 404u);
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/healthz", "").status, 200u);
  EXPECT_EQ(app_->metrics().batches_ok.load(), 1u);
}

// On the admin listener /metrics needs auditor or admin (docs/admin.md).
TEST_F(AdminListenerTest, MetricsOnTheAdminPortNeedAnAuditorOrAdminToken) {
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/metrics", "").status, 401u);
  auto m = HttpSend(admin_port_, "GET", "/metrics", "", Bearer(kAuditor));
  EXPECT_EQ(m.status, 200u);
  EXPECT_NE(m.body.find("scrubd_requests_total"), std::string::npos);
  EXPECT_NE(m.body.find("scrubd_admin_denied_total{status=\"401\",route=\"metrics\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_EQ(HttpSend(admin_port_, "GET", "/metrics", "", Bearer(kAdmin)).status, 200u);
}

}  // namespace
}  // namespace scrubd::server
