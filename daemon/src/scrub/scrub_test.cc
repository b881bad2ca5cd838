#include "scrub/scrub.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "dom/dom_masker.h"
#include "scrub/testing/scrub_fixture.h"
#include "support/fixtures.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;

using testing::MakeScanner;
using testing::ScrubFixture;

TEST(ScrubStringsTest, RedactsStringsCssStringsAndLongNumbersButNotTimestamps) {
  auto scanner = MakeScanner();
  json::value v = json::parse(R"({
    "attributes": {"_cssText": ".a[title='jane@example.com'] { color: red }",
                   "title": "mail jane@example.com"},
    "childNodes": [{"type": 3, "isStyle": true, "textContent": "b::after{content:'jane@example.com'}"},
                   {"type": 3, "textContent": "call jane@example.com now"}],
    "timestamp": 1795352239383, "x": 4111111111111111})");
  rules::RedactionCounts counts;
  ASSERT_TRUE(ScrubStrings(v, "", *scanner, &counts));
  std::string out = json::serialize(v);
  // CSS keeps its syntax, but its strings are scanned (scrub/css_test.cc has the details).
  EXPECT_NE(out.find(".a[title='"), std::string::npos);
  EXPECT_NE(out.find("b::after{content:'"), std::string::npos);
  EXPECT_EQ(out.find("jane@"), std::string::npos) << out;
  EXPECT_EQ(v.at("attributes").at("title").as_string().find("jane@"), std::string::npos);
  EXPECT_EQ(v.at("childNodes").at(1).at("textContent").as_string().find("jane@"),
            std::string::npos);
  EXPECT_EQ(v.at("timestamp").as_int64(), 1795352239383);  // a ms timestamp is kept
  ASSERT_TRUE(v.at("x").is_string()) << out;               // a card sent as an int is not
  EXPECT_EQ(out.find("4111111111111111"), std::string::npos) << out;
  EXPECT_EQ(counts.by_rule["email"], 4u);
}

TEST(ScrubEventTest, RoutingIdsSurviveButATokenElsewhereIsRedacted) {
  auto scanner = MakeScanner();
  policies::Policy policy;
  policy.scanner = scanner;
  ingest::Event ev;
  ev.json = json::parse(R"({"uuid": "01a20355-1c3b-7e32-8005-5c936b66d610", "event": "signup",
    "properties": {"token": "phc_project", "$session_id": "s-1", "$window_id": "w-1",
                   "email": "jane@example.com",
                   "headers": {"token": "hunter2-secret-value"},
                   "$current_url": "https://shop.test/?email=jane%40example.com&page=2"}})")
                .as_object();
  ev.name = "signup";
  Scrubber scrubber(nullptr);
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, policy, &report));
  const json::object& p = ev.json.at("properties").as_object();
  EXPECT_EQ(p.at("token").as_string(), "phc_project");
  EXPECT_EQ(p.at("$session_id").as_string(), "s-1");
  EXPECT_EQ(ev.json.at("uuid").as_string(), "01a20355-1c3b-7e32-8005-5c936b66d610");
  EXPECT_EQ(p.at("headers").at("token").as_string().find("hunter2"), std::string::npos);
  EXPECT_EQ(p.at("email").as_string().find("jane@"), std::string::npos);
  EXPECT_EQ(p.at("$current_url").as_string().find("jane"), std::string::npos);
  EXPECT_NE(p.at("$current_url").as_string().find("page=2"), std::string::npos);
}

}  // namespace
}  // namespace scrubd::scrub

namespace scrubd::scrub {
namespace {

TEST(ScrubEventTest, StyleSheetRuleEventsKeepSyntaxNotEmails) {
  ScrubFixture fx;
  ingest::Event ev = ScrubFixture::Snapshot(
      R"({"event": "$snapshot", "properties": {"token": "t",
    "$snapshot_data": [
      {"type": 3, "timestamp": 1, "data": {"source": 8, "id": 4,
        "adds": [{"rule": "a[href='mailto:jane@example.com']{color:red}", "index": 0}]}},
      {"type": 6, "timestamp": 2, "data": {"plugin": "rrweb/console@1", "payload": {"level": "log",
        "payload": ["\"jane@example.com\""], "trace": []}}}
    ]}})");
  Scrubber scrubber(fx.state.get());
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, fx.policy, &report));
  const json::array& items = *ingest::SnapshotItems(ev.json);
  ASSERT_EQ(items.size(), 2u);
  // CSS rule text keeps its syntax; the string inside it is scanned like any string.
  EXPECT_NE(json::serialize(items[0]).find("a[href='"), std::string::npos);
  EXPECT_NE(json::serialize(items[0]).find("']{color:red}"), std::string::npos);
  EXPECT_EQ(json::serialize(items[0]).find("jane@example.com"), std::string::npos);
  EXPECT_EQ(json::serialize(items[1]).find("jane@example.com"), std::string::npos);
  EXPECT_GE(report.counts.Total(), 2u);
}

}  // namespace
}  // namespace scrubd::scrub

