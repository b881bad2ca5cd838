// Consent at the door through App::Handle (no sockets): opt_in batches held scrubbed and
// released in order by a real posthog `$opt_in`, deleted on timeout and at shutdown, GPC, TCF
// and CMP cookies, subject inheritance, withdrawal raising an erasure, the ledger and audit
// holding hashes only, and path prefixes.
#include "server/consent_test_fixture.h"

namespace scrubd::server {
namespace {
using namespace consent_testing;  // NOLINT: the shared fixture
using ConsentPipelineTest = ConsentFixture;

TEST_F(ConsentPipelineTest, OptInHoldsScrubbedBatchesAndReleasesThemInOrderOnOptIn) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  ASSERT_EQ(Snapshot().status, 200u);  // the client is never told to retry
  EXPECT_FALSE(Stored());
  EXPECT_EQ(quarantine_->Stats().batches, 1u);
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe@example.com"));  // held in memory only
  ASSERT_EQ(Event("$opt_in").status, 200u);
  EXPECT_TRUE(Stored());
  EXPECT_EQ(quarantine_->Stats().batches, 0u);
  // The redactions made when it was held reach the session's row on release.
  auto row = store_->GetSession(kSession, "");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(row->redactions.has_value());
  EXPECT_GT(*row->redactions, 0);
  EXPECT_GT(row->redactions_by_rule.count("email"), 0u);
  std::string m = Metrics();
  EXPECT_NE(m.find("scrubd_consent_held_batches_total 1"), std::string::npos) << m;
  EXPECT_NE(m.find("scrubd_consent_released_batches_total 1"), std::string::npos);
  auto rows = Ledger();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, consent::ConsentState::kGranted);
  EXPECT_EQ(rows[0].signal, "posthog");
  EXPECT_EQ(rows[0].source, "event");
  EXPECT_FALSE(rows[0].subject.empty());
  EXPECT_EQ(rows[0].policy_name, "c");
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "consent_held"));
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "consent_released"));
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "consent_recorded"));
  EXPECT_FALSE(AnyFileContains(dir_.path(), kDistinct));  // pseudonyms only
}

TEST_F(ConsentPipelineTest, HeldBatchesWithoutConsentAreDeletedAfterTheWait) {
  Start("consent: {mode: opt_in, wait_seconds: 5}\n");
  ASSERT_EQ(Snapshot().status, 200u);
  EXPECT_EQ(app_->ExpireHeld(Now()), 0u);  // still waiting
  EXPECT_EQ(app_->ExpireHeld(Now() + 5001), 1u);
  ASSERT_EQ(Snapshot().status, 200u);  // the session's wait is over: not held again
  EXPECT_EQ(quarantine_->Stats().batches, 0u);
  ASSERT_EQ(Event("$opt_in").status, 200u);  // too late: nothing left to release
  EXPECT_FALSE(Stored());
  ASSERT_EQ(Snapshot().status, 200u);  // after the grant, later batches are stored
  EXPECT_TRUE(Stored());
  std::string m = Metrics();
  EXPECT_NE(m.find("scrubd_consent_timeout_batches_total 2"), std::string::npos) << m;
  EXPECT_NE(m.find("reason=\"consent_timeout\""), std::string::npos);
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "consent_timeout"));
}

TEST_F(ConsentPipelineTest, ShutdownDeletesTheQuarantineAndARestartReleasesNothingOld) {
  Start("consent: {mode: opt_in}\n");
  ASSERT_EQ(Snapshot().status, 200u);
  EXPECT_EQ(app_->DiscardAllHeld("shutdown"), 1u);
  ASSERT_EQ(Event("$opt_in").status, 200u);
  EXPECT_FALSE(Stored());              // the batch held before the restart is gone, not stored late
  ASSERT_EQ(Snapshot().status, 200u);  // later batches of the consented session are stored
  EXPECT_TRUE(Stored());
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "\"reason\":\"shutdown\""));
}

TEST_F(ConsentPipelineTest, GpcDropsUnderEveryModeAndIsRecorded) {
  for (const char* mode : {"opt_in", "opt_out", "none"}) {
    TempDir fresh;
    std::swap(dir_, fresh);
    Start(std::string("consent: {mode: ") + mode + "}\n");
    ASSERT_EQ(Snapshot(kSession, {{"sec-gpc", "1"}}).status, 200u);
    EXPECT_FALSE(Stored()) << mode;
    EXPECT_EQ(quarantine_->Stats().batches, 0u) << mode;
    auto rows = Ledger();
    ASSERT_EQ(rows.size(), 1u) << mode;
    EXPECT_EQ(rows[0].signal, "gpc");
    EXPECT_EQ(rows[0].state, consent::ConsentState::kDenied);
    app_.reset();
    std::swap(dir_, fresh);
  }
}

