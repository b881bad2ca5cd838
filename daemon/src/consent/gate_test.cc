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

Action Decision(ConsentGate& gate, const ingest::Event& ev, const policies::Policy& p,
                RequestFacts facts = {}) {
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
  EXPECT_EQ(Decision(gate, Ev("$pageview", "s9"), *p), Action::kAdmit);  // the subject's, inherited
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
  EXPECT_EQ(Decision(gate, Ev("$identify", ""), *p), Action::kHold);
  EXPECT_EQ(Decision(gate, Ev("$opt_in", ""), *p), Action::kAdmit);
  EXPECT_EQ(Decision(gate, Ev("$identify", "", "did-2"), *p), Action::kHold);
  EXPECT_EQ(Decision(gate, Ev("$identify", ""), *p), Action::kAdmit);
}

}  // namespace
}  // namespace scrubd::consent
