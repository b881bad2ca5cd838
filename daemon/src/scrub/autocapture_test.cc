#include "scrub/autocapture.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "scrub/scrub.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;

// A shapeless canary: no detector would catch it, only the element rules can.
constexpr char kCanary[] = "Zq9canary";

policies::MaskingPolicy Policy(const char* extra_block = nullptr) {
  policies::MaskingPolicy p = policies::MaskingPolicy::Defaults();
  if (extra_block != nullptr) {
    auto extra = policies::SelectorList::Parse(extra_block);
    EXPECT_TRUE(extra.ok());
    p.block.Append(*extra);
    EXPECT_TRUE(p.Compile().ok());
  }
  return p;
}

// posthog-js's encoding: clicked element first, then its ancestors, ';' between elements,
// attributes sorted by key, '"' escaped as '\"'.
json::object Event(const std::string& chain, const std::string& elements = "[]") {
  return json::parse(R"({"event":"$autocapture","properties":{"$event_type":"click",
    "$el_text":"Zq9canary","$elements_chain":)" +
                     json::serialize(json::value(chain)) + R"(,"$elements":)" + elements + "}}")
      .as_object();
}

TEST(AutocaptureTest, TextUnderPhMaskIsMaskedInChainElTextAndElements) {
  json::object ev = Event(
      "span.label:nth-child=\"1\"nth-of-type=\"1\"text=\"Zq9canary\";"
      "div.ph-mask:attr__class=\"ph-mask\"attr__title=\"Zq9canary\"nth-child=\"2\""
      "nth-of-type=\"1\";body:nth-child=\"2\"nth-of-type=\"1\"",
      R"([{"tag_name":"span","classes":["label"],"$el_text":"Zq9canary","nth_child":1},
          {"tag_name":"div","attr__class":"ph-mask","attr__title":"Zq9canary"},
          {"tag_name":"body"}])");
  rules::RedactionCounts counts;
  ScrubAutocapture(ev, Policy(), &counts);
  std::string out = json::serialize(ev);
  EXPECT_EQ(out.find(kCanary), std::string::npos) << out;
  const json::object& p = ev.at("properties").as_object();
  EXPECT_EQ(p.at("$elements_chain").as_string(),
            "span.label:nth-child=\"1\"nth-of-type=\"1\"text=\"*********\";"
            "div.ph-mask:attr__class=\"ph-mask\"attr__title=\"*********\"nth-child=\"2\""
            "nth-of-type=\"1\";body:nth-child=\"2\"nth-of-type=\"1\"");
  EXPECT_EQ(p.at("$el_text").as_string(), "*********");
  EXPECT_GE(counts.by_rule["autocapture.text"], 4u);
}

TEST(AutocaptureTest, BlockedAncestorsMaskTextAndAttributesButKeepClassAndId) {
  for (const char* block : {"ph-no-capture", "checkout-secret"}) {
    std::string chain = std::string("a:attr__href=\"https://x.test/?u=Zq9canary\"") +
                        "attr__id=\"buy\"href=\"https://x.test/?u=Zq9canary\"nth-child=\"1\""
                        "nth-of-type=\"1\"text=\"Zq9 \\\"canary\\\"\";"
                        "section." +
                        block + ":attr__class=\"" + block +
                        "\"attr__data-note=\"Zq9canary\"nth-child=\"3\"nth-of-type=\"1\"";
    json::object ev = Event(chain);
    ScrubAutocapture(ev, Policy(".checkout-secret"), nullptr);
    std::string out = json::serialize(ev);
    EXPECT_EQ(out.find("Zq9"), std::string::npos) << out;
    EXPECT_NE(out.find("attr__id=\\\"buy\\\""), std::string::npos) << out;
    EXPECT_NE(out.find(std::string("section.") + block + ":attr__class"), std::string::npos);
    EXPECT_NE(out.find("text=\\\"*** ********\\\""), std::string::npos) << out;
  }
}

TEST(AutocaptureTest, InputValuesAlwaysMaskedAndPlainTextKept) {
  json::object ev = Event(
      "input:attr__name=\"q\"attr__type=\"text\"attr__value=\"Zq9canary\"nth-child=\"1\""
      "nth-of-type=\"1\";button.primary:attr__class=\"primary\"nth-child=\"1\"nth-of-type=\"1\""
      "text=\"Click me\"",
      R"([{"tag_name":"input","attr__value":"Zq9canary"},{"tag_name":"button",
          "$el_text":"Click me"}])");
  ev["properties"].as_object()["$el_text"] = "Search";
  ScrubAutocapture(ev, Policy(), nullptr);
  std::string out = json::serialize(ev);
  EXPECT_EQ(out.find(kCanary), std::string::npos) << out;
  EXPECT_NE(out.find("text=\\\"Click me\\\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"$el_text\":\"Click me\""), std::string::npos) << out;
  EXPECT_EQ(ev.at("properties").at("$el_text").as_string(), "Search");
}

