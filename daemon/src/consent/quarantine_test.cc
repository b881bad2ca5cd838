#include "consent/quarantine.h"

#include <gtest/gtest.h>

namespace scrubd::consent {
namespace {

HeldBatch B(const std::string& session, int64_t deadline, uint64_t bytes = 10,
            const std::string& peer = "p1", const std::string& subject = "") {
  HeldBatch b;
  b.token = "t";
  b.session = session;
  b.subject = subject;
  b.peer = peer;
  b.deadline_ms = deadline;
  b.bytes = bytes;
  b.events = 1;
  return b;
}

using R = Quarantine::HoldResult;

TEST(QuarantineTest, FifoPerSessionAndTheWaitIsTheSessions) {
  Quarantine q({1000, 1000, 1000});
  HeldBatch a = B("s1", 100), b = B("s1", 500), c = B("s2", 300);
  ASSERT_EQ(q.Hold(a), R::kHeld);
  ASSERT_EQ(q.Hold(b), R::kHeld);
  ASSERT_EQ(q.Hold(c), R::kHeld);
  auto expired = q.TakeExpired(100);  // s1's later batch goes with its first
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0].session, "s1");
  EXPECT_EQ(expired[1].session, "s1");
  EXPECT_EQ(q.Stats().batches, 1u);
  HeldBatch late = B("s1", 900);
  EXPECT_EQ(q.Hold(late), R::kTimedOut);   // its start is gone: not held again
  EXPECT_TRUE(q.Take("t", "s1").empty());  // evidence decided it
  HeldBatch again = B("s1", 900);
  EXPECT_EQ(q.Hold(again), R::kHeld);
  EXPECT_EQ(q.TakeAll().size(), 2u);
  EXPECT_EQ(q.Stats().bytes, 0u);
}

TEST(QuarantineTest, ByteBudgetsPerSessionPeerAndTotal) {
  Quarantine q({100, 40, 60});
  HeldBatch a = B("s1", 1, 40);
  EXPECT_EQ(q.Hold(a), R::kHeld);
  HeldBatch b = B("s1", 1, 1);
  EXPECT_EQ(q.Hold(b), R::kFull);  // the session's eighth
  HeldBatch c = B("s2", 1, 30);
  EXPECT_EQ(q.Hold(c), R::kFull);  // the peer's quarter
  HeldBatch d = B("s3", 1, 30, "p2");
  EXPECT_EQ(q.Hold(d), R::kHeld);  // another client is not starved
  HeldBatch e = B("s4", 1, 31, "p3");
  EXPECT_EQ(q.Hold(e), R::kFull);  // the total
  EXPECT_EQ(q.Stats().batches, 2u);
  EXPECT_EQ(q.Stats().bytes, 70u);
}

TEST(QuarantineTest, TakeSubjectAndPutBackKeepOrder) {
  Quarantine q({1000, 1000, 1000});
  for (int i = 0; i < 3; ++i) {
    HeldBatch b = B("s1", 100 + i, 1, "p", "pid_a");
    b.events = i;
    ASSERT_EQ(q.Hold(b), R::kHeld);
  }
  HeldBatch other = B("s2", 100, 1, "p", "pid_b");
  ASSERT_EQ(q.Hold(other), R::kHeld);
  auto got = q.TakeSubject("t", "pid_a");
  ASSERT_EQ(got.size(), 3u);
  got.erase(got.begin());
  q.PutBack(std::move(got));
  HeldBatch newer = B("s1", 100, 1, "p", "pid_a");
  newer.events = 9;
  ASSERT_EQ(q.Hold(newer), R::kHeld);
  auto again = q.Take("t", "s1");
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].events, 1u);
  EXPECT_EQ(again[1].events, 2u);
  EXPECT_EQ(again[2].events, 9u);
}

}  // namespace
}  // namespace scrubd::consent
