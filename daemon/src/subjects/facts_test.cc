// Subject facts: the nodes of posthog-js events (real fixtures and the identify / alias /
// $set shapes posthog-js 1.449.2 sends), request seeds, and that no raw value leaves.
#include "subjects/facts.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <set>

#include "scrub/identity.h"
#include "support/fixtures.h"

namespace scrubd::subjects {
namespace {
namespace json = boost::json;

constexpr char kMaster[] = "subjects-master-key-0123456789ab";
constexpr char kToken[] = "phc_subjects";
constexpr char kAnon[] = "01a20355-1c26-7bcc-9c69-edbf0328ba49";
constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";

ingest::Event MakeEvent(const std::string& text) {
  ingest::Event ev;
  ev.json = json::parse(text).as_object();
  ev.token = kToken;
  ev.name = std::string(ev.json.at("event").as_string());
  ev.is_snapshot = ev.name == "$snapshot";
  if (const json::value* p = ev.json.at("properties").as_object().if_contains("$session_id"))
    ev.session_id = std::string(p->as_string());
  return ev;
}

std::string I(std::string_view raw) {
  return "i:" + scrub::IdentifierPseudonym(kMaster, kToken, raw);
}
std::string H(std::string_view raw) {
  return "h:" + scrub::IdentifierPseudonym(kMaster, kToken, Sha256Hex(raw));
}

std::map<std::string, std::string> KindsOf(const EventFacts& f) {
  std::map<std::string, std::string> out;
  for (const NodeFact& n : f.nodes) out[n.node] = n.kind;
  return out;
}

// posthog-js identify(): distinct_id is the new id, $anon_distinct_id the previous one, and
// the $set / $set_once options ride at the event's top level.
constexpr char kIdentify[] = R"({"event":"$identify",
  "uuid":"01a20355-3149-7422-bb7f-c4f92dacb438",
  "properties":{"distinct_id":"Alice@Example.com",
    "$anon_distinct_id":"01a20355-1c26-7bcc-9c69-edbf0328ba49",
    "$device_id":"01a20355-1c26-7bcc-9c69-edbf0328ba49",
    "$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4", "token":"phc_subjects"},
  "$set":{"E-Mail":"  Work@Example.com ","name":"Alice"},
  "$set_once":{"first_email":"old@example.com"}})";

TEST(FactsTest, IdentifyYieldsAnonymousIdentifiedEmailAndSessionNodes) {
  EventFacts f = FactsOf(MakeEvent(kIdentify), kMaster);
  EXPECT_EQ(f.token, kToken);
  EXPECT_EQ(f.uuid, "01a20355-3149-7422-bb7f-c4f92dacb438");
  EXPECT_EQ(f.session_id, kSession);
  EXPECT_FALSE(f.recording);
  auto kinds = KindsOf(f);
  EXPECT_EQ(kinds[I("Alice@Example.com")], "distinct_id");
  EXPECT_EQ(kinds[H("Alice@Example.com")], "hash");
  EXPECT_EQ(kinds[I("alice@example.com")], "email");  // the id looks like an email
  EXPECT_EQ(kinds[H("alice@example.com")], "hash");
  EXPECT_EQ(kinds[I(kAnon)], "distinct_id");  // $anon_distinct_id beats $device_id: one node
  EXPECT_EQ(kinds[I("work@example.com")], "email");
  EXPECT_EQ(kinds[I("old@example.com")], "email");
  EXPECT_EQ(kinds[std::string("s:") + kSession], "session");
  EXPECT_EQ(kinds.count(I("Alice")), 0u);  // not an email-named key
  EXPECT_EQ(kinds.size(), f.nodes.size()) << "nodes are deduplicated";
  EXPECT_EQ(f.nodes.front().node, I("Alice@Example.com")) << "the event's own id anchors it";
  for (const NodeFact& n : f.nodes) {
    if (n.kind == "hash") {
      EXPECT_FALSE(n.of.empty()) << "a hash node names its identifier";
    }
  }
}

