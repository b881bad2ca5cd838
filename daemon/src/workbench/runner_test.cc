// RunPolicy and DecodeOnly over the real checkout fixture: the same pipeline as serve (what it
// stores, counts and drops), everything read back, and every byte of the run searchable.
#include "workbench/runner.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "support/fixtures.h"
#include "workbench/replay_dom.h"

namespace scrubd::workbench {
namespace {
namespace json = boost::json;

constexpr char kEmail[] = "jane.doe@example.com";   // typed, logged, in a custom event
constexpr char kSsn[] = "078-05-1120";              // typed into input#ssn
constexpr char kMedical[] = "Secret medical note";  // inside [data-ph-no-capture]

std::vector<CapturedRequest> Checkout() {
  Result<std::vector<CapturedRequest>> in = LoadCaptureDir(scrubd::testing::FixtureDir());
  EXPECT_TRUE(in.ok()) << in.status().ToString();
  return in.ok() ? *in : std::vector<CapturedRequest>{};
}

std::shared_ptr<const policies::PolicySet> Policy(const std::string& yaml) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: t\n" + yaml, {"k", "ik"});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::make_shared<const policies::PolicySet>(
      std::vector<std::shared_ptr<const policies::Policy>>{*p});
}

std::shared_ptr<const policies::PolicySet> Default() {
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? *set : nullptr;
}

TEST(RunnerTest, DefaultPolicyStoresTheCheckoutSessionWithoutItsPlantedValues) {
  Result<RunResult> r = RunPolicy(Default(), Checkout());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->rejected.empty()) << r->rejected.front();
  ASSERT_EQ(r->sessions.size(), 1u);
  const StoredSession& s = r->sessions.front();
  EXPECT_EQ(s.token, "phc_testkey123");
  EXPECT_EQ(s.session_id, "01a20355-1c58-723a-837c-2bcc756c76c4");
  ASSERT_EQ(s.windows.size(), 1u);
  EXPECT_EQ(s.windows.front().events.size(), s.events.size());
  EXPECT_GT(s.events.size(), 20u);
  EXPECT_GE(r->events.size(), 5u);  // $pageview, checkout_started, $pageleave, ...
  EXPECT_GT(r->events_in, 0u);
  EXPECT_GT(r->events_stored, s.events.size());
  for (const char* planted : {kEmail, kSsn, kMedical, "4111 1111 1111 1111"})
    EXPECT_EQ(r->bytes.find(planted), std::string::npos) << planted;
  EXPECT_NE(r->bytes.find("Pay"), std::string::npos);                 // the button label is kept
  EXPECT_NE(r->bytes.find("redactions_by_rule"), std::string::npos);  // the audit log's entries
  EXPECT_GT(r->counts.by_rule["email"], 0u);
  EXPECT_GT(r->counts.Total(), 0u);
  EXPECT_FALSE(r->counts.by_method.empty());
}

TEST(RunnerTest, DecodeOnlyHasTheSameShapeAndEveryCapturedValue) {
  std::vector<CapturedRequest> in = Checkout();
  Result<RunResult> raw = DecodeOnly(in);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  Result<RunResult> clean = RunPolicy(Default(), in);
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(raw->rejected.empty());
  ASSERT_EQ(raw->sessions.size(), 1u);
  EXPECT_EQ(raw->sessions[0].session_id, clean->sessions[0].session_id);
  EXPECT_EQ(raw->sessions[0].windows[0].window_id, clean->sessions[0].windows[0].window_id);
  EXPECT_EQ(raw->events.size(), clean->events.size());
  // The bytes of a run are searched for real: the captured values are there before scrubbing.
  for (const char* planted : {kEmail, kSsn, kMedical})
    EXPECT_NE(raw->bytes.find(planted), std::string::npos) << planted;
  EXPECT_TRUE(raw->counts.by_rule.empty());
  EXPECT_TRUE(raw->dropped.empty());
  EXPECT_EQ(raw->events_in, 7u);  // posthog events of the /e/ and /s/ bodies
}

