#include "dom/state_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

namespace scrubd::dom {
namespace {

namespace fs = std::filesystem;

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("scrubd_state_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  StateStore::Options Opts() {
    StateStore::Options o;
    o.dir = dir_;
    o.now = [this] { return now_; };
    return o;
  }
  fs::path dir_;
  StateStore::Clock::time_point now_{};
};

TEST_F(StateStoreTest, PersistAllSurvivesRestart) {
  {
    auto store = StateStore::Open(Opts()).value();
    auto lease = store->Acquire("t", "s", "w");
    lease.state().Put(3, {1, nf::kKindText | nf::kMasked});
  }
  {
    auto store = StateStore::Open(Opts()).value();
    auto lease = store->Acquire("t", "s", "w");
    EXPECT_EQ(lease.state().size(), 0u);  // nothing persisted yet: not a graceful shutdown
  }
  {
    auto store = StateStore::Open(Opts()).value();
    {
      auto lease = store->Acquire("t", "s", "w");
      lease.state().Put(3, {1, nf::kKindText | nf::kMasked});
    }
    ASSERT_TRUE(store->PersistAll().ok());
  }
  auto store = StateStore::Open(Opts()).value();
  auto lease = store->Acquire("t", "s", "w");
  ASSERT_NE(lease.state().Find(3), nullptr);
  EXPECT_TRUE(lease.state().Find(3)->flags & nf::kMasked);
  EXPECT_EQ(store->stats().loads, 1u);
}

TEST_F(StateStoreTest, IdleEvictionPersistsAndReloads) {
  auto store = StateStore::Open(Opts()).value();
  {
    auto lease = store->Acquire("t", "s", "w");
    lease.state().Put(9, {0, nf::kKindElement});
  }
  now_ += std::chrono::seconds(100);
  EXPECT_EQ(store->EvictIdle(), 0u);
  now_ += std::chrono::seconds(1800);
  EXPECT_EQ(store->EvictIdle(), 1u);
  EXPECT_EQ(store->stats().windows, 0u);
  auto lease = store->Acquire("t", "s", "w");
  EXPECT_NE(lease.state().Find(9), nullptr);
}

TEST_F(StateStoreTest, MemoryBudgetEvictsLeastRecentlyUsed) {
  StateStore::Options o = Opts();
  o.max_bytes = 64 << 10;
  auto store = StateStore::Open(o).value();
  for (int w = 0; w < 20; ++w) {
    now_ += std::chrono::seconds(1);
    auto lease = store->Acquire("t", "s", "w" + std::to_string(w));
    for (uint32_t id = 1; id <= 2000; ++id) lease.state().Put(id, {0, nf::kKindText});
  }
  auto st = store->stats();
  EXPECT_LE(st.bytes, o.max_bytes);
  EXPECT_GT(st.evictions, 0u);
  auto lease = store->Acquire("t", "s", "w0");  // evicted first, comes back from disk
  EXPECT_EQ(lease.state().size(), 2000u);
}

TEST_F(StateStoreTest, ForgetSessionErasesMemoryAndDisk) {
  auto store = StateStore::Open(Opts()).value();
  for (const char* w : {"w1", "w2"}) {
    auto lease = store->Acquire("t", "gone", w);
    lease.state().Put(1, {0, nf::kKindOther});
  }
  {
    auto lease = store->Acquire("t", "kept", "w1");
    lease.state().Put(1, {0, nf::kKindOther});
  }
  ASSERT_TRUE(store->PersistAll().ok());
  EXPECT_TRUE(store->HoldsSession("t", "gone"));
  ASSERT_TRUE(store->ForgetSession("t", "gone").ok());
  EXPECT_FALSE(store->HoldsSession("t", "gone"));
  EXPECT_EQ(store->stats().windows, 1u);
  auto reopened = StateStore::Open(Opts()).value();
  EXPECT_TRUE(reopened->HoldsSession("t", "kept"));  // on disk only
  EXPECT_FALSE(reopened->HoldsSession("t", "gone"));
  EXPECT_EQ(reopened->Acquire("t", "gone", "w1").state().size(), 0u);
  EXPECT_EQ(reopened->Acquire("t", "kept", "w1").state().size(), 1u);
}

TEST_F(StateStoreTest, ForgetSessionsErasesABatchAndCountsWhatItHeld) {
  {
    auto store = StateStore::Open(Opts()).value();
    store->Acquire("t", "disk", "w1").state().Put(1, {0, nf::kKindOther});
    ASSERT_TRUE(store->PersistAll().ok());
  }
  auto store = StateStore::Open(Opts()).value();  // "disk" is on disk only
  store->Acquire("t", "memory", "w1").state().Put(1, {0, nf::kKindOther});
  store->Acquire("t", "kept", "w1").state().Put(1, {0, nf::kKindOther});
  auto held = store->ForgetSessions({{"t", "disk"}, {"t", "memory"}, {"t", "never"}});
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  EXPECT_EQ(*held, 2u);
  EXPECT_FALSE(store->HoldsSession("t", "disk"));
  EXPECT_FALSE(store->HoldsSession("t", "memory"));
  EXPECT_TRUE(store->HoldsSession("t", "kept"));
  EXPECT_EQ(store->stats().windows, 1u);
  EXPECT_EQ(*store->ForgetSessions({}), 0u);
}

TEST_F(StateStoreTest, CorruptFileStartsEmptyAndCounts) {
  {
    auto store = StateStore::Open(Opts()).value();
    store->Acquire("t", "s", "w").state().Put(1, {0, nf::kKindOther});
    ASSERT_TRUE(store->PersistAll().ok());
  }
  for (auto& sess : fs::directory_iterator(dir_))
    for (auto& f : fs::directory_iterator(sess.path())) fs::resize_file(f.path(), 10);
  auto store = StateStore::Open(Opts()).value();
  EXPECT_EQ(store->Acquire("t", "s", "w").state().size(), 0u);
  EXPECT_EQ(store->stats().load_errors, 1u);
}

TEST_F(StateStoreTest, LeasesAreExclusive) {
  auto store = StateStore::Open(Opts()).value();
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto lease = store->Acquire("t", "s", i % 2 ? "a" : "b");
        if (i % 2 && inside.fetch_add(1) != 0) overlap = true;
        lease.state().Put(static_cast<uint32_t>(t * 1000 + i + 1), {0, nf::kKindText});
        if (i % 2) inside.fetch_sub(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(store->Acquire("t", "s", "a").state().size(), 400u);
}

}  // namespace
}  // namespace scrubd::dom
