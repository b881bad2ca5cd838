// Session export is scoped by project token: one session id under two tokens never merges,
// and an ambiguous export without a token is refused (store API and the admin endpoint).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace json = boost::json;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";

json::array Events(const char* marker) {
  return json::array{json::object{{"type", 3}, {"timestamp", 1000}, {"data", marker}}};
}

class ExportScopeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalStore::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    a_ = Events("project-a");
    b_ = Events("project-b");
    ASSERT_TRUE(store_->WriteRecording({"phc_a", kSession, "w1", "", &a_}).ok());
  }
  TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  json::array a_, b_;
};

TEST_F(ExportScopeTest, OneTokenExportsWithoutAToken) {
  auto body = store_->ExportSession(kSession, "");
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_NE(body->find("project-a"), std::string::npos);
}

TEST_F(ExportScopeTest, SameSessionIdUnderTwoTokensNeverMerges) {
  ASSERT_TRUE(store_->WriteRecording({"phc_b", kSession, "w1", "", &b_}).ok());
  auto a = store_->ExportSession(kSession, "phc_a");
  auto b = store_->ExportSession(kSession, "phc_b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->find("project-a"), std::string::npos);
  EXPECT_EQ(a->find("project-b"), std::string::npos);
  EXPECT_NE(b->find("project-b"), std::string::npos);
  EXPECT_EQ(b->find("project-a"), std::string::npos);
  auto ambiguous = store_->ExportSession(kSession, "");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.status().code(), Code::kInvalidInput);
}

TEST_F(ExportScopeTest, AdminExportTakesTheTokenAndRefusesAmbiguity) {
  ASSERT_TRUE(store_->WriteRecording({"phc_b", kSession, "w1", "", &b_}).ok());
  auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
  ASSERT_TRUE(set.ok());
  server::AppConfig cfg;
  cfg.admin_token = "s3cret-admin";
  cfg.pseudonym_key = "k";
  server::App app(cfg, *set, store_.get(), nullptr, nullptr);
  auto get = [&](const std::string& target) {
    server::HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.headers["authorization"] = "Bearer s3cret-admin";
    return app.Handle(r);
  };
  const std::string path = std::string("/admin/sessions/") + kSession + "/export";
  server::HttpResponse ambiguous = get(path);
  EXPECT_EQ(ambiguous.status, 400u) << ambiguous.body;
  server::HttpResponse b = get(path + "?token=phc_b");
  ASSERT_EQ(b.status, 200u) << b.body;
  EXPECT_NE(b.body.find("project-b"), std::string::npos);
  EXPECT_EQ(b.body.find("project-a"), std::string::npos);
  EXPECT_EQ(get(path + "?token=phc_nope").status, 404u);
}

}  // namespace
}  // namespace scrubd::sink
