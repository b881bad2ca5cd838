#include "consent/evidence.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/tc_string.h"

namespace scrubd::consent {
namespace {

policies::ConsentPolicy Policy(const std::string& yaml) {
  auto p = policies::ParsePolicy("p.yaml", "version: 1\n" + yaml, {});
  EXPECT_TRUE(p.ok()) << p.status().message();
  return (*p)->consent;
}

std::optional<Evidence> Of(const std::string& cookie, const policies::ConsentPolicy& c) {
  RequestFacts f;
  f.cookie_header = cookie;
  return Combine(RequestEvidence(f, c));
}

TEST(EvidenceTest, TcfCookie) {
  auto c = Policy("consent: {mode: opt_in, tcf: {purposes: [1, 7], vendor_id: 755}}\n");
  std::string tc = scrubd::testing::MakeTcString({{1, 7}, {2, 755}});
  auto e = Of("a=b; euconsent-v2=" + tc, c);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, ConsentState::kGranted);
  EXPECT_EQ(e->signal, "tcf");
  EXPECT_EQ(e->purposes, (std::vector<std::string>{"1", "7"}));
  EXPECT_EQ(e->vendors, (std::vector<int>{2, 755}));
  e = Of("euconsent-v2=" + scrubd::testing::MakeTcString({{1}, {755}}), c);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, ConsentState::kDenied);
  e = Of("euconsent-v2=%%%", c);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, ConsentState::kDenied);
  auto pub = Policy("consent: {tcf: {purposes: [1], publisher: true}}\n");
  scrubd::testing::TcSpec spec{{1}, {}};
  EXPECT_EQ(Of("euconsent-v2=" + scrubd::testing::MakeTcString(spec), pub)->state,
            ConsentState::kDenied);  // no publisher segment
  spec.publisher_purposes = {1};
  spec.purposes = {};
  EXPECT_EQ(Of("euconsent-v2=" + scrubd::testing::MakeTcString(spec), pub)->state,
            ConsentState::kGranted);
}

TEST(EvidenceTest, ConsentPlatformCookies) {
  auto c = Policy("consent: {mode: opt_in, onetrust: {groups: [C0002]}}\n");
  EXPECT_EQ(Of("OptanonConsent=isGpcEnabled=0&groups=C0001%3A1%2CC0002%3A1", c)->state,
            ConsentState::kGranted);
  EXPECT_EQ(Of("OptanonConsent=groups=C0001%3A1%2CC0002%3A0", c)->state, ConsentState::kDenied);
  EXPECT_EQ(Of("OptanonConsent=nogroups", c)->state, ConsentState::kDenied);
  EXPECT_FALSE(Of("OptanonConsent=interactionCount=0&groups=C0002%3A1", c));  // defaults only
  EXPECT_FALSE(Of("OptanonConsent=AwaitingReconsent=true&groups=C0002%3A1", c));
  const std::string cb =
      "CookieConsent={stamp:%27x%27%2Cnecessary:true%2Cpreferences:false%2Cstatistics:true%2C"
      "marketing:false%2Cmethod:%27explicit%27%2Cver:1}";
  EXPECT_EQ(Of(cb, c)->state, ConsentState::kGranted);
  EXPECT_FALSE(Of("CookieConsent=-1", c));  // outside a consent region: no evidence
  auto custom = Policy("consent: {cookie: {name: sc, granted: '^yes', denied: '^no'}}\n");
  EXPECT_EQ(Of("sc=yes%20please", custom)->state, ConsentState::kGranted);
  EXPECT_EQ(Of("sc=no", custom)->state, ConsentState::kDenied);
  EXPECT_FALSE(Of("sc=maybe", custom));
  EXPECT_FALSE(Of("other=yes", custom));
  auto none = Policy("consent: {mode: none}\n");
  EXPECT_FALSE(Of("OptanonConsent=groups=C0002%3A0", none));  // mode none reads headers only
  RequestFacts gpc;
  gpc.gpc = true;
  EXPECT_EQ(Combine(RequestEvidence(gpc, none))->signal, "gpc");
}

TEST(EvidenceTest, StrictestWins) {
  auto c = Policy("consent: {mode: opt_in}\n");
  RequestFacts f;
  f.gpc = true;
  f.cookie_header = "OptanonConsent=groups=C0002%3A1";
  auto e = Combine(RequestEvidence(f, c));
  EXPECT_EQ(e->state, ConsentState::kDenied);
  EXPECT_EQ(e->signal, "gpc");
}

}  // namespace
}  // namespace scrubd::consent

namespace scrubd::consent {
namespace {

// RequestReading combines the request once per policy and adds each event's evidence: the
// same verdict as combining every piece at once, for every mix of the three kinds.
TEST(EvidenceTest, RequestReadingAgreesWithCombiningEverything) {
  auto p = policies::ParsePolicy(
      "p.yaml", "version: 1\nconsent: {mode: opt_in, event: {property: ok}}\n", {});
  ASSERT_TRUE(p.ok());
  const char* cookies[] = {"", "OptanonConsent=groups=C0002%3A1", "OptanonConsent=groups=C0002%3A0",
                           "euconsent-v2=%%%"};
  const char* props[] = {"{}", R"({"ok":true})", R"({"ok":false})"};
  for (const char* cookie : cookies)
    for (const char* prop : props) {
      RequestFacts f;
      f.cookie_header = cookie;
      ingest::Event ev;
      ev.name = "x";
      ev.json["properties"] = boost::json::parse(prop);
      std::vector<Evidence> all = RequestEvidence(f, (*p)->consent);
      if (auto e = EventEvidence(ev, (*p)->consent)) all.push_back(*e);
      std::optional<Evidence> want = Combine(all);
      RequestReading reading(f);
      std::optional<Evidence> got = reading.For(ev, **p);
      ASSERT_EQ(want.has_value(), got.has_value()) << cookie << " " << prop;
      if (!want) continue;
      EXPECT_EQ(want->state, got->state) << cookie << " " << prop;
      EXPECT_EQ(want->signal, got->signal) << cookie << " " << prop;
      EXPECT_EQ(want->invalid, got->invalid) << cookie << " " << prop;
    }
}

}  // namespace
}  // namespace scrubd::consent
