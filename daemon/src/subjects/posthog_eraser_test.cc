#include "subjects/posthog_eraser.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "support/fake_posthog.h"
#include "support/fixtures.h"

namespace scrubd::subjects {
namespace {
namespace fs = std::filesystem;
using scrubd::testing::FakePosthog;
using scrubd::testing::TempDir;
using std::chrono::milliseconds;

constexpr char kKey[] = "phx_CANARYKEY0123456789abcdef";
constexpr char kProject[] = "42";

void WriteKey(const fs::path& p, const std::string& content, mode_t mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  ::chmod(p.c_str(), mode);
}

// Decorates the real client: `hook` may answer a request itself (std::nullopt passes it on).
class HookClient : public sink::UpstreamClient {
 public:
  using Hook =
      std::function<std::optional<Result<sink::UpstreamResponse>>(const sink::UpstreamRequest&)>;
  HookClient(sink::UpstreamClient* inner, Hook hook) : inner_(inner), hook_(std::move(hook)) {}
  Result<sink::UpstreamResponse> Exchange(const sink::UpstreamRequest& req) override {
    if (auto canned = hook_(req)) return *canned;
    return inner_->Exchange(req);
  }

 private:
  sink::UpstreamClient* inner_;
  Hook hook_;
};

class PosthogEraserTest : public ::testing::Test {
 protected:
  PosthogEraserTest() : fake_(kProject, kKey) {
    WriteKey(dir_.path() / "posthog.key", std::string(kKey) + "\n", 0600);
    auto cfg = LoadPosthogEraseConfig(fake_.url(), kProject, dir_.path() / "posthog.key");
    EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
    cfg_ = *cfg;
    auto client = MakePosthogApiClient(cfg_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
    eraser_ = MakePosthogEraser(cfg_, client_.get());
  }
  std::string PersonsPath() const { return std::string("/api/projects/") + kProject + "/persons/"; }
  std::vector<std::string> Targets() const {
    std::vector<std::string> out;
    for (const auto& s : fake_.Requests()) out.push_back(s.method + " " + s.target);
    return out;
  }
  size_t Count(const std::string& method) const {
    size_t n = 0;
    for (const auto& s : fake_.Requests()) n += s.method == method;
    return n;
  }

  TempDir dir_;
  FakePosthog fake_;
  PosthogEraseConfig cfg_;
  std::unique_ptr<sink::UpstreamClient> client_;
  std::unique_ptr<UpstreamEraser> eraser_;
};

TEST_F(PosthogEraserTest, LooksUpThenDeletesOnTheDocumentedPathsWithTheBearerKey) {
  std::string uuid = fake_.AddPerson({"pid_alice"});
  std::string other = fake_.AddPerson({"pid_bob"});
  UpstreamEraseResult r = eraser_->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(r.persons_found, 1u);
  EXPECT_EQ(r.persons_deleted, 1u);
  EXPECT_EQ(Targets(),
            (std::vector<std::string>{
                "GET " + PersonsPath() + "?distinct_id=pid_alice",
                "DELETE " + PersonsPath() + uuid + "/?delete_events=true&delete_recordings=true"}));
  for (const auto& s : fake_.Requests()) EXPECT_EQ(s.authorization, std::string("Bearer ") + kKey);
  ASSERT_EQ(fake_.Deletions().size(), 1u);
  EXPECT_TRUE(fake_.Deletions()[0].delete_events);
  EXPECT_TRUE(fake_.Deletions()[0].delete_recordings);
  EXPECT_FALSE(fake_.HasPerson(uuid));
  EXPECT_TRUE(fake_.HasPerson(other));
}

TEST_F(PosthogEraserTest, DistinctIdIsPercentEncodedAndFoundByTheServer) {
  const std::string odd = "pid_a+b/c?d&e=f g#h%";
  std::string uuid = fake_.AddPerson({odd});
  UpstreamEraseResult r = eraser_->Erase({odd});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(r.persons_deleted, 1u);
  ASSERT_FALSE(fake_.Requests().empty());
  EXPECT_EQ(fake_.Requests()[0].target,
            PersonsPath() + "?distinct_id=pid_a%2Bb%2Fc%3Fd%26e%3Df%20g%23h%25");
  EXPECT_FALSE(fake_.HasPerson(uuid));
}

TEST_F(PosthogEraserTest, TwoDistinctIdsOfOnePersonDeleteItOnce) {
  std::string uuid = fake_.AddPerson({"pid_anon", "pid_user"});
  UpstreamEraseResult r = eraser_->Erase({"pid_anon", "pid_user"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(r.persons_found, 1u);
  EXPECT_EQ(r.persons_deleted, 1u);
  EXPECT_EQ(Count("GET"), 2u);
  EXPECT_EQ(Count("DELETE"), 1u);
  EXPECT_FALSE(fake_.HasPerson(uuid));
}

TEST_F(PosthogEraserTest, NoPersonIsDoneWithNothingDeleted) {
  std::string other = fake_.AddPerson({"pid_bob"});
  UpstreamEraseResult r = eraser_->Erase({"pid_nobody"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone);
  EXPECT_EQ(r.persons_found, 0u);
  EXPECT_EQ(r.detail, "no_person");
  EXPECT_EQ(Count("DELETE"), 0u);
  EXPECT_TRUE(fake_.HasPerson(other));
}

// PostHog ignores an empty distinct_id filter and lists everyone: never send one.
TEST_F(PosthogEraserTest, EmptyDistinctIdSendsNoLookupAndDeletesNobody) {
  std::string other = fake_.AddPerson({"pid_bob"});
  UpstreamEraseResult r = eraser_->Erase({"", ""});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone);
  EXPECT_EQ(r.persons_found, 0u);
  EXPECT_TRUE(fake_.Requests().empty());
  EXPECT_TRUE(fake_.HasPerson(other));
  EXPECT_EQ(eraser_->Erase({}).outcome, EraseAttempt::kDone);
}

TEST_F(PosthogEraserTest, ServiceUnavailableIsRetryThenDone) {
  std::string uuid = fake_.AddPerson({"pid_alice"});
  fake_.FailNext(1, 503);
  UpstreamEraseResult r = eraser_->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kRetry);
  EXPECT_EQ(r.detail, "lookup_http_503");
  EXPECT_EQ(r.retry_after, milliseconds(0));
  EXPECT_TRUE(fake_.HasPerson(uuid));
  r = eraser_->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_FALSE(fake_.HasPerson(uuid));
}

TEST_F(PosthogEraserTest, DeleteFailuresRetryAndA404IsAlreadyGone) {
  std::string uuid = fake_.AddPerson({"pid_alice"});
  std::optional<Result<sink::UpstreamResponse>> on_delete;
  HookClient hook(client_.get(), [&](const sink::UpstreamRequest& req) {
    return req.method == "DELETE" ? on_delete : std::nullopt;
  });
  auto eraser = MakePosthogEraser(cfg_, &hook);
  on_delete = Result<sink::UpstreamResponse>(Status::Unavailable("connect: refused"));
  UpstreamEraseResult r = eraser->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kRetry);
  EXPECT_EQ(r.detail, "delete_network");
  EXPECT_EQ(r.persons_found, 1u);
  EXPECT_EQ(r.persons_deleted, 0u);
  on_delete = Result<sink::UpstreamResponse>(sink::UpstreamResponse{502, {}, "bad gateway"});
  EXPECT_EQ(eraser->Erase({"pid_alice"}).detail, "delete_http_502");
  on_delete = Result<sink::UpstreamResponse>(sink::UpstreamResponse{403, {}, "{}"});
  EXPECT_EQ(eraser->Erase({"pid_alice"}).outcome, EraseAttempt::kFailed);
  on_delete = Result<sink::UpstreamResponse>(sink::UpstreamResponse{404, {}, "{}"});
  r = eraser->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(r.persons_deleted, 1u);
  EXPECT_TRUE(fake_.HasPerson(uuid));  // the hook answered; the fake never saw a DELETE
}

TEST_F(PosthogEraserTest, UnreachableUpstreamIsRetry) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  std::string closed = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port());
  a.close();
  PosthogEraseConfig cfg = cfg_;
  cfg.api_host = closed;
  auto client = MakePosthogApiClient(cfg);
  ASSERT_TRUE(client.ok());
  UpstreamEraseResult r = MakePosthogEraser(cfg, client->get())->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kRetry);
  EXPECT_EQ(r.detail, "lookup_network");
}

