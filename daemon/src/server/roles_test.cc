// Admin roles: the tokens file (format, permissions, line numbers) and the 401/403 matrix per
// role and route class through App::Handle, audited by route class and path hash only.
#include "server/roles.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "dom/dom_masker.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
using scrubd::testing::AnyFileContains;
using scrubd::testing::TempDir;

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kDsr[] = "dsr-token-0123456789ab";
constexpr char kAuditor[] = "auditor-token-01234567";

TEST(RolesTest, TokensFileParsesRolesCommentsAndBlankLines) {
  auto t = ParseTokens(
      "# ops tokens\n\nadmin  admin-token-0123456789\r\n"
      "  dsr\tdsr-token-0123456789ab\n"
      "auditor auditor-token-01234567   # no: a comment only at line start\n",
      "t");
  ASSERT_FALSE(t.ok());  // the trailing comment is a third field
  EXPECT_NE(t.status().message().find("t:5"), std::string::npos) << t.status().message();
  t = ParseTokens(
      "# ops tokens\n\nadmin  admin-token-0123456789\r\n"
      "  dsr\tdsr-token-0123456789ab\n"
      "auditor auditor-token-01234567\n",
      "t");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ((*t)[0].role, Role::kAdmin);
  EXPECT_EQ((*t)[1].role, Role::kDsr);
  EXPECT_EQ((*t)[1].token, kDsr);
  EXPECT_EQ((*t)[2].role, Role::kAuditor);
}

TEST(RolesTest, MalformedLineIsReportedWithItsNumberAndNeverTheToken) {
  struct Case {
    const char* text;
    const char* where;
  } cases[] = {
      {"admin admin-token-0123456789\nroot CANARY-token-0123456789\n", "f:2"},  // unknown role
      {"# c\nadmin\n", "f:2"},                                                  // no token
      {"\n\n\ndsr CANARY-short\n", "f:4"},                                      // too short
      {"admin CANARY-token-0123456789\ndsr CANARY-token-0123456789\n", "f:2"},  // duplicate
      {"admin CANARY-token-\x01-0123456789\n", "f:1"},                          // control byte
      {"# only comments\n", "f"},                                               // empty
  };
  for (const Case& c : cases) {
    auto t = ParseTokens(c.text, "f");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), Code::kInvalidConfig);
    const std::string& m = t.status().message();
    EXPECT_TRUE(m.starts_with(std::string(c.where) + ":")) << m;
    EXPECT_EQ(m.find("CANARY"), std::string::npos) << m;
  }
}

TEST(RolesTest, TokensFileReadableByGroupOrOtherIsRefused) {
  TempDir d;
  std::filesystem::path f = d.path() / "tokens";
  std::ofstream(f) << "admin " << kAdmin << "\n";
  for (mode_t mode : {0640, 0604, 0644}) {
    ASSERT_EQ(::chmod(f.c_str(), mode), 0);
    auto t = LoadTokensFile(f);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("must be mode 0600"), std::string::npos);
  }
  ASSERT_EQ(::chmod(f.c_str(), 0600), 0);
  auto t = LoadTokensFile(f);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->front().token, kAdmin);
  EXPECT_FALSE(LoadTokensFile(d.path() / "absent").ok());
}

TEST(RolesTest, TableFindsTheRoleOnlyForTheExactBearerToken) {
  TokenTable table({{Role::kAdmin, kAdmin}, {Role::kDsr, kDsr}});
  EXPECT_EQ(table.RoleOf(std::string("Bearer ") + kDsr), Role::kDsr);
  EXPECT_EQ(table.RoleOf(std::string("Bearer ") + kAdmin), Role::kAdmin);
  EXPECT_FALSE(table.RoleOf(kAdmin));                                 // no scheme
  EXPECT_FALSE(table.RoleOf(std::string("bearer ") + kAdmin));        // case matters
  EXPECT_FALSE(table.RoleOf(std::string("Bearer ") + kAdmin + "x"));  // longer
  EXPECT_FALSE(table.RoleOf(std::string("Bearer ") + std::string(kAdmin).substr(1)));
  EXPECT_FALSE(table.RoleOf("Bearer "));
  EXPECT_FALSE(TokenTable().RoleOf("Bearer "));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kDsr));
  EXPECT_TRUE(RoleAllows(Role::kAdmin, Role::kAuditor));
  EXPECT_FALSE(RoleAllows(Role::kDsr, Role::kAdmin));
  EXPECT_FALSE(RoleAllows(Role::kDsr, Role::kAuditor));
  EXPECT_FALSE(RoleAllows(Role::kAuditor, Role::kDsr));
}