TEST(FactsTest, AliasAndMergeDangerouslyYieldTheAlias) {
  for (const char* name : {"$create_alias", "$merge_dangerously"}) {
    std::string text = std::string(R"({"event":")") + name +
                       R"(","properties":{"distinct_id":"user-1","alias":"legacy-7",
                       "$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4"}})";
    auto kinds = KindsOf(FactsOf(MakeEvent(text), kMaster));
    EXPECT_EQ(kinds[I("user-1")], "distinct_id") << name;
    EXPECT_EQ(kinds[I("legacy-7")], "distinct_id") << name;
  }
  // `alias` of any other event is an ordinary property.
  auto kinds = KindsOf(FactsOf(
      MakeEvent(R"({"event":"clicked","properties":{"distinct_id":"u","alias":"x"}})"), kMaster));
  EXPECT_EQ(kinds.count(I("x")), 0u);
}

TEST(FactsTest, SetEventEmailsInPropertiesAndDeviceKind) {
  EventFacts f = FactsOf(MakeEvent(R"({"event":"$set","properties":{"distinct_id":"u-9",
    "$device_id":"dev-3","$user_id":"u-9-alt","$set":{"email":"Bob@Example.COM","Email Address":7},
    "$set_once":{"emailaddr":"b2@example.com"}}})"),
                         kMaster);
  auto kinds = KindsOf(f);
  EXPECT_EQ(kinds[I("dev-3")], "device");
  EXPECT_EQ(kinds[I("u-9-alt")], "distinct_id");
  EXPECT_EQ(kinds[I("bob@example.com")], "email");
  EXPECT_EQ(kinds[I("b2@example.com")], "email");
  EXPECT_EQ(kinds.count(I("7")), 0u) << "email-named values must be strings";
  EXPECT_TRUE(f.session_id.empty());
  for (const NodeFact& n : f.nodes) EXPECT_NE(n.node.substr(0, 2), "s:");
}

TEST(FactsTest, IllegalIdsAndMissingKeyMakeNoNode) {
  for (const char* id : {"anonymous", "null", " Undefined ", "0", "[object Object]", "", "guest"}) {
    json::object props{{"distinct_id", id}, {"$device_id", nullptr}};
    json::object ev{{"event", "x"}, {"properties", props}};
    EXPECT_TRUE(FactsOf(MakeEvent(json::serialize(ev)), kMaster).nodes.empty()) << id;
  }
  EventFacts f = FactsOf(MakeEvent(kIdentify), "");
  EXPECT_TRUE(f.nodes.empty());
  EXPECT_EQ(f.session_id, kSession);  // routing facts are still there
}

TEST(FactsTest, NumericIdIsKeyedLikeTheIdentityPass) {
  auto kinds =
      KindsOf(FactsOf(MakeEvent(R"({"event":"x","properties":{"distinct_id":4242}})"), kMaster));
  EXPECT_EQ(kinds[I("4242")], "distinct_id");
}

// Adversarial: a canary in every field FactsOf reads never appears in a node.
TEST(FactsTest, CanaryInEveryAcceptedFieldLeavesOnlyAsPseudonym) {
  const std::string c = "Canary.Q7x@Example.org";
  json::object set{{"email", c}, {"e-mail", c + "1"}, {c, c + "2"}};
  json::object props{{"distinct_id", c},      {"$anon_distinct_id", c + "a"},
                     {"$device_id", c + "d"}, {"$user_id", c + "u"},
                     {"alias", c + "al"},     {"$set", set},
                     {"$set_once", set},      {"$session_id", kSession}};
  json::object ev{{"event", "$create_alias"},
                  {"distinct_id", c + "t"},
                  {"alias", c + "ta"},
                  {"properties", props},
                  {"$set", set},
                  {"$set_once", set}};
  EventFacts f = FactsOf(MakeEvent(json::serialize(ev)), kMaster);
  EXPECT_GE(f.nodes.size(), 16u);
  std::string lower = NormaliseEmail(c);
  for (const NodeFact& n : f.nodes) {
    EXPECT_EQ(n.node.find("Canary"), std::string::npos) << n.node;
    EXPECT_EQ(n.node.find(lower), std::string::npos) << n.node;
    EXPECT_EQ(n.node.find("Q7x"), std::string::npos) << n.node;
    EXPECT_EQ(n.node.find("q7x"), std::string::npos) << n.node;
  }
}

