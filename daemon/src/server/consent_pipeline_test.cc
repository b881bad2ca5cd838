// Consent at the door through App::Handle (no sockets): opt_in batches held scrubbed and
// released in order by a real posthog `$opt_in`, deleted on timeout and at shutdown, GPC, TCF
// and CMP cookies, subject inheritance, withdrawal raising an erasure, the ledger and audit
// holding hashes only, and path prefixes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "consent/gate.h"
#include "consent/ledger.h"
#include "consent/quarantine.h"
#include "dom/dom_masker.h"
#include "ingest/gzip.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"
#include "support/tc_string.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kOther[] = "01a20355-1c58-723a-837c-2bcc756c0000";
constexpr char kDistinct[] = "01a20355-1c26-7bcc-9c69-edbf0328ba49";
constexpr char kToken[] = "phc_testkey123";

class ConsentPipelineTest : public ::testing::Test {
 protected:
  void Start(const std::string& consent_yaml, const std::string& prefix = "") {
    policies::LoadOptions lo{"0123456789abcdef0123456789abcdef", "identity-key-for-consent-tests"};
    auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: c\n" + consent_yaml, lo);
    ASSERT_TRUE(p.ok()) << p.status().message();
    auto set = std::make_shared<const policies::PolicySet>(
        std::vector<std::shared_ptr<const policies::Policy>>{*p});
    store_ = std::move(sink::LocalStore::Open(dir_.path()).value());
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    state_ = std::move(dom::StateStore::Open(o).value());
    log_ = std::move(audit::Log::Open(dir_.path() / "audit", {}).value());
    ledger_ = std::move(consent::Ledger::Open(consent::LedgerPath(dir_.path()), false).value());
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    cfg.path_prefix = prefix;
    app_ = std::make_unique<App>(cfg, set, store_.get(), state_.get(), log_.get());
    consent::GateDeps deps;
    deps.ledger = ledger_.get();
    deps.audit = [this](std::string_view t, const std::string& b) { app_->Audit(t, b); };
    deps.pseudonym = [](const std::string& s) { return "ps_" + std::to_string(s.size()); };
    deps.raise_erasure = [this](const std::string& token, const std::string& id) {
      erasures_.push_back(token + "/" + id);
      return Result<std::string>(std::string("req-") + std::to_string(erasures_.size()));
    };
    gate_ = std::make_unique<consent::ConsentGate>(std::move(deps));
    quarantine_ = std::make_unique<consent::Quarantine>(consent::QuarantineLimits{});
    app_->SetConsent(gate_.get(), quarantine_.get());
  }

  HttpResponse Post(const std::string& target, std::string body,
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.headers["content-type"] = "text/plain";
    r.peer = "10.0.0.1";
    return app_->HandleRaw(r, Surface::kAll);
  }
  HttpResponse Snapshot(const std::string& session = kSession,
                        std::map<std::string, std::string> headers = {}) {
    std::string body = ingest::Gunzip(Fixture("0008.body"), {}).value();
    if (session != kSession)
      for (size_t at; (at = body.find(kSession)) != std::string::npos;)
        body.replace(at, std::strlen(kSession), session);
    return Post("/s/", body, std::move(headers));
  }
  HttpResponse Event(const std::string& name, const std::string& session = kSession,
                     const std::string& props = "") {
    std::string body = R"([{"event":")" + name + R"(","properties":{"$session_id":")" + session +
                       R"(","distinct_id":")" + kDistinct + R"(","token":")" + kToken + "\"" +
                       props + "}}]";
    return Post("/e/", body);
  }
  bool Stored(const std::string& session = kSession) {
    return store_->ExportSession(session, "").ok();
  }
  std::string Metrics() {
    HttpRequest m;
    m.method = "GET";
    m.target = "/metrics";
    return app_->Handle(m).body;
  }
  std::vector<consent::LedgerEntry> Ledger(const std::string& session = kSession) {
    return ledger_->ForSession(session).value();
  }
  int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<consent::Ledger> ledger_;
  std::unique_ptr<App> app_;
  std::unique_ptr<consent::ConsentGate> gate_;
  std::unique_ptr<consent::Quarantine> quarantine_;
  std::vector<std::string> erasures_;
};

TEST_F(ConsentPipelineTest, OptInHoldsScrubbedBatchesAndReleasesThemInOrderOnOptIn) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  ASSERT_EQ(Snapshot().status, 200u);  // the client is never told to retry
  EXPECT_FALSE(Stored());
  EXPECT_EQ(quarantine_->Stats().batches, 1u);
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe@example.com"));  // held in memory only
  ASSERT_EQ(Event("$opt_in").status, 200u);
  EXPECT_TRUE(Stored());
  EXPECT_EQ(quarantine_->Stats().batches, 0u);
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
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "site_consent=yes-" + canary +
                                               "; OptanonConsent=groups=C0002%3A1&x=" + canary}})
                .status,
            200u);
  EXPECT_TRUE(Stored());
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_FALSE(AnyFileContains(dir_.path(), canary));
}

TEST_F(ConsentPipelineTest, PathPrefixServesPosthogRoutesUnderItOnly) {
  Start("consent: {mode: opt_out}\n", "/ingest");
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
