// Attacks on the consent surface from the hostile review of issue 12 that the fixes closed:
// a grant racing a hold, a cache flush mid-call, duplicate cookies, TCF range blow-up and
// publisher restrictions, unreadable cookies as withdrawals, erased subjects' held batches,
// a subject's grant releasing its other tabs.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>

#include "consent/evidence.h"
#include "consent/gate.h"
#include "consent/ledger.h"
#include "consent/quarantine.h"
#include "consent/tcf.h"
#include "dom/dom_masker.h"
#include "ingest/gzip.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "server/ingest_pipeline.h"
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

// A hook whose Admit can run a callback (to interleave another request) and tombstone ids.
class FakeHooks : public IngestHooks {
 public:
  std::unique_ptr<IngestNote> Admit(const ingest::Event& ev, bool* tombstoned) override {
    if (tombstone_all) *tombstoned = true;
    if (on_admit && !busy) {
      busy = true;
      auto f = std::move(on_admit);
      on_admit = nullptr;
      f(ev);
      busy = false;
    }
    return std::make_unique<IngestNote>();
  }
  Status OnStored(const StoredBatch&) override { return Status::Ok(); }
  bool Suppressed(const IngestNote&) override { return tombstone_all; }
  bool tombstone_all = false;
  bool busy = false;
  std::function<void(const ingest::Event&)> on_admit;
};

class ConsentReviewTest : public ::testing::Test {
 protected:
  void Start(const std::string& consent_yaml, consent::QuarantineLimits limits = {},
             bool require_session = true) {
    policies::LoadOptions lo{"0123456789abcdef0123456789abcdef", "identity-key-for-consent-tests"};
    auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: c\n" + consent_yaml, lo);
    ASSERT_TRUE(p.ok()) << p.status().message();
    policy_ = *p;
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
    cfg.limits.events_require_session_id = require_session;  // serve: events_require_session_id
    app_ = std::make_unique<App>(cfg, set, store_.get(), state_.get(), log_.get());
    NewGate();
    quarantine_ = std::make_unique<consent::Quarantine>(limits);
    app_->SetConsent(gate_.get(), quarantine_.get());
  }
  void NewGate() {  // a restart of the gate over the same ledger
    consent::GateDeps deps;
    deps.ledger = ledger_.get();
    deps.audit = [this](std::string_view t, const std::string& b) { app_->Audit(t, b); };
    deps.pseudonym = [](const std::string& s) { return "ps_" + std::to_string(s.size()); };
    deps.raise_erasure = [this](const std::string& token, const std::string& id) {
      erasures_.push_back(token + "/" + id);
      return Result<std::string>(std::string("req-") + std::to_string(erasures_.size()));
    };
    gate_ = std::make_unique<consent::ConsentGate>(std::move(deps));
    if (quarantine_) app_->SetConsent(gate_.get(), quarantine_.get());
  }
  HttpResponse Post(const std::string& target, std::string body,
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.headers["content-type"] = "text/plain";
    r.peer = "10.0.0.1";  // the reverse proxy (PostHog's recommended /ingest deployment)
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
  // An /e/ event; session "" leaves $session_id out.
  HttpResponse Event(const std::string& name, const std::string& session,
                     const std::string& distinct, const std::string& props = "") {
    std::string body = R"([{"event":")" + name + R"(","properties":{)" +
                       (session.empty() ? "" : R"("$session_id":")" + session + "\",") +
                       R"("distinct_id":")" + distinct + R"(","token":")" + kToken + "\"" + props +
                       "}}]";
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
  int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  TempDir dir_;
  std::shared_ptr<const policies::Policy> policy_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<consent::Ledger> ledger_;
  std::unique_ptr<App> app_;
  std::unique_ptr<consent::ConsentGate> gate_;
  std::unique_ptr<consent::Quarantine> quarantine_;
  std::vector<std::string> erasures_;
};