TEST(RunnerTest, MaskedParagraphAndBlockedNoteComeOutHidden) {
  std::vector<CapturedRequest> in = Checkout();
  Result<RunResult> raw = DecodeOnly(in);
  Result<RunResult> clean = RunPolicy(Default(), in);
  ASSERT_TRUE(raw.ok() && clean.ok());
  ReplayDom before = ReplayDom::FromSession(raw->sessions[0]);
  ReplayDom after = ReplayDom::FromSession(clean->sessions[0]);
  auto blocked = policies::SelectorList::Parse("[data-ph-no-capture]");
  ASSERT_TRUE(blocked.ok());
  std::vector<DomMatch> m = before.Select(*blocked);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(VisibleTexts(*m[0].node).front().find(kMedical), std::string::npos);
  const DomDocument* doc =
      after.FindWindow(m[0].window->window_id)->FindDocument(m[0].document->timestamp);
  ASSERT_NE(doc, nullptr);
  const DomNode* n = doc->Find(m[0].node->id);
  ASSERT_NE(n, nullptr);
  EXPECT_TRUE(n->children.empty());  // a placeholder
  // The typed name: masked by mask_all_inputs.
  auto name = policies::SelectorList::Parse("input#name");
  ASSERT_TRUE(name.ok());
  std::vector<DomMatch> typed = before.Select(*name);
  ASSERT_EQ(typed.size(), 1u);
  EXPECT_EQ(typed[0].node->value, "Jane Doe");
  const DomNode* masked = after.windows()[0].documents[0].Find(typed[0].node->id);
  ASSERT_NE(masked, nullptr);
  ASSERT_TRUE(masked->value.has_value());
  EXPECT_TRUE(LooksMasked(*masked->value)) << *masked->value;
}

TEST(RunnerTest, OptInWithoutConsentStoresNothingAndCountsTheDrops) {
  Result<RunResult> r = RunPolicy(Policy("consent: {mode: opt_in}\n"), Checkout());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->sessions.empty());
  EXPECT_TRUE(r->events.empty());
  EXPECT_EQ(r->events_stored, 0u);
  uint64_t dropped = 0;
  for (const auto& [reason, n] : r->dropped) dropped += n;
  EXPECT_GT(dropped, 0u);
  EXPECT_GT(r->dropped["consent_pending"], 0u);
}

TEST(RunnerTest, BlockedEventsAreDroppedByReason) {
  Result<RunResult> r = RunPolicy(Policy("blocking: {events: [checkout_started]}\n"), Checkout());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  uint64_t dropped = 0;
  for (const auto& [reason, n] : r->dropped) dropped += n;
  EXPECT_EQ(dropped, 1u);
  for (const json::object& e : r->events) EXPECT_NE(e.at("event").as_string(), "checkout_started");
}

TEST(RunnerTest, RejectedRequestsAreNamedWithTheirCodeOnly) {
  std::vector<CapturedRequest> in = Checkout();
  in[0].request.body = "{\"broken jane.doe@example.com";
  Result<RunResult> r = RunPolicy(Default(), in);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0], "0000: 400 invalid_input");
  EXPECT_EQ(r->bytes.find(kEmail), std::string::npos);
  Result<RunResult> raw = DecodeOnly(in);
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->rejected.size(), 1u);
  EXPECT_EQ(raw->rejected[0], "0000: 400 invalid_input");
}

// Adversarial: a canary in every field a captured request carries (path query, each header,
// the body's properties) never reaches a stored, indexed, audited or logged byte.
TEST(RunnerTest, CanaryInEveryRequestFieldIsAbsentFromEveryByte) {
  const std::string canary = "zq.canary@example.com";
  std::vector<CapturedRequest> in = Checkout();
  for (CapturedRequest& c : in) {
    c.request.target += (c.request.target.find('?') == std::string::npos ? "?" : "&");
    c.request.target += "x=" + canary;
    for (auto& [name, value] : c.request.headers)
      if (name != "content-type" && name != "content-length") value += " " + canary;
    c.request.headers["x-canary"] = canary;
  }
  Result<RunResult> r = RunPolicy(Default(), in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bytes.find("zq.canary"), std::string::npos);
  EXPECT_FALSE(r->sessions.empty());
}

TEST(RunnerTest, TheDefaultLoggerIsRestoredAfterARun) {
  std::shared_ptr<spdlog::logger> before = spdlog::default_logger();
  ASSERT_TRUE(RunPolicy(Default(), Checkout()).ok());
  EXPECT_EQ(spdlog::default_logger(), before);
}

TEST(RunnerTest, LogLinesOfTheRunAreInItsBytes) {
  Result<RunResult> r = RunPolicy(Default(), Checkout());
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->bytes.find("recording batch token=phc_testkey123"), std::string::npos);
}

}  // namespace
}  // namespace scrubd::workbench
