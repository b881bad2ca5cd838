// Test files: the strict parser (every error at file:line:col, never a value), and the checks
// over the real checkout fixture under the default policy, a loosened one and a vacuous case.
#include "workbench/policy_cases.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace scrubd::workbench {
namespace {
namespace fs = std::filesystem;

Result<TestFile> Parse(const std::string& text) { return ParseTestText("/t/p.test.yaml", text); }

TEST(PolicyCasesTest, ParsesAFileWithPathsRelativeToIt) {
  Result<TestFile> tf = Parse(R"(policy: ../pol/default.yaml
cases:
  - name: checkout
    input: data/checkout
    hidden: [jane.doe@example.com, "078-05-1120"]
    visible: [Pay]
    selectors_masked: [.ph-mask]
    selectors_blocked: ["[data-ph-no-capture]"]
    redacted_by: [email]
    max_dropped: 3
    max_dropped_by_reason: {consent: 0}
    max_rejected: 1
)");
  ASSERT_TRUE(tf.ok()) << tf.status().ToString();
  ASSERT_EQ(tf->policy_files.size(), 1u);
  EXPECT_EQ(tf->policy_files[0], "/t/../pol/default.yaml");
  ASSERT_EQ(tf->cases.size(), 1u);
  const TestCase& c = tf->cases[0];
  EXPECT_EQ(c.input, fs::path("/t/data/checkout"));
  ASSERT_EQ(c.hidden.size(), 2u);
  EXPECT_EQ(c.hidden[1].text, "078-05-1120");
  EXPECT_EQ(c.hidden[1].where, "/t/p.test.yaml:5:36");
  EXPECT_EQ(c.selectors_blocked[0].text, "[data-ph-no-capture]");
  EXPECT_EQ(*c.max_dropped, 3u);
  EXPECT_EQ(c.max_dropped_by_reason.at("consent"), 0u);
  EXPECT_EQ(c.max_rejected, 1u);
  Result<TestFile> set = Parse("policies: [a.yaml, b.yaml]\ncases: [{name: x, input: d}]\n");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->policy_files.size(), 2u);
  EXPECT_EQ(set->cases[0].max_rejected, 0u);
}

TEST(PolicyCasesTest, BadFilesAreErrorsAtTheirLocation) {
  const std::string canary = "zq.canary@example.com";
  struct Case {
    std::string text, expect;
  } cases[] = {
      {"policy: p.yaml\ncases: [{name: a, input: d, hiden: [" + canary + "]}]\n",
       "p.test.yaml:2:29: case: unknown key 'hiden'"},
      {"policy: p.yaml\ncases: [{name: a, input: d, hidden: " + canary + "}]\n",
       "p.test.yaml:2:37: case.hidden must be a list of strings"},
      {"policy: p.yaml\ncases: [{name: a}]\n", "p.test.yaml:2:9: case: input is required"},
      {"policy: p.yaml\ncases: [{input: d}]\n", "case: name is required"},
      {"policy: p.yaml\ncases: []\n", "at least one case"},
      {"cases: [{name: a, input: d}]\n", "a policy or policies is required"},
      {"policy: p.yaml\npolicies: [q.yaml]\ncases: [{name: a, input: d}]\n", "not both"},
      {"policy: p.yaml\npolcy: x\ncases: [{name: a, input: d}]\n", "unknown key 'polcy'"},
      {"policy: p.yaml\ncases: [{name: a, input: d}, {name: a, input: e}]\n", "duplicate name"},
      {"policy: p.yaml\ncases: [{name: a, input: d, selectors_masked: ['p + q']}]\n",
       "p.test.yaml:2:48: selectors_masked: "},
      {"policy: p.yaml\ncases: [{name: a, input: d, max_dropped: -1}]\n",
       "max_dropped must be a count"},
      {"policy: p.yaml\ncases: [{name: a, input: d, max_dropped_by_reason: {consent: x}}]\n",
       "max_dropped_by_reason.consent must be a count"},
      {"policy: p.yaml\ncases: [{name: a, input: d, hidden: ['']}]\n", "an empty string"},
      {"policy: [p.yaml\n" + canary, "p.test.yaml:"},
      {"", "empty test file"},
  };
  for (const Case& c : cases) {
    Result<TestFile> tf = Parse(c.text);
    ASSERT_FALSE(tf.ok()) << c.text;
    EXPECT_EQ(tf.status().code(), Code::kInvalidConfig);
    EXPECT_NE(tf.status().message().find(c.expect), std::string::npos) << c.text << "\n"
                                                                       << tf.status().message();
    EXPECT_EQ(tf.status().message().find("zq.canary"), std::string::npos) << c.text;
  }
  EXPECT_FALSE(ParseTestFile("/nonexistent/x.test.yaml").ok());
}

TEST(PolicyCasesTest, StoredFormsCoverEscapes) {
  std::vector<std::string> f = StoredForms("a\"b é@x");
  auto has = [&](const std::string& s) { return std::find(f.begin(), f.end(), s) != f.end(); };
  EXPECT_TRUE(has("a\"b é@x"));
  EXPECT_TRUE(has("a\\\"b é@x"));
  EXPECT_TRUE(has("a\\\"b \\u00e9@x"));
  EXPECT_TRUE(has("a\\\"b \\u00E9@x"));
  EXPECT_TRUE(has("a%22b%20%C3%A9%40x"));
  EXPECT_TRUE(has("a%22b+%c3%a9%40x"));
  EXPECT_EQ(StoredForms("abc").size(), 1u);
}