// F3: a held batch of a subject erased (tombstoned) meanwhile is stored on release.
TEST_F(ConsentReviewTest, F3_ReleaseMustRecheckTombstones) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  FakeHooks hooks;
  app_->SetIngestHooks(&hooks, nullptr);
  ASSERT_EQ(Snapshot().status, 200u);
  ASSERT_EQ(quarantine_->Stats().batches, 1u);
  hooks.tombstone_all = true;  // the subject's erasure ran while the batch was held
  ASSERT_EQ(Event("$opt_in", kSession, kDistinct).status, 200u);  // itself dropped: tombstone
  EXPECT_FALSE(Stored()) << "an erased subject's held recording was stored after the erasure";
}

// F4: a grant that lands between a batch's kHold decision and its Hold() finds nothing to
// release; the batch then waits for the timeout (consented data deleted), or is released
// after later batches (out of order).
TEST_F(ConsentReviewTest, F4_AGrantRacingAHoldMustNotStrandOrReorderTheBatch) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  FakeHooks hooks;
  app_->SetIngestHooks(&hooks, nullptr);
  hooks.on_admit = [this](const ingest::Event&) {
    ASSERT_EQ(Event("$opt_in", kSession, kDistinct).status, 200u);  // another request thread
  };
  ASSERT_EQ(Snapshot().status, 200u);
  EXPECT_EQ(quarantine_->Stats().batches, 0u) << "consented batch stranded in the quarantine";
  EXPECT_EQ(app_->ExpireHeld(Now() + 61000), 0u) << "consented batch deleted as consent_timeout";
}

// F5: the gate's cache flush (Trim) runs between SessionLocked and SubjectLocked: the session
// reference RecordLocked holds dangles (use after free; run under valgrind to see it).
TEST_F(ConsentReviewTest, F5_GateCacheTrimMustNotInvalidateHeldReferences) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  consent::GateDeps deps;
  deps.ledger = ledger_.get();
  deps.cache_entries = 1;
  consent::ConsentGate gate(std::move(deps));
  for (int i = 0; i < 50; ++i) {
    ingest::Event ev;
    ev.name = "$opt_in";
    ev.token = kToken;
    ev.session_id = std::string(kOther).substr(0, 30) + std::to_string(100000 + i);
    ev.distinct_id = "user-" + std::to_string(i);
    consent::ConsentGate::RequestView view(&gate, consent::RequestFacts{});
    view.Observe(ev, *policy_);
    EXPECT_EQ(view.Decide(ev, *policy_), consent::Action::kAdmit);
  }
}

// F8: two euconsent-v2 cookies (e.g. one tossed from a sibling subdomain): the first wins,
// even when the other one refuses.
TEST_F(ConsentReviewTest, F8_ADuplicateConsentCookieThatRefusesMustWin) {
  Start("consent: {mode: opt_in}\n");
  using scrubd::testing::MakeTcString;
  std::string yes = MakeTcString({{1}, {}}), no = MakeTcString({{}, {}});
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "euconsent-v2=" + yes + "; euconsent-v2=" + no}}).status,
            200u);
  EXPECT_FALSE(Stored());
}

// F12: an undecodable euconsent-v2 (say a CMP upgrade the decoder does not know) is a
// denial, and a denial after a grant is a withdrawal: the subject's data is erased.
TEST_F(ConsentReviewTest, F12_AnUndecodableCookieMustNotCountAsAWithdrawal) {
  Start("consent:\n  mode: opt_in\n  on_withdrawal: erase\n");
  using scrubd::testing::MakeTcString;
  ASSERT_EQ(Snapshot(kSession, {{"cookie", "euconsent-v2=" + MakeTcString({{1}, {}})}}).status,
            200u);
  ASSERT_TRUE(Stored());
  ASSERT_EQ(Snapshot(kOther, {{"cookie", "euconsent-v2=CPzzzz.unknown-format"}}).status, 200u);
  EXPECT_FALSE(Stored(kOther));  // right: fail closed
  EXPECT_EQ(erasures_.size(), 0u) << "a parse failure raised an erasure of the subject";
}