// Every request of the captured posthog-js traffic yields nodes, each a pseudonym or the
// session, and never a raw id.
TEST(FactsTest, EveryFixtureRequestYieldsNodesAndNeverARawId) {
  size_t events = 0;
  for (const char* set : {"posthog-js-1.449.2", "posthog-js-1.449.2-crm"}) {
    for (const auto& e : std::filesystem::directory_iterator(testing::FixtureDir(set))) {
      std::string name = e.path().filename().string();
      if (!name.ends_with(".meta.json")) continue;
      json::object meta = json::parse(testing::ReadFile(e.path())).as_object();
      std::string path(meta.at("path").as_string());
      std::string query =
          path.find('?') == std::string::npos ? "" : path.substr(path.find('?') + 1);
      path = path.substr(0, path.find('?'));
      ingest::Endpoint ep = ingest::ClassifyPath(path);
      if (ep != ingest::Endpoint::kEvents && ep != ingest::Endpoint::kRecording) continue;
      std::string body =
          testing::ReadFile(e.path().parent_path() / (name.substr(0, name.find('.')) + ".body"));
      const json::object& headers = meta.at("headers").as_object();
      std::string ct = headers.contains("content-type")
                           ? std::string(headers.at("content-type").as_string())
                           : "text/plain";
      Result<ingest::Batch> batch = ingest::DecodeBatch(ep, {body, ct, query}, {});
      ASSERT_TRUE(batch.ok()) << set << "/" << name << ": " << batch.status().ToString();
      for (const ingest::Event& ev : batch->events) {
        ++events;
        EventFacts f = FactsOf(ev, kMaster);
        ASSERT_FALSE(ev.distinct_id.empty()) << name;
        EXPECT_EQ(f.nodes.front().node,
                  "i:" + scrub::IdentifierPseudonym(kMaster, ev.token, ev.distinct_id))
            << name;
        EXPECT_EQ(f.recording, ev.is_snapshot);
        EXPECT_FALSE(f.uuid.empty());
        std::set<std::string> seen;
        for (const NodeFact& n : f.nodes) {
          EXPECT_TRUE(seen.insert(n.node).second) << "duplicate node in " << name;
          if (n.node.starts_with("s:")) {
            EXPECT_EQ(n.node, "s:" + ev.session_id);
            continue;
          }
          EXPECT_TRUE(n.node.starts_with("i:") || n.node.starts_with("h:")) << n.node;
          EXPECT_TRUE(scrub::IsIdentifierPseudonym(n.node.substr(2))) << n.node;
          EXPECT_EQ(n.node.find(ev.distinct_id), std::string::npos);
        }
        EXPECT_TRUE(seen.contains("s:" + ev.session_id)) << name;
      }
    }
  }
  EXPECT_GE(events, 20u);
}

TEST(FactsTest, SeedNodesPerIdentityTypeAndFormat) {
  auto one = [](std::string_view type, std::string_view value, std::string_view format) {
    std::vector<NodeFact> v = SeedNodes(kMaster, kToken, type, value, format);
    return v.size() == 1 ? v[0].node : std::string("<" + std::to_string(v.size()) + " nodes>");
  };
  EXPECT_EQ(one("distinct_id", "user-1", "raw"), I("user-1"));
  EXPECT_EQ(one("controller_customer_id", "user-1", "raw"), I("user-1"));
  EXPECT_EQ(one("email", "bob@example.com", "raw"), I("bob@example.com"));
  std::vector<NodeFact> mixed = SeedNodes(kMaster, kToken, "email", " Bob@Example.com", "raw");
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0].node, I("bob@example.com"));
  EXPECT_EQ(mixed[1].node, I(" Bob@Example.com"));
  std::string hex = Sha256Hex("bob@example.com");
  EXPECT_EQ(one("email", hex, "sha256"), H("bob@example.com"));
  std::string upper = hex;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
  EXPECT_EQ(one("distinct_id", upper, "sha256"), H("bob@example.com"));
  EXPECT_EQ(one("session", kSession, "raw"), std::string("s:") + kSession);
  for (auto [type, value, format] : std::vector<std::tuple<const char*, std::string, const char*>>{
           {"email", hex.substr(1), "sha256"},
           {"email", hex.substr(1) + "g", "sha256"},
           {"phone", "1", "raw"},
           {"email", "a@b.c", "md5"},
           {"session", kSession, "sha256"},
           {"session", "../etc", "raw"}})
    EXPECT_TRUE(SeedNodes(kMaster, kToken, type, value, format).empty()) << type << " " << format;
  EXPECT_TRUE(SeedNodes("", kToken, "email", "bob@example.com", "raw").empty());
}

TEST(FactsTest, Sha256HexAndIllegalIds) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsIllegalIdentifier(" NaN "));
  EXPECT_FALSE(IsIllegalIdentifier("user-0"));
}

}  // namespace
}  // namespace scrubd::subjects
