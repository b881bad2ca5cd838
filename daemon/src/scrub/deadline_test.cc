// The request's CPU deadline is polled inside one value's walk (string pass and key pass),
// not only between events and properties: one event with one enormous nested value stops
// within the budget, reports deadline_exceeded, and is not kept.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "scrub/scrub.h"
#include "scrub/testing/scrub_fixture.h"
#include "support/big_value.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;
using scrubd::testing::EnormousValue;
using scrubd::testing::ThreadCpuMs;
using testing::ScrubFixture;

constexpr char kCanary[] = "canary.zq@example.com";

ingest::Event OneEvent(json::value big) {
  ingest::Event ev;
  ev.token = "phc_t";
  ev.name = "big";
  ev.json = json::object{{"event", "big"},
                         {"properties", json::object{{"distinct_id", "d-1"}, {"big", big}}}};
  return ev;
}

TEST(WalkDeadlineTest, ScrubStringsStopsInsideOneValueAndSaysSo) {
  auto scanner = testing::MakeScanner();
  rules::RedactionCounts counts;
  json::value v = EnormousValue(20000, kCanary);
  Deadline expired(std::chrono::nanoseconds(1));
  EXPECT_FALSE(ScrubStrings(v, "", *scanner, &counts, &expired));
  EXPECT_LT(counts.Total(), 100u);  // it stopped within the first nodes of the one value
  json::value w = EnormousValue(50, kCanary);
  Deadline ample(std::chrono::seconds(60));
  EXPECT_TRUE(ScrubStrings(w, "", *scanner, &counts, &ample));
  EXPECT_EQ(json::serialize(w).find(kCanary), std::string::npos);
}

// Baseline measured in the same run: the same event scrubbed without a deadline.
TEST(WalkDeadlineTest, OneEnormousValueIsRejectedWithinTheBudget) {
  ScrubFixture fx;
  const json::value big = EnormousValue(40000, kCanary);
  Scrubber free_scrubber(fx.state.get());
  ingest::Event full = OneEvent(big);
  Report full_report;
  double t0 = ThreadCpuMs();
  ASSERT_TRUE(free_scrubber.ScrubEvent(full, fx.policy, &full_report));
  const double full_ms = ThreadCpuMs() - t0;
  EXPECT_EQ(json::serialize(full.json).find(kCanary), std::string::npos);
  ASSERT_GT(full_ms, 40.0) << "the value is too small to measure the budget against";

  const double budget_ms = full_ms / 20;
  ingest::Event ev = OneEvent(big);
  Scrubber scrubber(fx.state.get());
  Report report;
  t0 = ThreadCpuMs();
  Deadline deadline(std::chrono::microseconds(static_cast<int64_t>(budget_ms * 1000)));
  scrubber.set_deadline(&deadline);  // starts now: it expires inside the one value's walk
  EXPECT_FALSE(scrubber.ScrubEvent(ev, fx.policy, &report));
  const double spent_ms = ThreadCpuMs() - t0;
  EXPECT_TRUE(report.deadline_exceeded);
  EXPECT_GE(spent_ms, budget_ms * 0.9) << "rejected before the walk: the test proves nothing";
  EXPECT_LT(spent_ms, full_ms / 4) << "full " << full_ms << " ms, budget " << budget_ms << " ms";
  std::printf("one enormous value: full walk %.1f ms, with a %.1f ms budget %.1f ms (ratio %.3f)\n",
              full_ms, budget_ms, spent_ms, spent_ms / full_ms);
}

}  // namespace
}  // namespace scrubd::scrub