namespace scrubd::scrub {
namespace {

ingest::Event AnalyticsEvent(const std::string& json_text) {
  ingest::Event ev;
  ev.json = json::parse(json_text).as_object();
  ev.token = "phc_t";
  ev.name = "e";
  return ev;
}

TEST(ScrubKeysTest, KeysAreScannedAndCollidingRedactionsStayDistinct) {
  policies::Policy policy;
  policy.scanner = MakeScanner();
  ingest::Event ev = AnalyticsEvent(R"({"event": "e", "jane@example.com": "top",
    "properties": {"token": "phc_t", "jane@example.com": 1, "joe@example.com": 2,
                   "nested": {"deep": [{"ann@example.com": {"bob@example.com": "v"}}]}}})");
  Scrubber scrubber(nullptr);
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, policy, &report));
  std::string out = json::serialize(ev.json);
  EXPECT_EQ(out.find("example.com"), std::string::npos) << out;
  const json::object& p = ev.json.at("properties").as_object();
  // Two keys that redact to the same text keep both values under distinct keys.
  ASSERT_EQ(p.size(), 4u) << out;
  int64_t sum = 0;
  for (const auto& kv : p)
    if (kv.value().is_int64()) sum += kv.value().as_int64();
  EXPECT_EQ(sum, 3);
  EXPECT_EQ(ev.json.size(), 3u);  // the top-level key is renamed, not lost
  EXPECT_GE(report.counts.by_rule["email"], 5u);
}

TEST(ScrubKeysTest, ARedactedKeyNeverTakesAKeptKeysName) {
  auto scanner = MakeScanner();
  json::value probe = json::parse(R"({"jane@example.com": 0})");
  rules::RedactionCounts counts;
  ASSERT_TRUE(ScrubStrings(probe, "", *scanner, &counts));
  const std::string label(probe.as_object().begin()->key());  // what an email key becomes
  json::value v = json::parse(R"({"a": {"jane@example.com": 1}})");
  v.as_object()["a"].as_object()[label] = 2;  // a kept key that already has that name
  v.as_object()["a"].as_object()[label + "#2"] = 3;
  ASSERT_TRUE(ScrubStrings(v, "", *scanner, &counts));
  const json::object& a = v.at("a").as_object();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a.at(label).as_int64(), 2);  // the kept keys are untouched
  EXPECT_EQ(a.at(label + "#2").as_int64(), 3);
  EXPECT_EQ(a.at(label + "#3").as_int64(), 1);  // the redacted one moves aside
}

// 20,000 email-like keys in one object (the reviewer's ingest stall): every value survives
// under a distinct key, kept keys included. Functional only; UniqueKey is linear now.
TEST(ScrubKeysTest, ManyCollidingKeysStayDistinct) {
  auto scanner = MakeScanner();
  json::value probe = json::parse(R"({"jane@example.com": 0})");
  rules::RedactionCounts counts;
  ASSERT_TRUE(ScrubStrings(probe, "", *scanner, &counts));
  const std::string label(probe.as_object().begin()->key());
  constexpr int kKeys = 20000;
  json::object o;
  for (int i = 0; i < kKeys; ++i) o["u" + std::to_string(i) + "@example.com"] = i;
  o[label + "#7"] = -1;  // a kept key in the suffix range
  json::value v = std::move(o);
  ASSERT_TRUE(ScrubStrings(v, "", *scanner, &counts));
  const json::object& out = v.as_object();
  ASSERT_EQ(out.size(), static_cast<size_t>(kKeys) + 1);
  EXPECT_EQ(out.at(label + "#7").as_int64(), -1);
  std::vector<bool> seen(kKeys, false);
  for (const auto& kv : out) {
    EXPECT_EQ(std::string_view(kv.key()).find("example.com"), std::string_view::npos);
    int64_t x = kv.value().as_int64();
    if (x >= 0) seen[static_cast<size_t>(x)] = true;
  }
  for (int i = 0; i < kKeys; ++i) EXPECT_TRUE(seen[static_cast<size_t>(i)]) << i;
}

