#include <gtest/gtest.h>

#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

std::string ErrorOf(const std::string& text) {
  auto r = ParsePolicy("p.yaml", "version: 1\n" + text, {});
  return r.ok() ? "" : r.status().message();
}

TEST(RetentionSectionTest, RulesCompileInOrderWithNamesAndMinDays) {
  auto p = ParsePolicy("p.yaml", R"(version: 1
retention:
  days: 30
  rules:
    - name: errors
      match: {event: $exception}
      days: 90
    - match:
        url: '^https://shop\.example\.com/checkout'
        token: [phc_a, phc_b]
      days: 7
    - name: enterprise
      match:
        person_property: {name: plan, value: '^enterprise$'}
        property: {name: $lib}
      days: 1825
)",
                       {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const RetentionPolicy& r = (*p)->retention;
  ASSERT_EQ(r.rules.size(), 3u);
  EXPECT_EQ(r.rules[0].name, "errors");
  EXPECT_EQ(r.rules[0].events, std::vector<std::string>{"$exception"});
  EXPECT_EQ(r.rules[1].name, "rules[1]");
  EXPECT_EQ(r.rules[1].tokens.size(), 2u);
  ASSERT_NE(r.rules[1].url, nullptr);
  EXPECT_TRUE(RE2::PartialMatch("HTTPS://shop.example.com/Checkout/1", *r.rules[1].url));
  ASSERT_EQ(r.rules[2].properties.size(), 2u);
  EXPECT_TRUE(r.rules[2].properties[1].person);  // the keys are read in table order
  EXPECT_EQ(r.rules[2].properties[1].name, "plan");
  EXPECT_EQ(r.rules[2].properties[0].value, nullptr);
  EXPECT_EQ(r.MinDays(), 7);
}

TEST(RetentionSectionTest, ErrorsCarryFileLineColumn) {
  EXPECT_EQ(ErrorOf("retention: {days: 0}\n"),
            "p.yaml:2:19: retention.days must be within 1..3650");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {match: {event: x}, days: 4000}\n"),
            "p.yaml:4:33: retention.rules[0].days must be within 1..3650");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {match: {event: x}}\n"),
            "p.yaml:4:7: retention.rules[0]: missing required key 'days'");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {days: 3}\n"),
            "p.yaml:4:7: retention.rules[0]: missing required key 'match'");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {match: {}, days: 3}\n"),
            "p.yaml:4:15: retention.rules[0].match must give at least one condition");
  std::string bad = ErrorOf("retention:\n  rules:\n    - {match: {url: '(x'}, days: 3}\n");
  EXPECT_EQ(bad.rfind("p.yaml:4:21: retention.rules[0].match.url: bad RE2 pattern", 0), 0u) << bad;
  bad = ErrorOf("retention:\n  rules:\n    - {match: {urls: x}, days: 3}\n");
  EXPECT_EQ(bad.rfind("p.yaml:4:16: retention.rules[0].match: unknown key 'urls'", 0), 0u) << bad;
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {match: {event: []}, days: 3}\n"),
            "p.yaml:4:23: retention.rules[0].match.event must be a string or a non-empty list "
            "of strings");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {match: {property: {value: x}}, days: 3}\n"),
            "p.yaml:4:26: retention.rules[0].match.property: missing required key 'name'");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - {name: a, match: {event: x}, days: 3}\n"
                    "    - {name: a, match: {event: y}, days: 4}\n"),
            "p.yaml:5:14: retention.rules: duplicate rule name 'a'");
  EXPECT_EQ(ErrorOf("retention:\n  rules:\n    - 3\n"),
            "p.yaml:4:7: retention.rules[0] must be a mapping");
}

}  // namespace
}  // namespace scrubd::policies
