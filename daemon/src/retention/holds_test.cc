// Legal holds: the store (add, list, release, persistence across reopen, permissions,
// validation), what the active holds cover (a distinct-id hold covers a session recorded
// after it), the audit entries (never the reason, never a raw id) and the /admin/holds
// handler's answers to bad input.
#include "retention/holds.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <sstream>

#include "retention/holds_api.h"
#include "scrub/identity.h"
#include "scrubd/audit/log.h"
#include "subjects/facts.h"
#include "support/canary.h"
#include "support/fixtures.h"

namespace scrubd::retention {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr char kMaster[] = "holds-test-master-key-0123456789";
constexpr char kToken[] = "phc_holds1";
constexpr char kS1[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kS2[] = "01a20355-2222-723a-837c-2bcc756c76c4";
constexpr char kS3[] = "01a20355-3333-723a-837c-2bcc756c76c4";

// A recorded $pageview of `distinct_id` in `session` (facts as ingest computes them).
subjects::EventFacts Pageview(const std::string& distinct_id, const std::string& session,
                              const std::string& uuid) {
  ingest::Event ev;
  ev.json = json::object{
      {"event", "$pageview"},
      {"uuid", uuid},
      {"properties",
       json::object{{"distinct_id", distinct_id}, {"$session_id", session}, {"token", kToken}}}};
  ev.token = kToken;
  ev.name = "$pageview";
  ev.session_id = session;
  return subjects::FactsOf(ev, kMaster);
}

Hold SessionHold(std::string session, std::string token = "") {
  Hold h;
  h.kind = std::string(kHoldSession);
  h.session_id = std::move(session);
  h.token = std::move(token);
  h.reason = "litigation 2026-17";
  return h;
}

class HoldsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto holds = HoldStore::Open(dir_.path());
    ASSERT_TRUE(holds.ok()) << holds.status().ToString();
    holds_ = std::move(holds).value();
    auto index = subjects::OpenSqliteSubjectStore(dir_.path());
    ASSERT_TRUE(index.ok());
    index_ = std::move(index).value();
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    stores_.index = index_.get();
    stores_.audit = log_.get();
    stores_.data_dir = dir_.path();
    stores_.master_key = kMaster;
    stores_.pseudonym_key = "holds-test-pseudonym-key";
    ctx_ = {holds_.get(), &stores_, [this] { ++released_; }};
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_);
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  void TearDown() override {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    if (log_) {
      EXPECT_TRUE(log_->Close().ok());
    }
  }
  subjects::ApiReply Call(const std::string& method, const std::string& path,
                          const std::string& body = "") {
    return HandleAdminHolds(ctx_, {method, path, body}, "admin@test");
  }
  // Neither a log line nor a byte of the audit log holds `canary`.
  void ExpectUnlogged(const std::string& canary) {
    EXPECT_EQ(logs_.str().find(canary), std::string::npos) << canary;
    testing::ExpectAbsentEverywhere(dir_.path() / "audit", canary);
  }