TEST_F(ConsentPipelineTest, TcfCookieGrantsOnlyWithEveryPurposeTheVendorAndAValidString) {
  Start("consent: {mode: opt_in, tcf: {purposes: [1, 7], vendor_id: 755}}\n");
  using scrubd::testing::MakeTcString;
  using scrubd::testing::TcSpec;
  struct Case {
    TcSpec spec;
    bool stored;
  } cases[] = {
      {{{1, 7}, {2, 755}}, true},
      {{{1}, {755}}, false},                            // purpose 7 refused
      {{{1, 7}, {2}}, false},                           // vendor 755 refused
      {{{1, 7}, {755}, 2}, false},                      // policy version 2 after 2023-09-30
      {{{1, 7}, {755}, 4, 17000000000, false}, false},  // not service specific
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string session = std::string(kOther).substr(0, 32) + std::to_string(1000 + i++);
    ASSERT_EQ(Snapshot(session, {{"cookie", "a=b; euconsent-v2=" + MakeTcString(c.spec)}}).status,
              200u);
    EXPECT_EQ(Stored(session), c.stored) << i;
    EXPECT_EQ(quarantine_->Stats().batches, 0u) << i;  // a TC string is evidence either way
    auto rows = Ledger(session);
    ASSERT_EQ(rows.size(), 1u) << i;
    EXPECT_EQ(rows[0].signal, "tcf");
    EXPECT_EQ(rows[0].value_sha256.size(), 64u);
  }
  std::string broken = "euconsent-v2=!!notatcstring";
  ASSERT_EQ(Snapshot(kSession, {{"cookie", broken}}).status, 200u);
  EXPECT_FALSE(Stored());  // a string that does not decode is no consent
}

TEST_F(ConsentPipelineTest, ASubjectsConsentCarriesToItsLaterSessions) {
  Start("consent: {mode: opt_in}\n");
  ASSERT_EQ(Event("$opt_in").status, 200u);
  ASSERT_EQ(Snapshot(kOther).status, 200u);  // a new session of the same distinct id
  EXPECT_TRUE(Stored(kOther));
  auto rows = Ledger(kOther);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].source, "subject");
}

TEST_F(ConsentPipelineTest, WithdrawalStopsLaterDataAndRaisesAnErasureWhenAsked) {
  Start(
      "consent:\n  mode: opt_out\n  on_withdrawal: erase\n  cookie: {name: site_consent, "
      "granted: '^yes$', denied: '^no$'}\n");
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "site_consent=yes"}}).status, 200u);
  EXPECT_TRUE(Stored());
  ASSERT_EQ(Event("$pageview", kSession).status, 200u);
  HttpRequest r;
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "site_consent=no"}}).status, 200u);
  ASSERT_EQ(erasures_.size(), 1u);
  EXPECT_EQ(erasures_[0], std::string(kToken) + "/" + kDistinct);
  auto rows = Ledger();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].state, consent::ConsentState::kDenied);
  EXPECT_EQ(rows[1].erasure_request, "req-1");
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "site_consent=no"}}).status, 200u);
  EXPECT_EQ(erasures_.size(), 1u);  // one withdrawal, one request
}

TEST_F(ConsentPipelineTest, CookieValuesReachNoFileOnlyTheirHashes) {
  const std::string canary = "CANARYcookie7731";
  Start(
      "consent:\n  mode: opt_in\n  cookie: {name: site_consent, granted: '^yes', denied: "
      "'^no'}\n");
  ASSERT_EQ(
      Snapshot(kSession,
               {{"cookie", "site_consent=yes-" + canary + "; CookieConsent={stamp:%27" + canary +
                               "%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%"
                               "2Cmarketing:true%2Cregion:%27" +
                               canary + "%27}; OptanonConsent=groups=C0002%3A1&consentId=" +
                               canary + "&x=" + canary}})
          .status,
      200u);
  EXPECT_TRUE(Stored());
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_FALSE(AnyFileContains(dir_.path(), canary));
}

TEST_F(ConsentPipelineTest, PathPrefixServesPosthogRoutesUnderItOnly) {
  Start("consent: {mode: opt_out}\n", {}, true, "/ingest");
  EXPECT_EQ(Post("/s/", Fixture("0008.body")).status, 404u);
  EXPECT_FALSE(Stored());
  EXPECT_EQ(Post("/ingest/s/?compression=none", Fixture("0008.body")).status, 200u);
  EXPECT_TRUE(Stored());
  EXPECT_EQ(Post("/ingest/metrics", "").status, 404u);
  HttpRequest h;
  h.method = "GET";
  h.target = "/healthz";
  EXPECT_EQ(app_->HandleRaw(h, Surface::kAll).status, 200u);
}

}  // namespace
}  // namespace scrubd::server
namespace scrubd::server {
namespace {
TEST_F(ConsentPipelineTest, ASubjectsGrantReleasesItsOtherTabsHeldBatches) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  ASSERT_EQ(Snapshot(kOther).status, 200u);  // tab 2, held
  ASSERT_EQ(quarantine_->Stats().batches, 1u);
  ASSERT_EQ(Event("$opt_in", kSession).status, 200u);  // tab 1 opts in
  EXPECT_EQ(quarantine_->Stats().batches, 0u);
  EXPECT_TRUE(Stored(kOther));
}
}  // namespace
}  // namespace scrubd::server
