// The per-request CPU deadline (AppConfig::request_deadline): a batch past it is rejected
// whole with 503 deadline_exceeded, counted, audited as batch_rejected, and nothing of it is
// stored.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

struct Harness {
  explicit Harness(std::chrono::nanoseconds deadline) {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    EXPECT_TRUE(set.ok());
    store = std::move(sink::LocalStore::Open(dir.path())).value();
    dom::StateStore::Options o;
    o.dir = dir.path() / "state";
    state = std::move(dom::StateStore::Open(o)).value();
    AppConfig cfg;
    cfg.pseudonym_key = "k";
    cfg.request_deadline = deadline;
    app = std::make_unique<App>(cfg, *set, store.get(), state.get(), nullptr);
  }
  HttpResponse Post(const std::string& target, const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = body;
    r.headers["content-type"] = "text/plain";
    return app->Handle(r);
  }
  TempDir dir;
  std::unique_ptr<sink::LocalStore> store;
  std::unique_ptr<dom::StateStore> state;
  std::unique_ptr<App> app;
};

TEST(RequestDeadlineTest, BatchPastTheDeadlineIsRejectedWholeAndCounted) {
  Harness h(std::chrono::nanoseconds(1));
  HttpResponse r = h.Post("/s/", Fixture("0008.body"));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(json::parse(r.body).at("error").as_string(), "deadline_exceeded");
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 1u);
  EXPECT_EQ(h.app->metrics().batches_ok.load(), 0u);
  auto list = h.store->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(h.Post("/e/", Fixture("0009.body")).status, 503u);  // events too
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 2u);
}

TEST(RequestDeadlineTest, TheDefaultDeadlineLetsRealBatchesThrough) {
  Harness h(AppConfig{}.request_deadline);
  EXPECT_EQ(h.Post("/s/", Fixture("0008.body")).status, 200u);
  EXPECT_EQ(h.app->metrics().deadline_exceeded.load(), 0u);
  auto list = h.store->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

}  // namespace
}  // namespace scrubd::server