  testing::TempDir dir_;
  std::unique_ptr<HoldStore> holds_;
  std::unique_ptr<subjects::SubjectStore> index_;
  std::unique_ptr<audit::Log> log_;
  subjects::Stores stores_;
  HoldsContext ctx_;
  int released_ = 0;
  std::ostringstream logs_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(HoldsTest, AddListReleaseSurviveAReopenInPrivateFiles) {
  Result<Hold> a = holds_->Add(SessionHold(kS1, kToken));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(IsHoldId(a->id)) << a->id;
  EXPECT_GT(a->created_ms, 0);
  EXPECT_EQ(a->released_ms, 0);
  Result<Hold> b = holds_->Add(SessionHold(kS2));
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->id, b->id);
  Result<Hold> released = holds_->Release(a->id);
  ASSERT_TRUE(released.ok());
  EXPECT_GT(released->released_ms, 0);
  EXPECT_EQ(holds_->Release(a->id).status().code(), Code::kInvalidInput);  // twice
  EXPECT_EQ(holds_->Release("hold_0000000000000000").status().code(), Code::kNotFound);
  holds_.reset();
  auto reopened = HoldStore::Open(dir_.path());
  ASSERT_TRUE(reopened.ok());
  Result<std::vector<Hold>> active = (*reopened)->Active();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].id, b->id);
  EXPECT_EQ((*active)[0].session_id, kS2);
  EXPECT_EQ((*active)[0].reason, "litigation 2026-17");
  Result<std::vector<Hold>> all = (*reopened)->List(true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  auto first = std::find_if(all->begin(), all->end(), [&](const Hold& h) { return h.id == a->id; });
  ASSERT_NE(first, all->end());
  EXPECT_EQ(first->token, kToken);
  EXPECT_GT(first->released_ms, 0);
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() / "holds").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir_.path() / "holds" / "holds.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HoldsTest, AddRefusesWhatIsNotAHoldAndNamesTheField) {
  struct Case {
    Hold h;
    std::string says;
  };
  std::vector<Case> cases;
  auto with = [](auto change) {
    Hold h = SessionHold(kS1);
    change(h);
    return h;
  };
  cases.push_back({with([](Hold& h) { h.reason = ""; }), "reason"});
  cases.push_back({with([](Hold& h) { h.reason = std::string(1025, 'r'); }), "reason"});
  cases.push_back({with([](Hold& h) { h.reason = "line\nbreak"; }), "reason"});
  cases.push_back({with([](Hold& h) { h.reason = "bad \xff utf8"; }), "reason"});
  cases.push_back({with([](Hold& h) { h.reason = "c1 \xc2\x85 control"; }), "reason"});
  cases.push_back({with([](Hold& h) { h.kind = "everything"; }), "kind"});
  cases.push_back({with([](Hold& h) { h.session_id = "not a session"; }), "session"});
  cases.push_back({with([](Hold& h) { h.token = "bad token!"; }), "token"});
  cases.push_back({with([](Hold& h) { h.seeds = {"phc_x\ti:pid_1"}; }), "seeds"});
  Hold d;
  d.kind = std::string(kHoldDistinctId);
  d.reason = "case";
  cases.push_back({d, "seeds"});  // no seeds
  d.seeds = {std::string(kToken) + "\traw-person@example.com"};
  cases.push_back({d, "pseudonym"});
  d.seeds = {std::string(kToken) + "\ti:pid_abc"};
  d.session_id = kS1;
  cases.push_back({d, "session"});
  for (const Case& c : cases) {
    Result<Hold> r = holds_->Add(c.h);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
  EXPECT_TRUE(holds_->List(true)->empty());
  std::string ok_utf8 = "Rechtsstreit \xc3\xa4 \xe2\x82\xac \xf0\x9f\x93\x81";
  EXPECT_TRUE(holds_->Add(with([&](Hold& h) { h.reason = ok_utf8; })).ok());
}

TEST_F(HoldsTest, SessionHoldsMatchTheirTokenOrAny) {
  Result<Hold> scoped = holds_->Add(SessionHold(kS1, kToken));
  Result<Hold> any = holds_->Add(SessionHold(kS2));
  ASSERT_TRUE(scoped.ok() && any.ok());
  Result<HeldSet> set = ResolveHolds(*holds_->Active(), nullptr);  // no distinct_id hold
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_FALSE(set->empty());
  EXPECT_EQ(set->HoldOf(kToken, kS1, ""), scoped->id);
  EXPECT_EQ(set->HoldOf("phc_other", kS1, ""), "");
  EXPECT_EQ(set->HoldOf("phc_other", kS2, ""), any->id);
  EXPECT_EQ(set->HoldOf(kToken, kS3, ""), "");
  EXPECT_EQ(set->HoldOf("", "", ""), "");
  Result<Hold> second = holds_->Add(SessionHold(kS1));  // two holds on one session
  ASSERT_TRUE(second.ok());
  set = ResolveHolds(*holds_->Active(), nullptr);
  std::vector<std::string> both = set->HoldsOf(kToken, kS1, "");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(set->HoldOf(kToken, kS1, ""), std::min(scoped->id, second->id));
  ASSERT_TRUE(holds_->Release(second->id).ok());
  ASSERT_TRUE(holds_->Release(scoped->id).ok());
  set = ResolveHolds(*holds_->Active(), nullptr);
  EXPECT_EQ(set->HoldOf(kToken, kS1, ""), "");  // released holds cover nothing
  EXPECT_TRUE(ResolveHolds({}, nullptr)->empty());
}

