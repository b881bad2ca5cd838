#include <gtest/gtest.h>

#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

std::string ErrorOf(const std::string& text) {
  auto r = ParsePolicy("p.yaml", "version: 1\n" + text, {});
  return r.ok() ? "" : r.status().message();
}

ConsentPolicy Parse(const std::string& text) {
  auto r = ParsePolicy("p.yaml", "version: 1\n" + text, {});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? (*r)->consent : ConsentPolicy{};
}

std::vector<std::string> Names(const ConsentPolicy& c) {
  std::vector<std::string> out;
  for (ConsentSignal s : c.signals) out.push_back(ConsentSignalName(s));
  return out;
}

TEST(ConsentSectionTest, DefaultsWithoutASection) {
  ConsentPolicy c = Parse("name: x\n");
  EXPECT_EQ(c.mode, ConsentMode::kOptOut);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"posthog", "tcf", "onetrust", "cookiebot", "gpc"}));
  EXPECT_EQ(c.tcf_purposes, std::vector<int>{1});
  EXPECT_EQ(c.onetrust_groups, std::vector<std::string>{"C0002"});
  EXPECT_EQ(c.wait_seconds, 60);
  EXPECT_EQ(c.on_withdrawal, ConsentWithdrawal::kStop);
}

TEST(ConsentSectionTest, EveryKey) {
  ConsentPolicy c = Parse(R"(consent:
  mode: opt_in
  signals: [event, tcf, cookie, dnt]
  event: {name: consent_updated, property: recording}
  tcf: {purposes: [1, 7], vendor_id: 755, publisher: true}
  onetrust: {groups: [C0002, C0004]}
  cookiebot: {categories: [statistics, marketing]}
  cookie: {name: site_consent, granted: '^yes', denied: '^no'}
  wait_seconds: 5
  on_withdrawal: erase
)");
  EXPECT_EQ(c.mode, ConsentMode::kOptIn);
  EXPECT_EQ(Names(c), (std::vector<std::string>{"event", "tcf", "cookie", "dnt"}));
  EXPECT_EQ(c.event_name, "consent_updated");
  EXPECT_EQ(c.event_property, "recording");
  EXPECT_EQ(c.tcf_purposes, (std::vector<int>{1, 7}));
  EXPECT_EQ(c.tcf_vendor_id, 755);
  EXPECT_TRUE(c.tcf_publisher);
  EXPECT_EQ(c.onetrust_groups, (std::vector<std::string>{"C0002", "C0004"}));
  EXPECT_EQ(c.cookiebot_categories, (std::vector<std::string>{"statistics", "marketing"}));
  EXPECT_EQ(c.cookie_name, "site_consent");
  ASSERT_TRUE(c.cookie_granted && c.cookie_denied);
  EXPECT_TRUE(RE2::PartialMatch("yes please", *c.cookie_granted));
  EXPECT_EQ(c.wait_seconds, 5);
  EXPECT_EQ(c.on_withdrawal, ConsentWithdrawal::kErase);
}

TEST(ConsentSectionTest, OldKeysMapOrSayWhatReplacedThem) {
  EXPECT_EQ(Parse("consent: {require_opt_in: true}\n").mode, ConsentMode::kOptIn);
  EXPECT_EQ(Parse("consent: {respect_opt_out: false, require_opt_in: false}\n").mode,
            ConsentMode::kNone);
  EXPECT_EQ(Parse("consent: {respect_opt_out: true}\n").mode, ConsentMode::kOptOut);
  ConsentPolicy c = Parse("consent: {respect_gpc: false, respect_do_not_track: true}\n");
  EXPECT_EQ(Names(c), (std::vector<std::string>{"posthog", "tcf", "onetrust", "cookiebot", "dnt"}));
  EXPECT_EQ(ErrorOf("consent:\n  tcf_purposes: [1]\n"),
            "p.yaml:3:17: consent.tcf_purposes was replaced: write consent.tcf.purposes (and "
            "consent.mode: opt_in to require a TC string), see docs/consent.md");
  EXPECT_EQ(ErrorOf("consent:\n  mode: opt_in\n  require_opt_in: true\n"),
            "p.yaml:4:19: consent.respect_opt_out and consent.require_opt_in are the old spelling "
            "of consent.mode: give only consent.mode");
  EXPECT_EQ(ErrorOf("consent:\n  signals: [gpc]\n  respect_gpc: false\n"),
            "p.yaml:4:16: consent.respect_gpc cannot be combined with consent.signals: list gpc "
            "/ dnt there instead");
}

TEST(ConsentSectionTest, ErrorsAtFileLineCol) {
  EXPECT_EQ(ErrorOf("consent: {mode: always}\n"),
            "p.yaml:2:17: consent.mode must be none, opt_in or opt_out");
  EXPECT_EQ(ErrorOf("consent: {signals: [gpc, smoke]}\n"),
            "p.yaml:2:26: consent.signals entries are posthog, event, tcf, onetrust, cookiebot, "
            "cookie, gpc or dnt");
  EXPECT_EQ(ErrorOf("consent: {signals: [gpc, gpc]}\n"),
            "p.yaml:2:26: consent.signals lists 'gpc' twice");
  EXPECT_EQ(ErrorOf("consent: {signals: [event]}\n"),
            "p.yaml:2:20: consent.signals lists event: give consent.event {name, property}");
  EXPECT_EQ(ErrorOf("consent: {event: {name: x}}\n"),
            "p.yaml:2:18: consent.event: missing required key 'property'");
  EXPECT_EQ(ErrorOf("consent: {tcf: {purposes: [0]}}\n"),
            "p.yaml:2:28: consent.tcf.purposes entries must be integers 1..24");
  EXPECT_EQ(ErrorOf("consent: {tcf: {vendor_id: 70000}}\n"),
            "p.yaml:2:28: consent.tcf.vendor_id must be 1..65535");
  EXPECT_EQ(ErrorOf("consent: {onetrust: {groups: []}}\n"),
            "p.yaml:2:21: consent.onetrust.groups must not be empty");
  EXPECT_EQ(ErrorOf("consent: {cookiebot: {categories: [ads]}}\n"),
            "p.yaml:2:36: consent.cookiebot.categories entries are necessary, preferences, "
            "statistics or marketing");
  EXPECT_EQ(ErrorOf("consent: {cookie: {name: c, granted: '('}}\n"),
            "p.yaml:2:38: consent.cookie.granted: bad RE2 pattern: missing ): (");
  EXPECT_EQ(ErrorOf("consent: {cookie: {name: c}}\n"),
            "p.yaml:2:19: consent.cookie: missing required key 'granted'");
  EXPECT_EQ(ErrorOf("consent: {wait_seconds: 7200}\n"),
            "p.yaml:2:25: consent.wait_seconds must be 0..3600");
  EXPECT_EQ(ErrorOf("consent: {on_withdrawal: forget}\n"),
            "p.yaml:2:26: consent.on_withdrawal must be stop or erase");
  EXPECT_EQ(ErrorOf("consent: {wait: 1}\n").substr(0, 33), "p.yaml:2:11: consent: unknown key");
}

}  // namespace
}  // namespace scrubd::policies
