#include "consent/gate.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace scrubd::consent {
namespace {

std::shared_ptr<const policies::Policy> MakePolicy(const std::string& consent) {
  policies::LoadOptions lo{"", "identity-key-for-gate-tests"};
  auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: g\n" + consent, lo);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

ingest::Event Ev(const std::string& name, const std::string& session,
                 const std::string& distinct = "did-1") {
  ingest::Event e;
  e.name = name;
  e.token = "phc_t";
  e.session_id = session;
  e.distinct_id = distinct;
  e.json["event"] = name;
  e.json["properties"] = boost::json::object{};
  return e;
}

RequestFacts From(const std::string& client) {
  RequestFacts f;
  f.client = client;
  return f;
}

Action Decision(ConsentGate& gate, const ingest::Event& ev, const policies::Policy& p,
                RequestFacts facts = From("c1")) {
  ConsentGate::RequestView v(&gate, std::move(facts));
  v.Observe(ev, p);
  return v.Decide(ev, p);
}

TEST(ConsentGateTest, StateSurvivesATinyCacheBecauseTheLedgerIsTheTruth) {
  scrubd::testing::TempDir dir;
  auto ledger = Ledger::Open(LedgerPath(dir.path()), false).value();
  GateDeps deps;
  deps.ledger = ledger.get();
  deps.cache_entries = 1;
  ConsentGate gate(std::move(deps));
  auto p = MakePolicy("consent: {mode: opt_in}\n");
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s1"), *p), Action::kHold);
  EXPECT_EQ(Decision(gate, Ev("$opt_in", "s1"), *p), Action::kAdmit);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(
        Decision(gate, Ev("$pageview", "t" + std::to_string(i), "other" + std::to_string(i)), *p),
        Action::kHold);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s1"), *p), Action::kAdmit);  // read back
  // An event-sourced grant carries to other sessions only while the gate remembers its client:
  // after a cache flush the new session is held (fail closed).
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s9"), *p), Action::kHold);
  RequestFacts gpc;
  gpc.gpc = true;
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s1"), *p, gpc), Action::kDrop);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s1"), *p), Action::kDrop);  // withdrawn stays withdrawn
  EXPECT_EQ(ledger->ForSession("s1").value().size(), 2u);  // the same GPC again: no row
}

TEST(ConsentGateTest, ALedgerThatCannotWriteNeverGrantsButStillDenies) {
  scrubd::testing::TempDir dir;
  { ASSERT_TRUE(Ledger::Open(LedgerPath(dir.path()), false).ok()); }
  auto ro = Ledger::Open(LedgerPath(dir.path()), true).value();  // every Append fails
  GateDeps deps;
  deps.ledger = ro.get();
  ConsentGate gate(std::move(deps));
  auto p = MakePolicy("consent: {mode: opt_in}\n");
  EXPECT_EQ(Decision(gate, Ev("$opt_in", "s1"), *p), Action::kHold);  // a grant it cannot prove
  RequestFacts gpc;
  gpc.gpc = true;
  auto optout = MakePolicy("consent: {mode: opt_out}\n");
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s2"), *optout, gpc), Action::kDrop);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s2"), *optout), Action::kDrop);  // kept in memory
  EXPECT_GE(gate.errors(), 2u);
}

TEST(ConsentGateTest, EventsWithoutASessionUseTheSubjectOnly) {
  scrubd::testing::TempDir dir;
  auto ledger = Ledger::Open(LedgerPath(dir.path()), false).value();
  GateDeps deps;
  deps.ledger = ledger.get();
  ConsentGate gate(std::move(deps));
  auto p = MakePolicy("consent: {mode: opt_in}\n");
  EXPECT_EQ(Decision(gate, Ev("$identify", ""), *p), Action::kDrop);  // nothing to hold it by
  EXPECT_EQ(Decision(gate, Ev("$opt_in", ""), *p), Action::kAdmit);
  EXPECT_EQ(Decision(gate, Ev("$identify", "", "did-2"), *p), Action::kDrop);
  EXPECT_EQ(Decision(gate, Ev("$identify", ""), *p), Action::kAdmit);
}

TEST(ConsentGateTest, AnEventGrantCarriesToOtherSessionsOnlyFromTheSameClient) {
  scrubd::testing::TempDir dir;
  auto ledger = Ledger::Open(LedgerPath(dir.path()), false).value();
  GateDeps deps;
  deps.ledger = ledger.get();
  ConsentGate gate(std::move(deps));
  auto p = MakePolicy("consent: {mode: opt_in}\n");
  EXPECT_EQ(Decision(gate, Ev("$opt_in", "s1"), *p, From("c1")), Action::kAdmit);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s2"), *p, From("c1")), Action::kAdmit);
  // Someone else naming the same distinct id (a forged $opt_in elsewhere) gets nothing.
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s3"), *p, From("c2")), Action::kHold);
  RequestFacts cookie = From("c3");
  cookie.cookie_header = "OptanonConsent=groups=C0002%3A1";
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s4", "did-9"), *p, cookie), Action::kAdmit);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s5", "did-9"), *p, From("c4")), Action::kAdmit);
  // An unreadable cookie denies its session only and is no withdrawal of the subject.
  RequestFacts broken = From("c3");
  broken.cookie_header = "euconsent-v2=%%%";
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s6", "did-9"), *p, broken), Action::kDrop);
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s7", "did-9"), *p, From("c4")), Action::kAdmit);
}

}  // namespace
}  // namespace scrubd::consent