TEST_F(HoldsTest, DistinctIdHoldCoversASessionRecordedAfterIt) {
  const std::string person = "hold-person-canary-zq1";
  ASSERT_TRUE(
      index_->Record({{Pageview(person, kS1, "01a20355-0000-7000-8000-000000000001")}}).ok());
  Result<Hold> h = PlaceHold(ctx_, {person, "", "", "case 42"}, "test");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->kind, kHoldDistinctId);
  ASSERT_FALSE(h->seeds.empty());
  // Recorded after the hold: a new session, and the person's events under a new anonymous id
  // linked by $identify.
  ASSERT_TRUE(
      index_->Record({{Pageview(person, kS2, "01a20355-0000-7000-8000-000000000002")}}).ok());
  Result<HeldSet> set = ResolveHolds(*holds_->Active(), index_.get());
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->HoldOf(kToken, kS1, ""), h->id);
  EXPECT_EQ(set->HoldOf(kToken, kS2, ""), h->id);
  EXPECT_EQ(set->HoldOf(kToken, kS3, ""), "");
  const std::string pid = scrub::IdentifierPseudonym(kMaster, kToken, person);
  EXPECT_EQ(set->HoldOf(kToken, kS3, pid), h->id);  // a stored row naming the person
  EXPECT_EQ(set->HoldOf("phc_other", kS3, pid), "");
  Result<std::vector<std::string>> covering =
      HoldsCovering(*holds_, index_.get(), {{kToken, kS2}}, {});
  ASSERT_TRUE(covering.ok());
  EXPECT_EQ(*covering, std::vector<std::string>{h->id});
  EXPECT_TRUE(HoldsCovering(*holds_, index_.get(), {{kToken, kS3}}, {})->empty());
  EXPECT_EQ(ResolveHolds(*holds_->Active(), nullptr).status().code(), Code::kUnavailable);
  // The raw id is nowhere on disk: the hold keeps its pseudonyms.
  testing::ExpectAbsentEverywhere(dir_.path(), person);
}

TEST_F(HoldsTest, DistinctIdHoldNeedsAProjectAndAPersonId) {
  EXPECT_EQ(PlaceHold(ctx_, {"someone", "", "", "case"}, "t").status().code(),
            Code::kInvalidInput);  // no project recorded yet: no seeds
  ASSERT_TRUE(
      index_->Record({{Pageview("x-1", kS1, "01a20355-0000-7000-8000-000000000001")}}).ok());
  EXPECT_EQ(PlaceHold(ctx_, {"anonymous", "", "", "case"}, "t").status().code(),
            Code::kInvalidInput);  // not a person id
  EXPECT_EQ(PlaceHold(ctx_, {"x-1", kS1, "", "case"}, "t").status().code(), Code::kInvalidInput);
  EXPECT_EQ(PlaceHold(ctx_, {"x-1", "", kToken, "case"}, "t").status().code(),
            Code::kInvalidInput);  // token goes with a session
  EXPECT_TRUE(PlaceHold(ctx_, {"x-1", "", "", "case"}, "t").ok());
}

// The reason and the raw ids reach neither a log line nor the audit log; the audit entries
// name the hold, its kind and pseudonyms only.
TEST_F(HoldsTest, AuditEntriesCarryPseudonymsNeverTheReason) {
  ASSERT_TRUE(
      index_->Record({{Pageview("seen-1", kS1, "01a20355-0000-7000-8000-000000000001")}}).ok());
  const std::string reason = "reason.canary.zq@example.org asked by counsel";
  const std::string person = "person.canary.zq@example.org";
  const std::string session = "01a20355-cafe-7000-8000-00000000ca11";  // canary session id
  Result<Hold> d = PlaceHold(ctx_, {person, "", "", reason}, "admin@x");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Result<Hold> s = PlaceHold(ctx_, {"", session, kToken, reason}, "admin@x");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(ReleaseHold(ctx_, s->id, "admin@x").ok());
  EXPECT_EQ(released_, 1);
  EXPECT_EQ(ReleaseHold(ctx_, s->id, "admin@x").status().code(), Code::kInvalidInput);
  EXPECT_EQ(released_, 1);
  std::string audit = testing::DirBytes(dir_.path() / "audit");
  EXPECT_NE(audit.find("hold_added"), std::string::npos);
  EXPECT_NE(audit.find(d->id), std::string::npos);
  EXPECT_NE(audit.find(subjects::SubjectId(stores_, d->seeds)), std::string::npos);
  EXPECT_NE(audit.find("hold_released"), std::string::npos);
  EXPECT_NE(logs_.str().find(d->id), std::string::npos);  // the sink saw the hold
  for (const std::string& c : {reason, std::string("reason.canary"), person, session})
    ExpectUnlogged(c);
  testing::ExpectAbsentEverywhere(dir_.path(), person);
  // The reason is stored, as given, and only in the hold store.
  EXPECT_EQ(holds_->List(true)->at(0).reason, reason);
}

