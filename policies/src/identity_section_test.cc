#include <gtest/gtest.h>

#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

Result<std::shared_ptr<const Policy>> Parse(const std::string& body, LoadOptions opts = {}) {
  return ParsePolicy("p.yaml", "version: 1\n" + body, opts);
}

std::string ErrorOf(const std::string& body) {
  auto r = Parse(body);
  return r.ok() ? "" : r.status().message();
}

TEST(IdentitySectionTest, DefaultsPseudonymiseTruncateAndKeepAutomaticProperties) {
  auto p = Parse("", {"hash-key", "identity-key"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const IdentityPolicy& id = (*p)->identity;
  EXPECT_EQ(id.identifiers, IdentifierMode::kPseudonymize);
  EXPECT_EQ(id.client_ip, ClientIpMode::kTruncate);
  EXPECT_EQ(id.person_properties.method, PersonPropertyMethod::kRedact);
  EXPECT_EQ(id.person_properties.keep, kDefaultPersonPropertyKeep);
  EXPECT_TRUE(id.person_properties.Keeps("plan"));
  EXPECT_TRUE(id.person_properties.Keeps("$initial_utm_source"));
  EXPECT_FALSE(id.person_properties.Keeps("email"));
  EXPECT_EQ(id.master_key, "identity-key");
  auto fallback = Parse("", {"hash-key"});
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ((*fallback)->identity.master_key, "hash-key");
}

TEST(IdentitySectionTest, ShippedDefaultMatchesTheBuiltInDefault) {
  auto set = LoadPolicySet({}, {"hash-key"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const IdentityPolicy& id = (*set)->ForToken("phc_any")->identity;
  EXPECT_EQ(id.person_properties.keep, kDefaultPersonPropertyKeep);
  EXPECT_EQ(id.person_properties.method, PersonPropertyMethod::kRedact);
  EXPECT_EQ(id.identifiers, IdentifierMode::kPseudonymize);
  EXPECT_EQ(id.client_ip, ClientIpMode::kTruncate);
}

TEST(IdentitySectionTest, ParsesEveryChoice) {
  auto p = Parse(
      "identifiers: keep\nclient_ip: drop\n"
      "person_properties: {keep: [plan, \"utm_*\"], method: pseudonymize}\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const IdentityPolicy& id = (*p)->identity;
  EXPECT_EQ(id.identifiers, IdentifierMode::kKeep);
  EXPECT_EQ(id.client_ip, ClientIpMode::kDrop);
  EXPECT_EQ(id.person_properties.method, PersonPropertyMethod::kPseudonymize);
  EXPECT_TRUE(id.person_properties.Keeps("utm_source"));
  EXPECT_FALSE(id.person_properties.Keeps("$browser"));  // an explicit list replaces the default
  auto r = Parse("identifiers: redact\nclient_ip: pass\nperson_properties: {keep: []}\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->identity.identifiers, IdentifierMode::kRedact);
  EXPECT_EQ((*r)->identity.client_ip, ClientIpMode::kPass);
  EXPECT_TRUE((*r)->identity.person_properties.keep.empty());
}

TEST(IdentitySectionTest, ErrorsCarryFileLineColumn) {
  EXPECT_EQ(ErrorOf("identifiers: hash\n"),
            "p.yaml:2:14: identifiers must be pseudonymize, keep or redact, not 'hash'");
  EXPECT_EQ(ErrorOf("client_ip: anonymize\n"),
            "p.yaml:2:12: client_ip must be drop, truncate or pass, not 'anonymize'");
  EXPECT_NE(ErrorOf("person_properties: {method: hash}\n").find("p.yaml:2:29:"), std::string::npos);
  EXPECT_NE(ErrorOf("person_properties: {keep: [\"a*b\"]}\n").find("p.yaml:2:28:"),
            std::string::npos);
  EXPECT_NE(ErrorOf("person_properties: {allow: [plan]}\n").find("unknown key 'allow'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("person_properties: [plan]\n").find("must be a mapping"), std::string::npos);
}

}  // namespace
}  // namespace scrubd::policies