// An App with the three roles, the legacy admin token, two mounted DSR routes and a log.
class RolesAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    AppConfig cfg;
    cfg.admin_token = "legacy-admin-token-0123";
    cfg.admin_tokens = {{Role::kAdmin, kAdmin}, {Role::kDsr, kDsr}, {Role::kAuditor, kAuditor}};
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<App>(cfg, *set, store_.get(), nullptr, log_.get());
    auto ok = [](const HttpRequest&, const AdminCaller& c) {
      return HttpResponse{
          200, "application/json", std::string("{\"role\":\"") + RoleName(c.role) + "\"}", {}};
    };
    app_->Mount("/v1/", Role::kDsr, ok);
    app_->Mount("/admin/subjects", Role::kDsr, ok);
  }

  HttpResponse Call(const std::string& method, const std::string& target, const char* token,
                    Surface surface = Surface::kAll) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.peer = "203.0.113.9";
    if (token) r.headers["authorization"] = std::string("Bearer ") + token;
    return app_->Handle(r, surface);
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<App> app_;
};

TEST_F(RolesAppTest, EachRoleGets401Or403PerRouteClass) {
  struct Route {
    const char* method;
    const char* target;
    Surface surface;
    unsigned none, unknown, admin, dsr, auditor;
  } routes[] = {
      {"POST", "/admin/reload", Surface::kAll, 401, 401, 200, 403, 403},
      {"GET", "/admin/sessions", Surface::kAll, 401, 401, 200, 403, 403},
      {"GET", "/admin/sessions/s1/export", Surface::kAll, 401, 401, 404, 403, 403},
      {"GET", "/admin/nowhere", Surface::kAll, 401, 401, 404, 403, 403},
      {"POST", "/v1/requests", Surface::kAll, 401, 401, 200, 200, 403},
      {"GET", "/admin/subjects/x", Surface::kAll, 401, 401, 200, 200, 403},
      {"GET", "/metrics", Surface::kAdmin, 401, 401, 200, 403, 200},
      {"GET", "/v1/discovery", Surface::kAdmin, 401, 401, 200, 200, 403},
  };
  for (const Route& r : routes) {
    SCOPED_TRACE(r.target);
    EXPECT_EQ(Call(r.method, r.target, nullptr, r.surface).status, r.none);
    EXPECT_EQ(Call(r.method, r.target, "not-a-known-token-0000", r.surface).status, r.unknown);
    EXPECT_EQ(Call(r.method, r.target, kAdmin, r.surface).status, r.admin);
    EXPECT_EQ(Call(r.method, r.target, "legacy-admin-token-0123", r.surface).status, r.admin);
    EXPECT_EQ(Call(r.method, r.target, kDsr, r.surface).status, r.dsr);
    EXPECT_EQ(Call(r.method, r.target, kAuditor, r.surface).status, r.auditor);
  }
  HttpResponse forbidden = Call("POST", "/admin/reload", kDsr);
  EXPECT_NE(forbidden.body.find("\"error\":\"forbidden\""), std::string::npos) << forbidden.body;
  HttpResponse unauthorized = Call("POST", "/admin/reload", nullptr);
  EXPECT_NE(unauthorized.body.find("\"error\":\"unauthorized\""), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/requests", kDsr).body, R"({"role":"dsr"})");
}

TEST_F(RolesAppTest, DenialsAreCountedOnMetricsByStatusAndRoute) {
  Call("POST", "/admin/reload", kDsr);
  Call("POST", "/admin/reload", kAuditor);
  Call("GET", "/v1/requests/abc", nullptr);
  std::string m = Call("GET", "/metrics", nullptr).body;  // single listener: open
  EXPECT_NE(m.find("scrubd_admin_denied_total{status=\"403\",route=\"reload\"} 2"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("scrubd_admin_denied_total{status=\"401\",route=\"/v1/\"} 1"), std::string::npos)
      << m;
}

// A canary in the path and in the presented token reaches neither the audit log nor the
// metrics: denials are audited by route class, path length and keyed path hash.
TEST_F(RolesAppTest, CanaryTokenAndPathNeverReachTheAuditLog) {
  const std::string canary_path = "/admin/subjects/canary.person%40example.com";
  const std::string canary_token = "CANARY-TOKEN-4f1d9b2c7e";
  Call("GET", canary_path, canary_token.c_str());
  Call("GET", canary_path, kAuditor);
  Call("GET", "/v1/requests/canary.person@example.com", kAuditor);
  Call("GET", canary_path, kDsr);  // allowed: an admin_call entry
  Call("GET", "/admin/canary.person@example.com", nullptr);
  app_->FlushAuditAggregates(true);
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "admin_denied"));
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "/admin/subjects"));  // the route class
  EXPECT_FALSE(AnyFileContains(dir_.path() / "audit", "canary"));
  EXPECT_FALSE(AnyFileContains(dir_.path() / "audit", "CANARY"));
  EXPECT_FALSE(AnyFileContains(dir_.path() / "audit", kDsr));
  EXPECT_FALSE(AnyFileContains(dir_.path() / "audit", "203.0.113.9"));
  std::string m = Call("GET", "/metrics", nullptr).body;
  EXPECT_EQ(m.find("canary"), std::string::npos);
}

}  // namespace
}  // namespace scrubd::server