TEST(AutocaptureTest, UnparseableChainFailsClosed) {
  for (const char* chain : {"div:text=\"Zq9canary", "div:=\"Zq9canary\"", "a\"Zq9canary\""}) {
    json::object ev = Event(chain, R"([{"tag_name":"div","$el_text":"Zq9canary"}])");
    rules::RedactionCounts counts;
    ScrubAutocapture(ev, Policy(), &counts);
    EXPECT_EQ(json::serialize(ev).find(kCanary), std::string::npos) << chain;
    EXPECT_EQ(counts.by_rule["autocapture.unparseable"], 1u) << chain;
  }
  json::object bad = Event("div:nth-child=\"1\"", R"("not an array")");
  ScrubAutocapture(bad, Policy(), nullptr);
  EXPECT_EQ(json::serialize(bad).find(kCanary), std::string::npos);
}

// The class attribute comes from the head and from attr__class; names are case-insensitive.
TEST(AutocaptureTest, AttrClassAndUpperCaseNamesSelectTheElement) {
  for (const char* chain : {"span:attr__class=\"ph-mask\"text=\"Zq9canary\"nth-child=\"1\"",
                            "span.label:attr__class=\"label ph-mask\"text=\"Zq9canary\"",
                            "span:ATTR__CLASS=\"ph-mask\"text=\"Zq9canary\"",
                            "span:attr__DATA-PH-NO-CAPTURE=\"\"text=\"Zq9canary\"",
                            "input:attr__TYPE=\"password\"attr__VALUE=\"Zq9canary\""}) {
    json::object ev = Event(chain);
    ev.at("properties").as_object().erase("$el_text");  // the chain alone decides
    ScrubAutocapture(ev, Policy(), nullptr);
    EXPECT_EQ(json::serialize(ev).find(kCanary), std::string::npos) << chain;
  }
  json::object ev = Event("span:text=\"x\"", R"([{"tag_name":"span","ATTR__CLASS":"ph-mask",
      "$el_text":"Zq9canary"}])");
  ScrubAutocapture(ev, Policy(), nullptr);
  EXPECT_EQ(json::serialize(ev).find(kCanary), std::string::npos);
}

// $elements_chain_texts and the like cannot be attributed: masked whole when anything is.
TEST(AutocaptureTest, DerivedChainKeysAreMaskedWhenAnyElementIsMasked) {
  json::object ev = Event("span:attr__class=\"ph-mask\"text=\"Zq9canary\"");
  json::object& p = ev.at("properties").as_object();
  p["$elements_chain_texts"] = json::array{"Zq9canary"};
  p["$elements_chain_href"] = "https://x.test/?u=Zq9canary";
  ScrubAutocapture(ev, Policy(), nullptr);
  EXPECT_EQ(json::serialize(ev).find(kCanary), std::string::npos) << json::serialize(ev);
  json::object alone =
      json::parse(R"({"properties":{"$elements_chain_texts":["Zq9canary"]}})").as_object();
  ScrubAutocapture(alone, Policy(), nullptr);
  EXPECT_EQ(json::serialize(alone).find(kCanary), std::string::npos);
  json::object plain = Event("span:text=\"Click me\"");
  plain.at("properties").as_object()["$elements_chain_texts"] = json::array{"Click me"};
  plain.at("properties").as_object()["$el_text"] = "Click me";
  ScrubAutocapture(plain, Policy(), nullptr);
  EXPECT_NE(json::serialize(plain).find("[\"Click me\"]"), std::string::npos);
}

// The scrub stage calls it for analytics events (the one-line hook in Scrubber::ScrubEvent).
TEST(AutocaptureTest, ScrubEventAppliesTheElementRules) {
  policies::Policy policy;
  auto scanner = rules::Scanner::Create({});
  ASSERT_TRUE(scanner.ok());
  policy.scanner = *scanner;
  policy.masking = Policy();
  ingest::Event ev;
  ev.json = Event("span:text=\"Zq9canary\";div.ph-mask:attr__class=\"ph-mask\"");
  ev.name = "$autocapture";
  Scrubber scrubber(nullptr);
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, policy, &report));
  EXPECT_EQ(json::serialize(ev.json).find(kCanary), std::string::npos);
}

}  // namespace
}  // namespace scrubd::scrub
