// The identity pass on its own: pseudonym shape and keys, every identifier position of a
// posthog event, person properties, $ip and the forwarded client address.
#include "scrub/identity.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "scrub/scrub.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;
using policies::ClientIpMode;

constexpr char kMaster[] = "identity-master-key-0123456789ab";
constexpr char kCanary[] = "canary.zq@example.com";

std::shared_ptr<const policies::Policy> Load(const std::string& extra = "") {
  auto p =
      policies::ParsePolicy("p.yaml", "version: 1\n" + extra, {"hash-key-0123456789", kMaster});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : nullptr;
}

ingest::Event MakeEvent(const std::string& json_text) {
  ingest::Event ev;
  ev.json = json::parse(json_text).as_object();
  ev.token = "phc_a";
  ev.name = std::string(ev.json.at("event").as_string());
  ev.distinct_id = kCanary;  // the decode-time copy
  return ev;
}

TEST(IdentityTest, PseudonymIsLettersOnlyStableAndKeyedPerProject) {
  std::string a = IdentifierPseudonym(kMaster, "phc_a", kCanary);
  EXPECT_TRUE(IsIdentifierPseudonym(a)) << a;
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a, IdentifierPseudonym(kMaster, "phc_a", kCanary));                    // stable
  EXPECT_NE(a, IdentifierPseudonym(kMaster, "phc_b", kCanary));                    // per project
  EXPECT_NE(a, IdentifierPseudonym("another-master-key-0123", "phc_a", kCanary));  // keyed
  EXPECT_NE(a, IdentifierPseudonym(kMaster, "phc_a", "Canary.zq@example.com"));    // no folding
  EXPECT_FALSE(IsIdentifierPseudonym("[EMAIL]"));
  EXPECT_FALSE(IsIdentifierPseudonym("pid_" + std::string(32, 'z')));
}

TEST(IdentityTest, DistinctEmailsNeverCollapse) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i)
    seen.insert(IdentifierPseudonym(kMaster, "phc_a", "user" + std::to_string(i) + "@example.com"));
  EXPECT_EQ(seen.size(), 20000u);
}

// The string pass runs after the identity pass: no detector of the catalog may rewrite a
// pseudonym, under any identifier key.
TEST(IdentityTest, DetectorsNeverRewriteAPseudonym) {
  auto policy = Load();
  ASSERT_TRUE(policy);
  rules::RedactionCounts counts;
  for (int i = 0; i < 20000; ++i) {
    std::string p = IdentifierPseudonym(kMaster, "phc_a", std::to_string(i));
    for (std::string_view key :
         {"distinct_id", "$anon_distinct_id", "$device_id", "$user_id", "alias", ""}) {
      std::string text = p;
      EXPECT_FALSE(policy->scanner->Redact(text, key, &counts)) << p << " under " << key;
    }
  }
  EXPECT_EQ(counts.Total(), 0u);
}

TEST(IdentityTest, EveryIdentifierPositionIsPseudonymised) {
  auto policy = Load();
  ASSERT_TRUE(policy);
  ingest::Event ev = MakeEvent(R"({"event":"$create_alias","distinct_id":"canary.zq@example.com",
    "alias":"top.alias@example.com",
    "properties":{"distinct_id":"canary.zq@example.com","$anon_distinct_id":"anon-1",
      "$device_id":"dev-1","$user_id":"canary.zq@example.com","alias":"alias.zq@example.com",
      "$session_id":"s-1"}})");
  rules::RedactionCounts counts;
  ASSERT_TRUE(ApplyIdentity(ev, *policy, &counts));
  const json::object& props = ev.json.at("properties").as_object();
  const std::string did = IdentifierPseudonym(kMaster, "phc_a", kCanary);
  EXPECT_EQ(props.at("distinct_id").as_string(), did);
  EXPECT_EQ(props.at("$user_id").as_string(), did);  // the same id joins
  EXPECT_EQ(ev.json.at("distinct_id").as_string(), did);
  EXPECT_EQ(props.at("$anon_distinct_id").as_string(),
            IdentifierPseudonym(kMaster, "phc_a", "anon-1"));
  EXPECT_EQ(props.at("$device_id").as_string(), IdentifierPseudonym(kMaster, "phc_a", "dev-1"));
  EXPECT_EQ(props.at("alias").as_string(),
            IdentifierPseudonym(kMaster, "phc_a", "alias.zq@example.com"));
  EXPECT_TRUE(IsIdentifierPseudonym(std::string_view(ev.json.at("alias").as_string())));
  EXPECT_EQ(props.at("$session_id").as_string(), "s-1");  // not an identifier of a person
  EXPECT_EQ(ev.distinct_id, did);                         // the decode-time copy is replaced
  EXPECT_EQ(counts.by_method["pseudonymize"], 7u);
}

