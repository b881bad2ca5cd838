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

// A TCF v2 core string with the given purposes consented (bits 152.. of the core segment).
std::string TcString(const std::vector<int>& purposes) {
  std::vector<int> bits(230, 0);
  bits[4] = 1;  // version 2 in the first 6 bits: 000010
  for (int p : purposes) bits[152 + p - 1] = 1;
  std::string bytes((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i]) bytes[i / 8] |= static_cast<char>(0x80 >> (i % 8));
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 2]);
    out += a[(n >> 18) & 63];
    out += a[(n >> 12) & 63];
    if (i + 1 < bytes.size()) out += a[(n >> 6) & 63];
    if (i + 2 < bytes.size()) out += a[n & 63];
  }
  return out;
}

TEST(AdmitTest, NoPolicyFailsClosed) {
  auto ev = MakeEvent("{}");
  EXPECT_EQ(Admit(ev, nullptr, {}), Verdict::kNoPolicy);
  auto p = MakePolicy("");
  EXPECT_EQ(Admit(ev, p.get(), {}), Verdict::kAdmit);
}

TEST(AdmitTest, ConsentSignals) {
  auto p = MakePolicy("consent: {respect_do_not_track: true}\n");
  RequestSignals gpc;
  gpc.gpc = true;
  RequestSignals dnt;
  dnt.dnt = true;
  EXPECT_EQ(Admit(MakeEvent("{}"), p.get(), gpc), Verdict::kConsent);
  EXPECT_EQ(Admit(MakeEvent("{}"), p.get(), dnt), Verdict::kConsent);
  EXPECT_EQ(Admit(MakeEvent(R"({"$opt_out": true})"), p.get(), {}), Verdict::kConsent);
  EXPECT_EQ(Admit(MakeEvent(R"({"$consent": false})"), p.get(), {}), Verdict::kConsent);
  auto optin = MakePolicy("consent: {require_opt_in: true, respect_gpc: false}\n");
  EXPECT_EQ(Admit(MakeEvent("{}"), optin.get(), gpc), Verdict::kConsent);
  EXPECT_EQ(Admit(MakeEvent(R"({"$consent": true})"), optin.get(), gpc), Verdict::kAdmit);
}

TEST(AdmitTest, TcfPurposesFromPropertyOrCookie) {
  auto p = MakePolicy("consent: {tcf_purposes: [1, 9]}\n");
  std::string both = TcString({1, 9});
  std::string only1 = TcString({1});
  EXPECT_TRUE(TcfGrants(both, {1, 9}));
  EXPECT_FALSE(TcfGrants(only1, {1, 9}));
  EXPECT_FALSE(TcfGrants("not-a-tc-string!", {1}));
  EXPECT_EQ(Admit(MakeEvent(R"({"$tcf_consent": ")" + both + R"("})"), p.get(), {}),
            Verdict::kAdmit);
  EXPECT_EQ(Admit(MakeEvent(R"({"$tcf_consent": ")" + only1 + R"("})"), p.get(), {}),
            Verdict::kConsent);
  RequestSignals cookie;
  cookie.tcf_consent = both + ".suffix-segment";
  EXPECT_EQ(Admit(MakeEvent("{}"), p.get(), cookie), Verdict::kAdmit);
  EXPECT_EQ(Admit(MakeEvent("{}"), p.get(), {}), Verdict::kConsent);  // no TC string
}

TEST(AdmitTest, BlockingByEventName) {
  auto p = MakePolicy("blocking: {events: [$autocapture], urls: ['/admin(/|$)']}\n");
  EXPECT_EQ(Admit(MakeEvent("{}", "$autocapture"), p.get(), {}), Verdict::kBlocked);
  // URLs are the PageGate's (page_gate_test.cc): Admit has no window state.
  EXPECT_EQ(Admit(MakeEvent(R"({"$current_url": "https://x.test/admin/users"})"), p.get(), {}),
            Verdict::kAdmit);
}

TEST(AdmitTest, SamplingThinsRecordingsOnlyUnlessAll) {
  auto rec = MakePolicy("sampling: {session_rate: 0.0}\n");
  auto all = MakePolicy("sampling: {session_rate: 0.0, applies_to: all}\n");
  ingest::Event ev = MakeEvent("{}");
  ev.session_id = "s1";
  EXPECT_EQ(Admit(ev, rec.get(), {}), Verdict::kAdmit);
  EXPECT_EQ(Admit(ev, all.get(), {}), Verdict::kSampled);
  ev.is_snapshot = true;
  EXPECT_EQ(Admit(ev, rec.get(), {}), Verdict::kSampled);
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
