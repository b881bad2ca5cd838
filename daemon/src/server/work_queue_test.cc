// The work queue: FIFO on one thread, graceful stop runs what was queued, a throwing job does
// not end the thread, a full queue refuses.
#include "server/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace scrubd::server {
namespace {

TEST(WorkQueueTest, RunsJobsInOrderOnOneThreadOffTheCaller) {
  WorkQueue q;
  std::vector<int> order;  // touched by the queue's thread only until WaitIdle
  std::thread::id caller = std::this_thread::get_id(), worker;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(q.Post([&, i] {
      order.push_back(i);
      worker = std::this_thread::get_id();
    }));
  q.WaitIdle();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  EXPECT_NE(worker, caller);
  EXPECT_EQ(q.completed(), 100u);
}

TEST(WorkQueueTest, StopFinishesQueuedJobsThenRefusesNewOnes) {
  std::atomic<int> ran{0};
  WorkQueue q;
  ASSERT_TRUE(q.Post([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++ran;
  }));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(q.Post([&] { ++ran; }));
  q.Stop();
  EXPECT_EQ(ran.load(), 11);
  EXPECT_FALSE(q.Post([&] { ++ran; }));
  q.Stop();  // idempotent
  EXPECT_EQ(ran.load(), 11);
}

TEST(WorkQueueTest, AThrowingJobIsDroppedAndTheNextOneRuns) {
  WorkQueue q;
  bool after = false;
  ASSERT_TRUE(q.Post([] { throw std::runtime_error("boom"); }));
  ASSERT_TRUE(q.Post([&] { after = true; }));
  q.WaitIdle();
  EXPECT_TRUE(after);
  EXPECT_EQ(q.completed(), 2u);
}

TEST(WorkQueueTest, BoundedQueueRefusesPastItsCap) {
  WorkQueue q(2);
  std::atomic<bool> release{false};
  ASSERT_TRUE(q.Post([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }));
  while (q.pending() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(q.Post([] {}));
  EXPECT_TRUE(q.Post([] {}));
  EXPECT_FALSE(q.Post([] {}));  // two wait, one runs
  release = true;
  q.WaitIdle();
  EXPECT_EQ(q.completed(), 3u);
}

}  // namespace
}  // namespace scrubd::server
