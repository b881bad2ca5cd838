#include "admit/admit.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace scrubd::admit {
namespace {
namespace json = boost::json;

ingest::Event MakeEvent(const std::string& props_json, const std::string& name = "$pageview") {
  ingest::Event ev;
  ev.name = name;
  ev.token = "phc_t";
  ev.session_id = "s-1";
  ev.distinct_id = "d-1";
  ev.json = json::object{{"event", name}, {"properties", json::parse(props_json)}};
  return ev;
}

std::shared_ptr<const policies::Policy> MakePolicy(const std::string& yaml) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\n" + yaml, {});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p;
}

TEST(AdmitTest, NoPolicyFailsClosed) {
  auto ev = MakeEvent("{}");
  EXPECT_EQ(Admit(ev, nullptr), Verdict::kNoPolicy);
  auto p = MakePolicy("");
  EXPECT_EQ(Admit(ev, p.get()), Verdict::kAdmit);
}

TEST(AdmitTest, BlockingByEventName) {
  auto p = MakePolicy("blocking: {events: [$autocapture], urls: ['/admin(/|$)']}\n");
  EXPECT_EQ(Admit(MakeEvent("{}", "$autocapture"), p.get()), Verdict::kBlocked);
  // URLs are the PageGate's (page_gate_test.cc): Admit has no window state.
  EXPECT_EQ(Admit(MakeEvent(R"({"$current_url": "https://x.test/admin/users"})"), p.get()),
            Verdict::kAdmit);
}

TEST(AdmitTest, SamplingThinsRecordingsOnlyUnlessAll) {
  auto rec = MakePolicy("sampling: {session_rate: 0.0}\n");
  auto all = MakePolicy("sampling: {session_rate: 0.0, applies_to: all}\n");
  ingest::Event ev = MakeEvent("{}");
  ev.session_id = "s1";
  EXPECT_EQ(Admit(ev, rec.get()), Verdict::kAdmit);
  EXPECT_EQ(Admit(ev, all.get()), Verdict::kSampled);
  ev.is_snapshot = true;
  EXPECT_EQ(Admit(ev, rec.get()), Verdict::kSampled);
  auto bad = policies::ParsePolicy("p.yaml", "version: 1\nsampling: {applies_to: some}\n", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.yaml:2:24"), std::string::npos)
      << bad.status().message();
}

TEST(AdmitTest, SamplingIsDeterministicAndNearTheRate) {
  int in = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string id = "session-" + std::to_string(i);
    bool a = InSample(id, 0.25);
    EXPECT_EQ(a, InSample(id, 0.25));
    in += a;
  }
  EXPECT_NEAR(in, 2500, 250);
  EXPECT_TRUE(InSample("x", 1.0));
  EXPECT_FALSE(InSample("x", 0.0));
}

}  // namespace
}  // namespace scrubd::admit