TEST_F(PosthogEraserTest, UnauthorizedAndForbiddenFail) {
  fake_.AddPerson({"pid_alice"});
  PosthogEraseConfig wrong = cfg_;
  wrong.api_key = "phx_wrong";
  UpstreamEraseResult r = MakePosthogEraser(wrong, client_.get())->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kFailed);
  EXPECT_EQ(r.detail, "lookup_http_401");
  fake_.FailNext(1, 403);
  EXPECT_EQ(eraser_->Erase({"pid_alice"}).outcome, EraseAttempt::kFailed);
  PosthogEraseConfig other_project = cfg_;
  other_project.project_id = "7";
  r = MakePosthogEraser(other_project, client_.get())->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kFailed);  // a lookup 404 is a wrong project, not "gone"
  EXPECT_EQ(r.detail, "lookup_http_404");
  EXPECT_EQ(Count("DELETE"), 0u);
  EXPECT_EQ(fake_.PersonCount(), 1u);
}

TEST_F(PosthogEraserTest, RetryAfterSecondsIsHonouredAndCapped) {
  fake_.AddPerson({"pid_alice"});
  fake_.FailNext(1, 429, "7");
  UpstreamEraseResult r = eraser_->Erase({"pid_alice"});
  EXPECT_EQ(r.outcome, EraseAttempt::kRetry);
  EXPECT_EQ(r.detail, "lookup_http_429");
  EXPECT_EQ(r.retry_after, milliseconds(7000));
  EXPECT_GE(NextRetryDelay(r, 1), milliseconds(7000));
  EXPECT_GE(NextRetryDelay(r, 30), RetryDelay(30, 0.0));
  fake_.FailNext(1, 503, "99999999");
  EXPECT_EQ(eraser_->Erase({"pid_alice"}).retry_after, kMaxRetryAfter);
  fake_.FailNext(1, 503, "Wed, 21 Oct 2026 07:28:00 GMT");  // date form: backoff applies
  EXPECT_EQ(eraser_->Erase({"pid_alice"}).retry_after, milliseconds(0));
  EXPECT_EQ(eraser_->Erase({"pid_alice"}).outcome, EraseAttempt::kDone);
}

