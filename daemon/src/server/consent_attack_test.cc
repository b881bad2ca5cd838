// Attacks on the consent surface from the hostile review of issue 12 that the fixes closed:
// a grant racing a hold, a cache flush mid-call, duplicate cookies, TCF range blow-up and
// publisher restrictions, unreadable cookies as withdrawals, erased subjects' held batches,
// a subject's grant releasing its other tabs.
#include "server/consent_test_fixture.h"

namespace scrubd::server {
namespace {
using namespace consent_testing;  // NOLINT: the shared fixture
namespace json = boost::json;
using ConsentReviewTest = ConsentFixture;

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
