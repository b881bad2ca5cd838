// A policy's `detectors.custom` through the loader: compiled into the policy's scanner, the
// examples run on load (a miss refuses the policy at the example's file:line:col, without its
// text), and the policy's scanner counts them by id.
#include <gtest/gtest.h>

#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

constexpr const char* kCanary = "K7QZ-CANARY";

// `miss` adds a must_match example the detector cannot redact, holding the canary.
std::string Policy(bool miss) {
  return std::string(R"(version: 1
name: custom
detectors:
  overrides:
    email: {method: hash}
  custom:
    - id: member_no
      description: member numbers )") +
         kCanary + R"(
      patterns: ['M-[0-9]{8}']
      validator: luhn
      context: [member, mitglied]
      method: hash
      suppress_keys: [version]
      must_match:
        - {text: 'member M-12345674', key: note}
        - {text: 'M-49302177', key: memberNo}
)" + (miss ? std::string("        - {text: 'member M-") + kCanary + "', key: note}\n" : "") +
         R"(      must_not_match: ['M-12345674', {text: 'member M-12345675', key: note}]
)";
}

TEST(CustomDetectorPolicyTest, CompiledIntoThePolicyScannerAndCountedById) {
  auto p = ParsePolicy("c.yaml", Policy(false), {std::string(32, 'h'), std::string(32, 'i')});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const rules::Scanner& s = *(*p)->scanner;
  std::string t = "Mitglied M-12345674 seit 2020";
  rules::RedactionCounts c;
  EXPECT_TRUE(s.Redact(t, "textContent", &c));
  EXPECT_EQ(t.find("12345674"), std::string::npos) << t;
  EXPECT_NE(t.find("member_no_"), std::string::npos) << t;  // hash prefix: the id
  EXPECT_EQ(c.by_rule["member_no"], 1u);
  EXPECT_EQ(c.by_method["hash"], 1u);
  std::string v = "member M-12345674";
  EXPECT_FALSE(s.Redact(v, "app_version", nullptr)) << "suppressed under its suppress key";
}

TEST(CustomDetectorPolicyTest, AMissingExampleRefusesThePolicyWithoutEchoingIt) {
  auto p = ParsePolicy("c.yaml", Policy(true), {std::string(32, 'h'), std::string(32, 'i')});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidConfig);
  const std::string& m = p.status().message();
  EXPECT_EQ(m.rfind("c.yaml:17:11: detectors.custom.member_no.must_match[2] is not redacted by "
                    "'member_no' (fired: nothing)",
                    0),
            0u)
      << m;
  EXPECT_EQ(m.find("CANARY"), std::string::npos) << m;
}

}  // namespace
}  // namespace scrubd::policies