TEST(IdentityTest, AliasIsOnlyAnIdentifierInAliasEvents) {
  auto policy = Load();
  ingest::Event ev = MakeEvent(R"({"event":"signup","properties":{"alias":"nick"}})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  EXPECT_EQ(ev.json.at("properties").at("alias").as_string(), "nick");
}

TEST(IdentityTest, NonStringIdsArePseudonymisedAsTheirText) {
  auto policy = Load();
  ingest::Event ev = MakeEvent(R"({"event":"x",
      "properties":{"distinct_id":42,"$device_id":{"a":"canary.zq@example.com"}}})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  const json::object& props = ev.json.at("properties").as_object();
  EXPECT_EQ(props.at("distinct_id").as_string(), IdentifierPseudonym(kMaster, "phc_a", "42"));
  EXPECT_TRUE(IsIdentifierPseudonym(std::string_view(props.at("$device_id").as_string())));
}

TEST(IdentityTest, KeepAndRedactModes) {
  auto keep = Load("identifiers: keep\n");
  ingest::Event a = MakeEvent(R"({"event":"x","properties":{"distinct_id":"u-1"}})");
  ASSERT_TRUE(ApplyIdentity(a, *keep, nullptr));
  EXPECT_EQ(a.json.at("properties").at("distinct_id").as_string(), "u-1");
  auto redact = Load("identifiers: redact\n");
  ingest::Event b = MakeEvent(R"({"event":"x","properties":{"distinct_id":"u-1"}})");
  ASSERT_TRUE(ApplyIdentity(b, *redact, nullptr));
  EXPECT_EQ(b.json.at("properties").at("distinct_id").as_string(), kRedactedIdentifier);
}

TEST(IdentityTest, NoKeyFailsClosed) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\n", {});
  ASSERT_TRUE(p.ok());
  ingest::Event ev = MakeEvent(R"({"event":"x","properties":{"distinct_id":"u-1"}})");
  EXPECT_FALSE(ApplyIdentity(ev, **p, nullptr));
  ingest::Event anonymous = MakeEvent(R"({"event":"x","properties":{"$session_id":"s"}})");
  EXPECT_TRUE(ApplyIdentity(anonymous, **p, nullptr));  // nothing to pseudonymise
}

TEST(IdentityTest, PersonPropertiesRedactEverythingButTheAllowlist) {
  auto policy = Load("person_properties: {keep: [plan, \"$initial_*\"], method: redact}\n");
  ASSERT_TRUE(policy);
  ingest::Event ev = MakeEvent(R"({"event":"$identify",
    "$set":{"plan":"pro","email":"canary.zq@example.com","age":41,"vip":true,"none":null,
            "address":{"street":"1 Canary Row","zip":[1,2]}},
    "$set_once":{"$initial_referrer":"$direct","first_name":"Canary"},
    "properties":{"$set":{"name":"Canary Zq","plan":"free"},
                  "$set_once":"canary.zq@example.com"}})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  const json::object& set = ev.json.at("$set").as_object();
  EXPECT_EQ(set.at("plan").as_string(), "pro");
  for (const char* k : {"email", "age", "vip", "address"})
    EXPECT_EQ(set.at(k).as_string(), kRedactedIdentifier) << k;
  EXPECT_TRUE(set.at("none").is_null());
  EXPECT_EQ(ev.json.at("$set_once").at("$initial_referrer").as_string(), "$direct");
  EXPECT_EQ(ev.json.at("$set_once").at("first_name").as_string(), kRedactedIdentifier);
  const json::object& props = ev.json.at("properties").as_object();
  EXPECT_EQ(props.at("$set").at("plan").as_string(), "free");
  EXPECT_EQ(props.at("$set").at("name").as_string(), kRedactedIdentifier);
  EXPECT_EQ(props.at("$set_once").as_string(), kRedactedIdentifier);  // not an object: whole
  EXPECT_EQ(json::serialize(ev.json).find("anary"), std::string::npos);
}

TEST(IdentityTest, PersonPropertiesPseudonymiseKeepsShapeAndJoins) {
  auto policy = Load("person_properties: {keep: [plan], method: pseudonymize}\n");
  ASSERT_TRUE(policy);
  ingest::Event ev = MakeEvent(R"({"event":"$set","properties":{"$set":{
    "email":"canary.zq@example.com","billing_email":"canary.zq@example.com","other":"x@y.org",
    "plan":"pro","address":{"street":"1 Canary Row","lines":["Canary",7]}}}})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  const json::object& set = ev.json.at("properties").at("$set").as_object();
  EXPECT_EQ(set.at("plan").as_string(), "pro");
  EXPECT_TRUE(set.at("email").as_string().starts_with("ppv_"));
  EXPECT_EQ(set.at("email"), set.at("billing_email"));  // equal values stay equal
  EXPECT_NE(set.at("email"), set.at("other"));
  EXPECT_TRUE(set.at("address").at("street").as_string().starts_with("ppv_"));  // shape kept
  EXPECT_TRUE(set.at("address").at("lines").at(1).as_string().starts_with("ppv_"));
  EXPECT_EQ(json::serialize(ev.json).find("anary"), std::string::npos);
}