// Numbers with a 9+ digit integer part are scanned as text with their key (the reviewer's
// {"x":4111111111111111}, {"social_security_no":536221234}); small ones and timestamps stay.
TEST(ScrubNumberTest, LongNumbersAreScannedSmallOnesAndTimestampsKept) {
  auto scanner = MakeScanner();
  json::value v = json::parse(R"({"x": 4111111111111111, "f": 4111111111111111.0,
    "u": 18446744073709551615, "social_security_no": 536221234, "id": 12345678,
    "timestamp": 1795352239383, "ts": 1795352239383.5, "time_ms": 1764628997000,
    "nested": [{"card": 5555555555554444}], "w": 1280, "neg": -3})");
  rules::RedactionCounts counts;
  ASSERT_TRUE(ScrubStrings(v, "", *scanner, &counts));
  std::string out = json::serialize(v);
  for (std::string_view canary :
       {"4111111111111111", "4.111111111111111", "536221234", "5555555555554444"})
    EXPECT_EQ(out.find(canary), std::string::npos) << canary << " in " << out;
  EXPECT_TRUE(v.at("x").is_string());
  EXPECT_TRUE(v.at("f").is_string());
  EXPECT_TRUE(v.at("social_security_no").is_string());
  EXPECT_EQ(v.at("id").as_int64(), 12345678);
  EXPECT_EQ(v.at("timestamp").as_int64(), 1795352239383);
  EXPECT_EQ(v.at("ts").as_double(), 1795352239383.5);
  EXPECT_EQ(v.at("time_ms").as_int64(), 1764628997000);
  EXPECT_EQ(v.at("w").as_int64(), 1280);
  EXPECT_EQ(v.at("neg").as_int64(), -3);
  EXPECT_GE(counts.Total(), 4u);
}

TEST(SensitiveKeyTest, WholeValueIsRedactedWhateverItsType) {
  policies::Policy policy;
  policy.scanner = MakeScanner();
  ingest::Event ev = AnalyticsEvent(R"({"event": "e", "properties": {"token": "phc_t",
    "password": 123456, "card": 4111111111111111, "cvv": 7.5, "secret": true,
    "credentials": {"pass": "hunter2", "pin": 9876}, "auth": ["tok-a", 31337],
    "nested": {"api_key": {"k": [424242]}}, "password_hint": null, "count": 424243}})");
  Scrubber scrubber(nullptr);
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, policy, &report));
  std::string out = json::serialize(ev.json);
  for (const char* raw :
       {"123456", "4111111111111111", "7.5", "hunter2", "9876", "tok-a", "31337", "424242", "true"})
    EXPECT_EQ(out.find(raw), std::string::npos) << raw << " in " << out;
  const json::object& p = ev.json.at("properties").as_object();
  for (const char* k : {"password", "card", "cvv", "secret", "credentials", "auth"})
    EXPECT_TRUE(p.at(k).is_string()) << k;
  EXPECT_TRUE(p.at("password_hint").is_null());
  EXPECT_EQ(p.at("count").as_int64(), 424243);  // an ordinary key keeps its number
}

TEST(InputEventTest, NonStringTextIsDroppedAndCounted) {
  ScrubFixture fx;
  ingest::Event ev = ScrubFixture::Snapshot(
      R"({"event": "$snapshot", "properties": {"token": "t",
    "$snapshot_data": [
      {"type": 3, "timestamp": 1, "data": {"source": 5, "id": 9, "text": ["Jane Q Canary"]}},
      {"type": 3, "timestamp": 2, "data": {"source": 5, "id": 9, "text": {"v": "Jane Q Canary"}}},
      {"type": 3, "timestamp": 3, "data": {"source": 5, "id": 9, "text": "typed", "isChecked": false}}
    ]}})");
  Scrubber scrubber(fx.state.get());
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, fx.policy, &report));
  const json::array& items = *ingest::SnapshotItems(ev.json);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("timestamp").as_int64(), 3);
  EXPECT_EQ(json::serialize(ev.json).find("Canary"), std::string::npos);
  EXPECT_EQ(report.dropped["input_text_type"], 2u);
}

}  // namespace
}  // namespace scrubd::scrub