// Every field POST /admin/holds accepts, carrying a canary in a bad body: 400 with a JSON
// error that never quotes it, nothing logged or audited with it, no hold made.
TEST_F(HoldsTest, BadBodiesAre400JsonErrorsThatNeverQuoteTheInput) {
  const std::string c = "body.canary.zq";
  const std::string bodies[] = {
      "not json " + c,
      "[\"" + c + "\"]",
      R"({"reason":"r","distinct_id":")" + c + R"(","session":")" + c + R"("})",
      R"({"reason":"r","session":")" + c + R"("})",
      R"({"reason":"r","session":")" + std::string(kS1) + R"(","token":")" + c + R"( !"})",
      R"({"reason":"r","distinct_id":")" + c + R"(","token":"phc_x"})",
      R"({"reason":")" + c + R"(\n"})",
      R"({"reason":")" + c + R"(","distinct_id":")" + c + R"(\u0001"})",
      R"({"reason":")" + c + R"("})",
      R"({"reason":")" + c + R"(","session":")" + std::string(kS1) + R"(","extra":")" + c + R"("})",
      R"({")" + c + R"(":"x","session":")" + std::string(kS1) + R"(","reason":"r"})",
      R"({"reason":")" + std::string(1100, 'r') + R"(","session":")" + std::string(kS1) + R"("})",
      R"({"reason":7,"session":")" + std::string(kS1) + R"("})",
      R"({"reason":"r","session":{"x":")" + c + R"("}})",
  };
  for (const std::string& b : bodies) {
    subjects::ApiReply r = Call("POST", "/admin/holds", b);
    EXPECT_EQ(r.status, 400u) << b << " -> " << r.body;
    EXPECT_EQ(r.body.find(c), std::string::npos) << r.body;
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(v.as_object().at("error").as_string(), "invalid_input") << r.body;
    EXPECT_TRUE(v.as_object().at("message").is_string());
  }
  EXPECT_EQ(Call("POST", "/admin/holds", std::string(20 << 10, ' ')).status, 413u);
  EXPECT_EQ(Call("POST", "/admin/holds/" + c + "/release").status, 400u);
  EXPECT_EQ(Call("POST", "/admin/holds/hold_0123456789abcdef/release").status, 404u);
  EXPECT_EQ(Call("GET", "/admin/holds/hold_0123456789abcdef/release").status, 405u);
  EXPECT_EQ(Call("DELETE", "/admin/holds").status, 405u);
  EXPECT_EQ(Call("GET", "/admin/holds?all=" + c).status, 400u);
  EXPECT_EQ(Call("GET", "/admin/holdsx").status, 404u);
  EXPECT_TRUE(holds_->List(true)->empty());
  ExpectUnlogged(c);
}

TEST_F(HoldsTest, AdminRoutesPlaceListAndRelease) {
  subjects::ApiReply r =
      Call("POST", "/admin/holds",
           R"({"session":")" + std::string(kS1) + R"(","token":"phc_holds1","reason":"case 9"})");
  ASSERT_EQ(r.status, 201u) << r.body;
  json::object h = json::parse(r.body).as_object();
  std::string id(h.at("hold_id").as_string());
  EXPECT_EQ(h.at("status").as_string(), "active");
  EXPECT_EQ(h.at("session_id").as_string(), kS1);
  EXPECT_EQ(h.at("reason").as_string(), "case 9");
  EXPECT_TRUE(h.contains("created_time"));
  subjects::ApiReply list = Call("GET", "/admin/holds");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(json::parse(list.body).at("holds").as_array().size(), 1u);
  subjects::ApiReply rel = Call("POST", "/admin/holds/" + id + "/release");
  ASSERT_EQ(rel.status, 200u) << rel.body;
  EXPECT_EQ(json::parse(rel.body).at("status").as_string(), "released");
  EXPECT_EQ(released_, 1);
  EXPECT_EQ(Call("POST", "/admin/holds/" + id + "/release").status, 400u);
  EXPECT_TRUE(json::parse(Call("GET", "/admin/holds").body).at("holds").as_array().empty());
  EXPECT_EQ(json::parse(Call("GET", "/admin/holds?all=1").body).at("holds").as_array().size(), 1u);
}

}  // namespace
}  // namespace scrubd::retention