TEST(IdentityTest, DefaultKeepsPosthogJsAutomaticProperties) {
  auto policy = Load();
  ingest::Event ev = MakeEvent(R"({"event":"$pageview","$set":{"$browser":"Chrome",
    "$os":"Linux","$current_url":"http://x/","email":"canary.zq@example.com"},
    "$set_once":{"$initial_utm_source":"news","$initial_referrer":"$direct"}})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  EXPECT_EQ(ev.json.at("$set").at("$browser").as_string(), "Chrome");
  EXPECT_EQ(ev.json.at("$set").at("$current_url").as_string(), "http://x/");
  EXPECT_EQ(ev.json.at("$set").at("email").as_string(), kRedactedIdentifier);
  EXPECT_EQ(ev.json.at("$set_once").at("$initial_utm_source").as_string(), "news");
}

TEST(IdentityTest, DefaultRedactsInitialLookalikesGroupSetAndUnset) {
  auto policy = Load();
  ingest::Event ev = MakeEvent(R"({"event":"$groupidentify","properties":{
    "$set":{"$initial_full_name":"Zebulon Qwxlmz","$initial_referrer":"$direct"},
    "$group_set":{"owner":"Zebulon Qwxlmz","$browser":"Chrome"},
    "$unset":["Zebulon Qwxlmz","$browser"],"$group_key":"Zebulon Qwxlmz",
    "$groups":{"company":"Zebulon Qwxlmz"}},"$unset":"Zebulon Qwxlmz"})");
  ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
  const json::object& p = ev.json.at("properties").as_object();
  EXPECT_EQ(p.at("$set").at("$initial_full_name").as_string(), kRedactedIdentifier);
  EXPECT_EQ(p.at("$set").at("$initial_referrer").as_string(), "$direct");
  EXPECT_EQ(p.at("$group_set").at("owner").as_string(), kRedactedIdentifier);
  EXPECT_EQ(p.at("$group_set").at("$browser").as_string(), "Chrome");
  EXPECT_EQ(p.at("$unset").at(0).as_string(), kRedactedIdentifier);
  EXPECT_EQ(p.at("$unset").at(1).as_string(), "$browser");
  EXPECT_TRUE(IsIdentifierPseudonym(p.at("$group_key").as_string()));
  EXPECT_EQ(p.at("$groups").at("company"), p.at("$group_key"));  // joinable
  EXPECT_EQ(json::serialize(ev.json).find("Zebulon"), std::string::npos);
}

TEST(IdentityTest, EventIpFollowsClientIpPolicy) {
  struct Case {
    const char* yaml;
    const char* in;
    const char* out;  // nullptr: removed
  } cases[] = {{"", "203.0.113.77", "203.0.113.0"},
               {"", "2001:db8:85a3:1:2:3:4:5", "2001:db8:85a3::"},
               {"", "::ffff:203.0.113.77", "203.0.113.0"},
               {"", "canary.zq@example.com", nullptr},  // not an address: fail closed
               {"client_ip: drop\n", "203.0.113.77", nullptr},
               {"client_ip: pass\n", "203.0.113.77", "203.0.113.77"}};
  for (const Case& c : cases) {
    auto policy = Load(c.yaml);
    ingest::Event ev = MakeEvent(R"({"event":"x","properties":{}})");
    ev.json["properties"].as_object()["$ip"] = c.in;
    ASSERT_TRUE(ApplyIdentity(ev, *policy, nullptr));
    const json::value* ip = ev.json.at("properties").as_object().if_contains("$ip");
    if (!c.out) {
      EXPECT_EQ(ip, nullptr) << c.in;
    } else {
      ASSERT_NE(ip, nullptr) << c.in;
      EXPECT_EQ(ip->as_string(), c.out);
    }
  }
}

TEST(IdentityTest, ForwardedClientAddress) {
  // A public peer is the client; its forwarding headers are ignored.
  EXPECT_EQ(ForwardedClientAddress(ClientIpMode::kTruncate, "198.51.100.9", "1.2.3.4", "5.6.7.8"),
            "198.51.100.0");
  // Behind a local proxy: the rightmost X-Forwarded-For entry (the one the proxy appended).
  EXPECT_EQ(
      ForwardedClientAddress(ClientIpMode::kTruncate, "127.0.0.1", "6.6.6.6, 203.0.113.77", ""),
      "203.0.113.0");
  EXPECT_EQ(ForwardedClientAddress(ClientIpMode::kTruncate, "::ffff:10.1.2.3", "garbage, ", ""),
            "10.1.2.0");
  EXPECT_EQ(
      ForwardedClientAddress(ClientIpMode::kTruncate, "10.0.0.2", "", "[2001:db8:1:2::9]:443"),
      "2001:db8:1::");
  EXPECT_EQ(ForwardedClientAddress(ClientIpMode::kPass, "127.0.0.1", "203.0.113.77:5000", ""),
            "203.0.113.77");
  EXPECT_EQ(ForwardedClientAddress(ClientIpMode::kDrop, "203.0.113.77", "", ""), "");
  EXPECT_EQ(ForwardedClientAddress(ClientIpMode::kTruncate, "not an ip", "", ""), "");
}

}  // namespace
}  // namespace scrubd::scrub