// F13: HoldBack computes HeldBatch::subject from the event after the scrubber rewrote its
// distinct_id in place, so TakeSubject never matches: a subject's grant in one tab does not
// release its other tab's held batches (they time out), nor does a withdrawal discard them.
TEST_F(ConsentReviewTest, F13_ASubjectsGrantReleasesItsOtherSessionsHeldBatches) {
  Start("consent: {mode: opt_in, wait_seconds: 60}\n");
  ASSERT_EQ(Snapshot(kOther).status, 200u);                       // tab 2, held
  ASSERT_EQ(Event("$opt_in", kSession, kDistinct).status, 200u);  // tab 1 opts in
  EXPECT_EQ(quarantine_->Stats().batches, 0u);
  EXPECT_TRUE(Stored(kOther));
}

// A TC string writer with vendor ranges and publisher restrictions.
std::string CoreWith(const std::function<void(scrubd::testing::TcBits&)>& vendors_and_rest) {
  scrubd::testing::TcBits b;
  b.Put(2, 6);
  b.Put(17000000000, 36);
  b.Put(17000000000, 36);
  b.Put(7, 12), b.Put(1, 12), b.Put(1, 6);
  b.Put(4, 6), b.Put(13, 6);
  b.Put(150, 12), b.Put(4, 6), b.Put(1, 1), b.Put(0, 1), b.Put(0, 12);
  b.Flags({1}, 24);
  b.Put(0, 24), b.Put(0, 1);
  b.Put(3, 6), b.Put(4, 6);
  vendors_and_rest(b);
  return b.Base64Url();
}

// F9: overlapping ranges make a 6 KB TC string cost ~n * 65535 bit writes (CPU per request,
// outside the request deadline).
TEST(ConsentReviewTcf, F9_OverlappingRangesMustNotCostQuadraticTime) {
  std::string tc = CoreWith([](scrubd::testing::TcBits& b) {
    b.Put(65535, 16), b.Put(1, 1);  // vendor consents: range encoding, MaxVendorId 65535
    b.Put(1400, 12);
    for (int i = 0; i < 1400; ++i) b.Put(1, 1), b.Put(1, 16), b.Put(65535, 16);
    b.Put(0, 16), b.Put(0, 1);
    b.Put(0, 12);
  });
  ASSERT_LT(tc.size(), 8000u);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(consent::DecodeTcString(tc).ok());
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 5;
  EXPECT_LT(ms, 5.0) << "one " << tc.size() << "-byte cookie costs " << ms << " ms to decode";
}

// F10: a publisher restriction "not allowed" (type 0) for purpose 1 and the required vendor
// still counts as a grant.
TEST(ConsentReviewTcf, F10_APublisherRestrictionForbiddingTheVendorMustDeny) {
  std::string tc = CoreWith([](scrubd::testing::TcBits& b) {
    b.Put(755, 16), b.Put(0, 1);
    b.Flags({755}, 755);
    b.Put(0, 16), b.Put(0, 1);
    b.Put(1, 12);                               // one restriction
    b.Put(1, 6), b.Put(0, 2);                   // purpose 1, not allowed
    b.Put(1, 12), b.Put(0, 1), b.Put(755, 16);  // for vendor 755
  });
  auto decoded = consent::DecodeTcString(tc);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  ASSERT_EQ(decoded->publisher_restrictions.size(), 1u);
  policies::ConsentPolicy c;
  c.mode = policies::ConsentMode::kOptIn;
  c.signals = {policies::ConsentSignal::kTcf};
  c.tcf_purposes = {1};
  c.tcf_vendor_id = 755;
  auto ev = consent::RequestEvidence(consent::RequestFacts{"euconsent-v2=" + tc}, c);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].state, consent::ConsentState::kDenied);
}

}  // namespace
}  // namespace scrubd::server
