// The router serves /admin/ui/ before the admin token check (the sign-in page needs none) and
// only on the admin-facing surfaces; every other /admin route still needs its token.
#include <gtest/gtest.h>

#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"
#include "ui/assets.h"

namespace scrubd::ui {
namespace {
using scrubd::testing::TempDir;

class ConsoleRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    server::AppConfig cfg;
    cfg.admin_tokens = {{server::Role::kAuditor, "auditor-token-01234567"}};
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<server::App>(cfg, *set, store_.get(), nullptr, nullptr);
  }

  server::HttpResponse Call(const std::string& method, const std::string& target,
                            server::Surface surface, const std::string& bearer = "") {
    server::HttpRequest r;
    r.method = method;
    r.target = target;
    if (!bearer.empty()) r.headers["authorization"] = "Bearer " + bearer;
    return app_->Handle(r, surface);
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<server::App> app_;
};

TEST_F(ConsoleRouteTest, ServedWithoutTokenOnAdminSurfaces) {
  for (server::Surface s : {server::Surface::kAll, server::Surface::kAdmin}) {
    server::HttpResponse r = Call("GET", "/admin/ui/", s);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, FindAsset("index.html")->bytes);
    EXPECT_EQ(Call("GET", "/admin/ui/rrweb-player.js", s).status, 200u);
    EXPECT_EQ(Call("GET", "/admin/ui/console.js", s, "not-a-token").status, 200u);
    EXPECT_EQ(Call("HEAD", "/admin/ui/console.css", s).status, 200u);
    EXPECT_EQ(Call("GET", "/admin/ui", s).status, 308u);
  }
}

TEST_F(ConsoleRouteTest, NotOnThePublicSurface) {
  EXPECT_EQ(Call("GET", "/admin/ui/", server::Surface::kPublic).status, 404u);
  EXPECT_EQ(Call("GET", "/admin/ui/rrweb-player.js", server::Surface::kPublic).status, 404u);
}

TEST_F(ConsoleRouteTest, OtherAdminRoutesStillNeedTheirToken) {
  EXPECT_EQ(Call("GET", "/admin/sessions", server::Surface::kAll).status, 401u);
  EXPECT_EQ(Call("GET", "/admin/uiextra", server::Surface::kAll).status, 401u);
  EXPECT_EQ(Call("POST", "/admin/reload", server::Surface::kAll, "auditor-token-01234567").status,
            403u);
  EXPECT_EQ(Call("POST", "/admin/ui/", server::Surface::kAll).status, 405u);
}

}  // namespace
}  // namespace scrubd::ui