TEST_F(PosthogEraserTest, FollowsNextPagesOnTheConfiguredHostOnly) {
  fake_.SetPageSize(1);
  std::string a = fake_.AddPerson({"pid_dup"});
  std::string b = fake_.AddPerson({"pid_dup"});
  UpstreamEraseResult r = eraser_->Erase({"pid_dup"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(r.persons_found, 2u);
  EXPECT_EQ(r.persons_deleted, 2u);
  EXPECT_EQ(Count("GET"), 3u);  // two full pages, then an empty one
  EXPECT_EQ(fake_.Requests()[1].target, PersonsPath() + "?distinct_id=pid_dup&limit=1&offset=1");
  EXPECT_FALSE(fake_.HasPerson(a) || fake_.HasPerson(b));

  // A `next` naming another host: only its query is used, on our own host and path.
  std::string c = fake_.AddPerson({"pid_x"});
  fake_.AnswerNext({200, "",
                    R"({"next":"http://evil.example/steal/?distinct_id=pid_x&offset=0",)"
                    R"("results":[]})"});
  r = eraser_->Erase({"pid_x"});
  EXPECT_EQ(r.outcome, EraseAttempt::kDone) << r.detail;
  EXPECT_EQ(fake_.Requests().back().method, "DELETE");
  bool followed = false;
  for (const auto& s : fake_.Requests())
    followed |= s.target == PersonsPath() + "?distinct_id=pid_x&offset=0";
  EXPECT_TRUE(followed);
  EXPECT_FALSE(fake_.HasPerson(c));
}

// Hostile or broken lookup answers never lead to a DELETE.
TEST_F(PosthogEraserTest, BadLookupAnswersNeverDelete) {
  std::string uuid = fake_.AddPerson({"pid_alice"});
  struct Case {
    std::string body;
    EraseAttempt outcome;
    std::string detail;
  };
  const std::string person = R"({"uuid":")" + uuid + R"(","distinct_ids":["pid_alice"]})";
  std::vector<Case> cases = {
      {"<html>bad gateway</html>", EraseAttempt::kRetry, "lookup_bad_json"},
      {R"({"results":[)", EraseAttempt::kRetry, "lookup_bad_json"},
      {R"({"results":{}})", EraseAttempt::kFailed, "lookup_bad_shape"},
      {R"([])", EraseAttempt::kFailed, "lookup_bad_shape"},
      {R"({"results":[{"uuid":"../../../organizations/1","distinct_ids":["pid_alice"]}]})",
       EraseAttempt::kFailed, "lookup_bad_uuid"},
      {R"({"results":[{"uuid":7,"distinct_ids":["pid_alice"]}]})", EraseAttempt::kFailed,
       "lookup_bad_uuid"},
      {R"({"results":[{"uuid":")" + uuid + R"("}]})", EraseAttempt::kFailed, "lookup_bad_shape"},
      // The filter was ignored: a person without the id asked for.
      {R"({"results":[)" + person +
           R"(,{"uuid":"0190b3c4-5e6f-7a8b-9c0d-000000000099",)"
           R"("distinct_ids":["pid_bob"]}]})",
       EraseAttempt::kFailed, "lookup_unfiltered"},
      {R"({"next":5,"results":[]})", EraseAttempt::kFailed, "lookup_bad_next"},
      {R"({"next":"http://h/p/?a=b c","results":[]})", EraseAttempt::kFailed, "lookup_bad_next"},
      {std::string(5u << 20, ' ') + "{}", EraseAttempt::kFailed, "lookup_too_large"},
  };
  for (const Case& c : cases) {
    fake_.AnswerNext({200, "", c.body});
    UpstreamEraseResult r = eraser_->Erase({"pid_alice"});
    EXPECT_EQ(r.outcome, c.outcome) << c.body.substr(0, 80);
    EXPECT_EQ(r.detail, c.detail) << c.body.substr(0, 80);
  }
  EXPECT_EQ(Count("DELETE"), 0u);
  EXPECT_TRUE(fake_.HasPerson(uuid));
}

TEST_F(PosthogEraserTest, LogsAndDetailsCarryNeitherTheIdNorTheKey) {
  const std::string canary = "pid_CANARY_7f3a9e";
  fake_.AddPerson({canary});
  std::ostringstream captured;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  std::vector<std::string> details;
  fake_.FailNext(1, 503);
  details.push_back(eraser_->Erase({canary}).detail);
  fake_.AnswerNext({200, "", "not json " + canary});
  details.push_back(eraser_->Erase({canary}).detail);
  PosthogEraseConfig wrong = cfg_;
  wrong.api_key = std::string(kKey) + "X";
  details.push_back(MakePosthogEraser(wrong, client_.get())->Erase({canary}).detail);
  details.push_back(eraser_->Erase({canary}).detail);
  spdlog::set_default_logger(previous);
  const std::string text = captured.str();
  EXPECT_NE(text.find("posthog erasure"), std::string::npos) << text;
  for (const std::string& needle : {canary, std::string("CANARY"), std::string(kKey)}) {
    EXPECT_EQ(text.find(needle), std::string::npos) << text;
    for (const std::string& d : details) EXPECT_EQ(d.find(needle), std::string::npos) << d;
  }
  EXPECT_EQ(fake_.PersonCount(), 0u);
}

TEST(PosthogEraseConfigTest, KeyFileMustBeOwnerOnlyAndOneToken) {
  TempDir d;
  const fs::path key = d.path() / "k";
  WriteKey(key, "  phx_abc123\n", 0600);
  auto ok = LoadPosthogEraseConfig("https://eu.posthog.com", "12345", key);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->api_key, "phx_abc123");
  EXPECT_EQ(ok->project_id, "12345");
  struct Bad {
    std::string content;
    mode_t mode;
  };
  for (const Bad& b : std::vector<Bad>{{"phx_CANARYSECRET", 0644},
                                       {"phx_CANARYSECRET", 0640},
                                       {"phx_CANARYSECRET", 0604},
                                       {" \n\t", 0600},
                                       {"", 0600},
                                       {"phx_CANARYSECRET\r\nX-Evil: 1", 0600},
                                       {"phx_CANARY SECRET", 0600},
                                       {std::string(600, 'k'), 0600}}) {
    WriteKey(key, b.content, b.mode);
    auto r = LoadPosthogEraseConfig("https://eu.posthog.com", "12345", key);
    ASSERT_FALSE(r.ok()) << b.content << " " << b.mode;
    EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
    EXPECT_EQ(r.status().message().find("CANARY"), std::string::npos) << r.status().message();
  }
  EXPECT_FALSE(LoadPosthogEraseConfig("https://eu.posthog.com", "1", d.path() / "absent").ok());
  EXPECT_FALSE(LoadPosthogEraseConfig("https://eu.posthog.com", "1", d.path()).ok());
}

TEST(PosthogEraseConfigTest, HostAndProjectIdAreValidated) {
  TempDir d;
  const fs::path key = d.path() / "k";
  WriteKey(key, "phx_abc123", 0600);
  for (const char* id : {"", "12a", "../1", "1/persons", "-1", "123456789012345678901"})
    EXPECT_FALSE(LoadPosthogEraseConfig("https://eu.posthog.com", id, key).ok()) << id;
  for (const char* host : {"http://eu.posthog.com", "ftp://x", "https://", "https://u:p@h",
                           "https://h/?q=1", "eu.posthog.com"})
    EXPECT_FALSE(LoadPosthogEraseConfig(host, "1", key).ok()) << host;
  for (const char* host : {"https://us.posthog.com", "https://ph.example.com:8443/prefix",
                           "http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:80"})
    EXPECT_TRUE(LoadPosthogEraseConfig(host, "1", key).ok()) << host;
}

TEST(RetryDelayTest, MonotoneForAFixedDrawAndCapped) {
  EXPECT_EQ(RetryDelay(1, 0.0), kRetryBase / 2);
  EXPECT_EQ(RetryDelay(0, 0.3), RetryDelay(1, 0.3));
  for (double u : {0.0, 0.25, 0.5, 0.999}) {
    milliseconds prev{0};
    for (uint32_t n = 1; n <= 40; ++n) {
      milliseconds d = RetryDelay(n, u);
      EXPECT_GE(d, prev) << n << " " << u;
      EXPECT_LE(d, kRetryMax);
      EXPECT_GE(d, kRetryBase / 2);
      prev = d;
    }
    EXPECT_GE(RetryDelay(40, u), kRetryMax / 2);
  }
  for (uint32_t n : {1u, 2u, 5u, 20u, 1000u, UINT32_MAX}) {
    milliseconds d = RetryDelay(n);
    EXPECT_GE(d, RetryDelay(n, 0.0));
    EXPECT_LE(d, RetryDelay(n, 1.0));
    EXPECT_LE(d, kRetryMax);
  }
}

}  // namespace
}  // namespace scrubd::subjects