TestCase Checkout() {
  TestCase c;
  c.name = "checkout";
  c.where = "t.yaml:1:1";
  c.input = scrubd::testing::FixtureDir();
  c.hidden = {{"jane.doe@example.com", "t.yaml:2:1"},
              {"078-05-1120", "t.yaml:3:1"},
              {"Secret medical note", "t.yaml:4:1"}};
  c.visible = {{"Pay", "t.yaml:5:1"}, {"Checkout", "t.yaml:6:1"}};
  auto sel = [](const char* s, const char* where) {
    return SelectorCheck{s, where, *policies::SelectorList::Parse(s)};
  };
  c.selectors_masked = {sel("input#email", "t.yaml:7:1"), sel("input#name", "t.yaml:8:1")};
  c.selectors_blocked = {sel("[data-ph-no-capture]", "t.yaml:9:1")};
  c.redacted_by = {{"email", "t.yaml:10:1"}};
  c.max_dropped = 0;
  return c;
}

std::shared_ptr<const policies::PolicySet> Policy(const std::string& yaml) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: t\n" + yaml, {"k", "ik"});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::make_shared<const policies::PolicySet>(
      std::vector<std::shared_ptr<const policies::Policy>>{*p});
}

TEST(PolicyCasesTest, TheDefaultPolicyPassesTheCheckoutCase) {
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  ASSERT_TRUE(set.ok());
  Result<CaseReport> r = RunCase(Checkout(), *set);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const CheckFailure& f : r->failures) ADD_FAILURE() << f.check << ": " << f.detail;
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->sessions_in, 1u);
  EXPECT_TRUE(r->after.bytes.empty());  // not kept in the report
}

TEST(PolicyCasesTest, ALoosenedPolicyFailsWhereItLeaks) {
  // No blocking, no input masking, no detectors that find an email.
  auto loose = Policy(R"(masking:
  mask_all_inputs: false
  block: []
  mask_text: []
detectors:
  disabled: [email]
)");
  Result<CaseReport> r = RunCase(Checkout(), loose);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<std::string, std::string> failed;
  for (const CheckFailure& f : r->failures) failed[f.check] = f.detail;
  EXPECT_NE(failed["hidden[0]"].find("shown in the output, at recording 1 window 1 rrweb event"),
            std::string::npos)
      << failed["hidden[0]"];
  EXPECT_TRUE(failed.count("hidden[2]"));            // the blocked note
  EXPECT_TRUE(failed.count("selectors_masked[1]"));  // the typed name
  EXPECT_EQ(failed["selectors_blocked[0]"],
            "1 of 1 matching elements not blocked (content kept under them)");
  EXPECT_EQ(failed["redacted_by[0]"], "rule email redacted nothing");
  EXPECT_FALSE(failed.count("visible[0]"));
  for (const CheckFailure& f : r->failures)
    for (const char* v : {"jane.doe", "078-05", "Secret", "Jane Doe"})
      EXPECT_EQ(f.detail.find(v), std::string::npos) << f.check;
}

TEST(PolicyCasesTest, VacuousChecksFail) {
  TestCase c = Checkout();
  c.hidden = {{"never-typed-anywhere", "t.yaml:2:1"}};
  c.visible = {{"not on the page", "t.yaml:3:1"}};
  // .ph-mask matches, but posthog-js masked its text before capture: nothing to catch.
  c.selectors_masked = {
      SelectorCheck{".nothing", "t.yaml:4:1", *policies::SelectorList::Parse(".nothing")},
      SelectorCheck{".ph-mask", "t.yaml:5:1", *policies::SelectorList::Parse(".ph-mask")}};
  c.selectors_blocked.clear();
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  Result<CaseReport> r = RunCase(c, *set);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 4u);
  for (const CheckFailure& f : r->failures)
    EXPECT_NE(f.detail.find("vacuous"), std::string::npos) << f.check;
}

// A blocked element keeps no value of its own: a masked input is not blocked.
TEST(PolicyCasesTest, ABlockedSelectorFailsOnAnInputThatKeptItsValue) {
  TestCase c = Checkout();
  c.selectors_masked.clear();
  c.selectors_blocked = {
      SelectorCheck{"input#email", "t.yaml:9:1", *policies::SelectorList::Parse("input#email")}};
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  Result<CaseReport> r = RunCase(c, *set);
  ASSERT_TRUE(r.ok());
  std::map<std::string, std::string> failed;
  for (const CheckFailure& f : r->failures) failed[f.check] = f.detail;
  EXPECT_NE(failed["selectors_blocked[0]"].find("not blocked"), std::string::npos);
}

TEST(PolicyCasesTest, OverMaskingAndDropLimitsFail) {
  TestCase c = Checkout();
  c.max_dropped = 0;
  c.max_dropped_by_reason = {{"consent_pending", 0}};
  Result<CaseReport> r =
      RunCase(c, Policy("masking: {mask_all_text: true}\nconsent: {mode: opt_in}\n"));
  ASSERT_TRUE(r.ok());
  std::map<std::string, std::string> failed;
  for (const CheckFailure& f : r->failures) failed[f.check] = f.detail;
  EXPECT_EQ(failed["visible[0]"], "hidden by the policy (over-masking)");
  EXPECT_NE(failed["max_dropped"].find("events dropped, at most 0 allowed"), std::string::npos);
  EXPECT_TRUE(failed.count("max_dropped_by_reason.consent_pending"));
}

TEST(PolicyCasesTest, AMissingInputIsAnError) {
  TestCase c = Checkout();
  c.input = "/nonexistent/capture";
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  EXPECT_EQ(RunCase(c, *set).status().code(), Code::kInvalidInput);
}

}  // namespace
}  // namespace scrubd::workbench
