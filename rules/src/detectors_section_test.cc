#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

Result<ScannerConfig> Parse(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  return ParseDetectorsSection("policy.yaml", root["detectors"]);
}

TEST(DetectorsSection, FullSection) {
  auto r = Parse(R"(detectors:
  disabled: [mac, ipv6]
  overrides:
    card: {method: mask, keep_last: 4}
    email: {method: hash}
    ipv4: {method: truncate_ip}
    phone: {enabled: false}
    ssn: {method: replace, label: "[SSN]"}
  sensitive_keys: [member_no]
  key_redaction: {method: mask}
  max_mem_mb: 32
  shape_pass: false
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->shape_pass);
  EXPECT_EQ(r->disabled.size(), 2u);
  EXPECT_EQ(r->overrides["card"].keep_last, 4);
  EXPECT_EQ(r->overrides["email"].method, Method::kHash);
  EXPECT_FALSE(r->overrides["phone"].enabled);
  EXPECT_EQ(r->overrides["ssn"].label, "[SSN]");
  EXPECT_EQ(r->key_method, Method::kMask);
  EXPECT_EQ(r->max_mem_bytes, 32 << 20);
  r->hmac_key = "k";
  EXPECT_TRUE(Scanner::Create(*r).ok());
}

TEST(DetectorsSection, AbsentIsDefault) {
  auto r = Parse("other: 1\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->disabled.empty());
  EXPECT_TRUE(r->shape_pass);
}

void ExpectError(const std::string& yaml, const std::string& where, const std::string& what) {
  auto r = Parse(yaml);
  ASSERT_FALSE(r.ok()) << yaml;
  EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
  EXPECT_NE(r.status().message().find(where), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

TEST(DetectorsSection, ErrorsCarryLineAndColumn) {
  ExpectError("detectors:\n  disabld: [mac]\n", "policy.yaml:2:3", "unknown key 'disabld'");
  ExpectError("detectors:\n  disabled: [mac, nope]\n", "policy.yaml:2:19",
              "unknown detector id 'nope'");
  ExpectError("detectors:\n  overrides:\n    card: {method: blur}\n", "policy.yaml:3:20",
              "unknown method 'blur'");
  ExpectError("detectors:\n  overrides:\n    cardd: {method: mask}\n", "policy.yaml:3:5",
              "unknown detector id 'cardd'");
  ExpectError("detectors:\n  overrides:\n    email: {method: truncate_ip}\n", "policy.yaml:3:21",
              "truncate_ip");
  ExpectError("detectors:\n  overrides:\n    card: {keep_last: many}\n", "policy.yaml:3:23",
              "must be a integer");
  ExpectError("detectors:\n  disabled: mac\n", "policy.yaml:2:13", "list of strings");
  ExpectError("detectors:\n  overrides:\n    card: {colour: red}\n", "policy.yaml:3:12",
              "unknown key 'colour'");
  ExpectError("detectors:\n  shape_pass: sometimes\n", "policy.yaml:2:15", "boolean");
}

}  // namespace
}  // namespace scrubd::rules
