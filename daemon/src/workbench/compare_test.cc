// The preview's comparison and reports: pieces, alignment, attribution (selectors, inputs,
// detectors, dropped events), and reports that show values only when asked, escape what they
// show and allow exactly their own scripts. Then the real checkout fixture, loosened.
#include "workbench/compare.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <fstream>

#include "support/fixtures.h"
#include "workbench/compare_internal.h"
#include "workbench/report_html.h"
#include "workbench/report_text.h"

namespace scrubd::workbench {
namespace {
namespace json = boost::json;

std::shared_ptr<const policies::PolicySet> Default() {
  Result<std::shared_ptr<const policies::PolicySet>> set = LoadPolicies({});
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return set.ok() ? *set : nullptr;
}

// A page: <p class="ph-mask">Jane Doe</p>, <input value="...">, <p>Contact ...</p>, then a
// text mutation of the masked paragraph.
std::string Page(std::string_view masked_text, std::string_view input, std::string_view contact,
                 std::string_view mutated) {
  auto q = [](std::string_view s) { return json::serialize(json::string(s)); };
  return R"([{"type":4,"timestamp":1000,"data":{"href":"https://shop.test/","width":800,"height":600}},
  {"type":2,"timestamp":1001,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[
    {"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[
      {"type":2,"id":4,"tagName":"p","attributes":{"class":"ph-mask"},"childNodes":[
        {"type":3,"id":5,"textContent":)" +
         q(masked_text) + R"(}]},
      {"type":2,"id":6,"tagName":"input","attributes":{"type":"text","value":)" +
         q(input) +
         R"(},"childNodes":[]},
      {"type":2,"id":7,"tagName":"p","attributes":{},"childNodes":[
        {"type":3,"id":8,"textContent":)" +
         q(contact) + R"(}]}]}]}]}}},
  {"type":3,"timestamp":1500,"data":{"source":0,"texts":[{"id":5,"value":)" +
         q(mutated) + R"(}],"attributes":[],"removes":[],"adds":[]}}])";
}

RunResult Stored(const std::string& events_json, std::vector<json::object> events = {}) {
  RunResult r;
  StoredSession s{"phc_tok", "sess-1", json::parse(events_json).as_array(), {}};
  s.windows.push_back({"win-1", s.events});
  r.sessions.push_back(std::move(s));
  r.events = std::move(events);
  return r;
}

const std::string kCaptured =
    Page("Jane Doe", "typed secret", "Contact jane.doe@example.com now", "Jane Q Doe");
const std::string kMasked = Page("**** ***", "************", "Contact [EMAIL] now", "**** * ***");

TEST(ComparePiecesTest, SplitsOnSeparatorsAndKeepsOnlyPiecesWithALetterOrDigit) {
  std::string_view t = "Hi, jane.doe@example.com ** /a?token=x1&y= ***";
  std::vector<std::string> got;
  for (auto [s, e] : Pieces(t)) got.emplace_back(t.substr(s, e - s));
  EXPECT_EQ(got, (std::vector<std::string>{"Hi", "jane.doe@example.com", "a", "token", "x1", "y"}));
  EXPECT_TRUE(Pieces("**** *** [] ::").empty());
}

TEST(CompareTest, LooseningAMaskTextRuleListsEachValueItExposesWithTheBaselineRule) {
  RunResult captured = Stored(kCaptured), before = Stored(kMasked), after = Stored(kCaptured);
  after.sessions[0].windows[0].events =
      json::parse(Page("Jane Doe", "************", "Contact [EMAIL] now", "Jane Q Doe")).as_array();
  auto set = Default();
  Comparison c = Compare(captured, {&before, set.get()}, {&after, set.get()});
  ASSERT_EQ(c.newly_exposed.size(), 2u);  // the snapshot's text and the mutation's
  const Change& snap = c.newly_exposed[0];
  EXPECT_EQ(snap.where, "recording 1 window 1 rrweb event 2 (FullSnapshot)");
  EXPECT_EQ(snap.node, 5);
  EXPECT_EQ(snap.field,
            "data.node.childNodes[0].childNodes[0].childNodes[0].childNodes[0]."
            "textContent");
  EXPECT_EQ(snap.rule, "mask_text .ph-mask");
  EXPECT_EQ(snap.method, "mask");
  EXPECT_EQ(snap.offset, 0u);
  EXPECT_EQ(snap.length, 8u);
  EXPECT_EQ(snap.pieces, 2u);
  const Change& mut = c.newly_exposed[1];
  EXPECT_EQ(mut.event_type, "Mutation");
  EXPECT_EQ(mut.node, 5);
  EXPECT_EQ(mut.field, "data.texts[0].value");
  EXPECT_EQ(mut.rule, "mask_text .ph-mask");  // the node is found in the captured DOM
  EXPECT_EQ(mut.captured, "Jane Q Doe");
  EXPECT_TRUE(c.newly_hidden.empty());
}

TEST(CompareTest, AttributesInputsAndDetectorsOnTheHidingSide) {
  RunResult captured = Stored(kCaptured), masked = Stored(kMasked);
  auto set = Default();
  // No baseline: "before" is the input, so everything the policy hides is newly hidden.
  Comparison c = Compare(captured, {&captured, nullptr}, {&masked, set.get()});
  EXPECT_FALSE(c.has_baseline);
  EXPECT_TRUE(c.newly_exposed.empty());
  std::map<std::string, std::string> rule_by_field;
  for (const Change& ch : c.newly_hidden) rule_by_field[std::to_string(ch.node)] = ch.rule;
  EXPECT_EQ(rule_by_field["6"], "mask_all_inputs");
  EXPECT_EQ(rule_by_field["8"], "detector email");
  EXPECT_EQ(rule_by_field["5"], "mask_text .ph-mask");
  for (const Change& ch : c.newly_hidden)
    if (ch.node == 8) {
      EXPECT_EQ(ch.offset, 8u);  // "Contact " stays shown: only the address is newly hidden
      EXPECT_EQ(ch.length, 20u);
      EXPECT_EQ(ch.pieces, 1u);
    }
  bool counted = false;
  for (const AttributionRow& r : c.attribution)
    if (r.rule == "detector email") counted = r.after == 1 && r.before == 0;
  EXPECT_TRUE(counted);
}

TEST(CompareTest, AnEventOrSessionOneSideDidNotStoreIsHiddenThere) {
  RunResult captured = Stored(kCaptured), before = Stored(kCaptured), after = Stored(kCaptured);
  after.sessions[0].windows[0].events.erase(after.sessions[0].windows[0].events.begin() + 2);
  auto set = Default();
  Comparison c = Compare(captured, {&before, set.get()}, {&after, set.get()});
  ASSERT_EQ(c.newly_hidden.size(), 1u);
  EXPECT_EQ(c.newly_hidden[0].rule, "event not stored");
  EXPECT_EQ(c.newly_hidden[0].method, "drop");
  // A session missing on one side: every value of it is hidden there.
  RunResult none;
  Comparison d = Compare(captured, {&before, set.get()}, {&none, set.get()});
  EXPECT_GE(d.newly_hidden.size(), 4u);
  EXPECT_TRUE(d.newly_exposed.empty());
}

TEST(CompareTest, AnalyticsEventsAlignByUuidAndNameTheDetector) {
  auto ev = [](std::string_view uuid, std::string_view email) {
    return json::object{{"event", "signup"},
                        {"uuid", uuid},
                        {"properties", json::object{{"token", "phc_tok"}, {"note", email}}}};
  };
  RunResult captured = Stored("[]", {ev("u1", "mail jane.doe@example.com"), ev("u2", "x")});
  RunResult before = Stored("[]", {ev("u2", "x"), ev("u1", "mail [EMAIL]")});
  RunResult after = Stored("[]", {ev("u1", "mail jane.doe@example.com"), ev("u2", "x")});
  auto set = Default();
  Comparison c = Compare(captured, {&before, set.get()}, {&after, set.get()});
  ASSERT_EQ(c.newly_exposed.size(), 1u);
  EXPECT_EQ(c.newly_exposed[0].where, "analytics event 1");
  EXPECT_EQ(c.newly_exposed[0].event_type, "signup");
  EXPECT_EQ(c.newly_exposed[0].field, "properties.note");
  EXPECT_EQ(c.newly_exposed[0].rule, "detector email");
  EXPECT_EQ(c.newly_exposed[0].node, -1);
}

Comparison Loosened(RunResult* captured, RunResult* before, RunResult* after) {
  *captured = Stored(kCaptured);
  *before = Stored(kMasked);
  *after = Stored(kCaptured);
  static auto set = Default();
  return Compare(*captured, {before, set.get()}, {after, set.get()});
}

TEST(CompareReportTest, TextAndJsonShowValuesOnlyWhenAsked) {
  RunResult captured, before, after;
  Comparison c = Loosened(&captured, &before, &after);
  ReportHeader h{{"old.yaml"}, {"new.yaml"}, {"n1"}, {"b1"}, "in", 3};
  std::string text = ComparisonText(h, c, false);
  std::string js = json::serialize(ComparisonJson(h, c, false));
  for (const std::string* out : {&text, &js}) {
    EXPECT_EQ(out->find("Jane"), std::string::npos);
    EXPECT_EQ(out->find("jane.doe"), std::string::npos);
    EXPECT_EQ(out->find("typed secret"), std::string::npos);
  }
  EXPECT_NE(text.find("NEWLY EXPOSED: " + std::to_string(c.newly_exposed.size())),
            std::string::npos);
  EXPECT_NE(text.find("was hidden by mask_text .ph-mask (mask)"), std::string::npos);
  EXPECT_NE(text.find("was hidden by detector email"), std::string::npos);
  EXPECT_NE(ComparisonText(h, c, true).find("\"Jane Doe\""), std::string::npos);
  json::object o = ComparisonJson(h, c, true);
  EXPECT_EQ(o["newly_exposed"].as_array()[0].as_object()["captured"], "Jane Doe");
}

// The CSP source that allows inline script `s`.
std::string Sha256Source(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  unsigned char b64[64];
  EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return "'sha256-" + std::string(reinterpret_cast<char*>(b64)) + "'";
}

// Every inline <script> of `html`, without its tag.
std::vector<std::string> InlineScripts(const std::string& html) {
  std::vector<std::string> out;
  for (size_t at = html.find("<script>"); at != std::string::npos;
       at = html.find("<script>", at + 1)) {
    size_t end = html.find("</script>", at);
    out.push_back(html.substr(at + 8, end - at - 8));
  }
  return out;
}

TEST(CompareReportTest, HtmlEscapesEveryValueAndAllowsOnlyItsOwnScripts) {
  const std::string hostile = "\"><img src=x onerror=alert(1)></script><script>alert(2)</script>";
  std::string cap = Page(hostile, "a", "b", "c");
  RunResult captured = Stored(cap), before = Stored(Page("*", "*", "*", "*")), after = Stored(cap);
  auto set = Default();
  Comparison c = Compare(captured, {&before, set.get()}, {&after, set.get()});
  ASSERT_FALSE(c.newly_exposed.empty());
  ReportHeader h{{"o<b>.yaml"}, {"n.yaml"}, {}, {}, "dir\"><x", 1};
  Result<std::string> html = PreviewHtml(h, c, before, after, true);
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  EXPECT_EQ(html->find("<img"), std::string::npos);
  EXPECT_EQ(html->find("alert(2)</script>"), std::string::npos);
  EXPECT_EQ(html->find("o<b>"), std::string::npos);
  EXPECT_NE(html->find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html->find("\\u003cscript\\u003e"), std::string::npos);  // in the data block
  std::vector<std::string> scripts = InlineScripts(*html);
  ASSERT_EQ(scripts.size(), 2u);  // rrweb-player and the report's own; data is not a script
  size_t src = html->find("script-src ");
  ASSERT_NE(src, std::string::npos);
  std::string sources = html->substr(src, html->find(';', src) - src);
  EXPECT_EQ(std::count(sources.begin(), sources.end(), '\''), 4) << sources;  // two hashes
  for (const std::string& s : scripts) EXPECT_NE(sources.find(Sha256Source(s)), std::string::npos);
  EXPECT_NE(html->find("style-src 'unsafe-inline';"), std::string::npos);
  EXPECT_EQ(html->find("unsafe-inline"), html->rfind("unsafe-inline"));  // styles only
  // Without --show-values the tables hold no value (the data block holds the streams).
  Result<std::string> plain = PreviewHtml(h, c, before, after, false);
  ASSERT_TRUE(plain.ok());
  size_t data = plain->find("id=\"scrubd-preview-data\"");
  EXPECT_EQ(plain->substr(0, data).find("onerror"), std::string::npos);
}

TEST(CompareFixtureTest, TheCheckoutUnderALoosenedDefaultExposesTheBlockedNote) {
  Result<std::vector<CapturedRequest>> in = LoadCaptureDir(scrubd::testing::FixtureDir());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  std::string yaml(policies::EmbeddedDefaultPolicy());
  const std::string line = "    - \"[data-ph-no-capture]\"\n";
  ASSERT_NE(yaml.find(line), std::string::npos);
  yaml.erase(yaml.find(line), line.size());
  auto loose = policies::ParsePolicy("loose.yaml", yaml, {"k", "ik"});
  ASSERT_TRUE(loose.ok()) << loose.status().ToString();
  policies::PolicySet loose_set({*loose});
  auto shipped = Default();
  Result<RunResult> captured = DecodeOnly(*in);
  Result<RunResult> before = RunPolicy(shipped, *in);
  Result<RunResult> after = RunPolicy(std::make_shared<const policies::PolicySet>(loose_set), *in);
  ASSERT_TRUE(captured.ok() && before.ok() && after.ok());
  Comparison c = Compare(*captured, {&*before, shipped.get()}, {&*after, &loose_set});
  ASSERT_FALSE(c.newly_exposed.empty());
  bool note = false;
  for (const Change& ch : c.newly_exposed) {
    EXPECT_EQ(ch.rule, "block [data-ph-no-capture]") << ch.where << " " << ch.field;
    note |= ch.captured.find("Secret medical note") != std::string::npos;
  }
  EXPECT_TRUE(note);
  EXPECT_TRUE(c.newly_hidden.empty());
  // The same policy on both sides changes nothing.
  Comparison same = Compare(*captured, {&*before, shipped.get()}, {&*before, shipped.get()});
  EXPECT_TRUE(same.newly_exposed.empty());
  EXPECT_TRUE(same.newly_hidden.empty());
}

}  // namespace
}  // namespace scrubd::workbench

namespace scrubd::workbench {
namespace {

TEST(CompareRevealTest, PartialMasksAndTruncationsRevealPartOfAPiece) {
  EXPECT_EQ(compare_internal::Revealed("4111-1111-1111-1111", "****-1111-1111-1111"), 12u);
  EXPECT_EQ(compare_internal::Revealed("4111-1111-1111-1111", "[CARD]"), 0u);
  EXPECT_EQ(compare_internal::Revealed("192.168.1.23", "192.168.1.0"), 7u);
  EXPECT_EQ(compare_internal::Revealed("jane.doe@example.com", "j***.***@example.com"), 11u);
  EXPECT_EQ(compare_internal::Revealed("Jane", "****"), 0u);
  // Chance: two unrelated ids of one length, a one-letter common prefix.
  EXPECT_EQ(compare_internal::Revealed("pid_abcdef", "pid_zyxwvu"), 3u);  // "pid" is shared
  EXPECT_EQ(compare_internal::Revealed("a1b2c3d4", "a9z8y7x6"), 0u);
}

json::object Event(std::string_view uuid, json::object props, std::string_view name = "e") {
  props["token"] = "phc_tok";
  json::object o{{"event", name}, {"properties", std::move(props)}};
  if (!uuid.empty()) o["uuid"] = uuid;
  return o;
}

Comparison Events(std::vector<json::object> c, std::vector<json::object> b,
                  std::vector<json::object> a) {
  RunResult captured = Stored("[]", std::move(c)), before = Stored("[]", std::move(b)),
            after = Stored("[]", std::move(a));
  static auto set = Default();
  return Compare(captured, {&before, set.get()}, {&after, set.get()});
}

TEST(CompareTest, ALengthKeepingMaskThatKeepsMoreDigitsIsNewlyExposed) {
  Comparison c =
      Events({Event("u1", {{"num", "4111-1111-1111-1111"}})}, {Event("u1", {{"num", "[CARD]"}})},
             {Event("u1", {{"num", "****-1111-1111-1111"}})});
  ASSERT_EQ(c.newly_exposed.size(), 1u);
  EXPECT_EQ(c.newly_exposed[0].field, "properties.num");
  EXPECT_EQ(c.newly_exposed[0].rule, "detector card");
}

TEST(CompareTest, NumbersAndKeysOfAnalyticsEventsAreCompared) {
  json::object cap{{"phone", 15551234567}, {"jane.doe@example.com", 1}};
  Comparison c = Events({Event("u1", cap)}, {Event("u1", {{"[REDACTED]", 1}})}, {Event("u1", cap)});
  std::vector<std::string> fields;
  for (const Change& ch : c.newly_exposed) fields.push_back(ch.field);
  // The phone number, the personal key itself, and the value under it; the key is never
  // named (the baseline did not keep it).
  EXPECT_EQ(fields, (std::vector<std::string>{"properties.[key]", "properties.[key]",
                                              "properties.[key]", "properties.[key]"}))
      << ::testing::PrintToString(fields);
  bool key_rule = false;
  for (const Change& ch : c.newly_exposed) key_rule |= ch.rule == "detector email in the key";
  EXPECT_TRUE(key_rule);
}

TEST(CompareTest, EventsAlignByContentWhenOneSideDroppedOneOfAGroup) {
  // No uuid, one timestamp: the baseline dropped the first and redacted the second, the new
  // policy dropped the first and keeps the second's address.
  auto ev = [](std::string_view note) {
    json::object o = Event("", {{"note", note}});
    o["timestamp"] = "2026-12-01T10:00:00Z";
    return o;
  };
  Comparison c = Events({ev("dropme zz"), ev("mail jane.doe@example.com")}, {ev("mail [EMAIL]")},
                        {ev("mail jane.doe@example.com")});
  ASSERT_EQ(c.newly_exposed.size(), 1u) << c.newly_exposed.size();
  EXPECT_EQ(c.newly_exposed[0].where, "analytics event 2");
  // Two events with one uuid: the second's exposure is not hidden behind the first.
  Comparison d = Events({Event("u1", {{"n", "a"}}), Event("u1", {{"n", "dup jane@x.test"}})},
                        {Event("u1", {{"n", "a"}}), Event("u1", {{"n", "dup [EMAIL]"}})},
                        {Event("u1", {{"n", "a"}}), Event("u1", {{"n", "dup jane@x.test"}})});
  ASSERT_EQ(d.newly_exposed.size(), 1u);
  EXPECT_EQ(d.newly_exposed[0].where, "analytics event 2");
}

TEST(CompareTest, AnEventNameOneSideHidIsNotPrinted) {
  Comparison c = Events({Event("u1", {{"n", "x"}}, "evt jane@x.test")},
                        {Event("u1", {{"n", "x"}}, "evt [EMAIL]")},
                        {Event("u1", {{"n", "x"}}, "evt jane@x.test")});
  ASSERT_EQ(c.newly_exposed.size(), 1u);
  EXPECT_EQ(c.newly_exposed[0].event_type, "event");
  EXPECT_EQ(c.newly_exposed[0].field, "event");
}

}  // namespace
}  // namespace scrubd::workbench
