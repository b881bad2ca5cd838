// rrweb events whose integer fields are written another way are dropped by the scrub stage
// and counted as `bad_type` (dom/schema.h); their content never reaches the output.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "scrub/scrub.h"
#include "scrub/testing/scrub_fixture.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;

TEST(BadTypeTest, TrickedIntegersDropTheRrwebEventAndAreCounted) {
  testing::ScrubFixture fx;
  // The canary is a password value, ph-mask text and ph-no-capture content: none of them is
  // a pattern the string pass would catch (kept short and shapeless on purpose).
  ingest::Event ev = testing::ScrubFixture::Snapshot(
      R"({"event": "$snapshot", "properties": {"token": "t",
    "$snapshot_data": [
      {"type": "2", "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [
        {"type": 2, "tagName": "input", "id": 2, "attributes": {"type": "password",
         "value": "Zq9canary"}, "childNodes": []}]}, "initialOffset": {"left": 0, "top": 0}}},
      {"type": 2, "timestamp": 2, "data": {"node": {"type": 0, "id": 1, "childNodes": [
        {"type": 2, "tagName": "div", "id": 2, "attributes": {"class": "ph-mask"},
         "childNodes": [{"type": 3.5, "id": 3, "textContent": "Zq9canary"}]},
        {"type": 2, "tagName": "div", "id": 4, "attributes": {"class": "ph-no-capture"},
         "childNodes": [{"type": 3, "id": 5, "textContent": "ok"}]}]},
        "initialOffset": {"left": 0, "top": 0}}},
      {"type": 3, "timestamp": 3, "data": {"source": 1e300, "id": 4, "text": "Zq9canary"}},
      {"type": 3, "timestamp": 4, "data": {"source": 0, "texts": [], "attributes": [],
        "removes": [], "adds": [{"parentId": 4, "nextId": null, "node": {"type": 2,
        "tagName": "span", "id": "6", "attributes": {}, "childNodes": [
        {"type": 3, "id": 7, "textContent": "Zq9canary"}]}}]}},
      {"type": 3, "timestamp": 5, "data": {"source": 5, "id": 2, "text": "Zq9canary"}}
    ]}})");
  Scrubber scrubber(fx.state.get());
  Report report;
  ASSERT_TRUE(scrubber.ScrubEvent(ev, fx.policy, &report));
  EXPECT_EQ(report.dropped["bad_type"], 4u);
  const json::array& items = *ingest::SnapshotItems(ev.json);
  ASSERT_EQ(items.size(), 1u);  // the well-formed Input event, masked as an unknown id
  EXPECT_EQ(json::serialize(ev.json).find("Zq9canary"), std::string::npos)
      << json::serialize(ev.json);
}

}  // namespace
}  // namespace scrubd::scrub
