#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "scrubd/common/fault_env.h"
#include "sink/spool.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace fs = std::filesystem;
using scrubd::testing::TempDir;

SpoolRecord Rec(const std::string& body) {
  SpoolRecord r;
  r.target = "/e/";
  r.content_type = "text/plain";
  r.token = "phc_a";
  r.batch_id = "b1";
  r.events = 1;
  r.body = body;
  return r;
}

class SpoolEraseTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    spool_.reset();
    Spool::Options o;
    o.dir = dir_.path() / "spool";
    o.env = &env_;
    auto s = Spool::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    spool_ = std::move(s).value();
  }
  uint64_t Append(const std::string& body) {
    auto seq = spool_->Append(Rec(body));
    EXPECT_TRUE(seq.ok());
    return seq.ok() ? *seq : 0;
  }
  fs::path Dead(uint64_t seq, const char* ext) const {
    char name[32];
    std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(seq));
    return dir_.path() / "spool" / "dead" / (std::string(name) + ext);
  }

  TempDir dir_;
  FaultEnv env_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SpoolEraseTest, EraseRemovesPendingAndDeadAndKeepsTheRest) {
  uint64_t a = Append("subject pending"), b = Append("other"), c = Append("subject dead");
  ASSERT_TRUE(spool_->MoveToDead(c, "http 400").ok());
  ASSERT_TRUE(fs::exists(Dead(c, ".reason")));
  EXPECT_TRUE(spool_->Holds(a) && spool_->Holds(b) && spool_->Holds(c));
  auto counts = spool_->Erase({a, c, 999});
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->spool, 1u);
  EXPECT_EQ(counts->dead, 1u);
  EXPECT_FALSE(spool_->Holds(a));
  EXPECT_FALSE(spool_->Holds(c));
  EXPECT_FALSE(fs::exists(Dead(c, ".req")));
  EXPECT_FALSE(fs::exists(Dead(c, ".reason")));
  EXPECT_TRUE(spool_->Holds(b));
  SpoolStats st = spool_->stats();
  EXPECT_EQ(st.pending_files, 1u);
  EXPECT_EQ(st.dead_files, 0u);
  EXPECT_EQ(st.erased_files, 2u);
  EXPECT_EQ(spool_->Oldest(), b);
  auto rec = spool_->Read(b);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->body, "other");
  // Idempotent, and a restart neither resurrects nor reuses the erased numbers.
  auto again = spool_->Erase({a, c});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->zero());
  Reopen();
  EXPECT_EQ(spool_->stats().pending_files, 1u);
  EXPECT_EQ(spool_->Oldest(), b);
  EXPECT_GT(Append("later"), c);
}

TEST_F(SpoolEraseTest, ARecordErasedWhileBeingDeliveredIsNeverRecreated) {
  uint64_t a = Append("in flight");
  auto rec = spool_->Read(a);  // the forwarder has read it and is sending it
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(spool_->Erase({a}).ok());
  // Upstream rejects it: dead-lettering must not bring it (or a .reason) back.
  Status dead = spool_->MoveToDead(a, "http 400");
  EXPECT_EQ(dead.code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(Dead(a, ".reason")));
  EXPECT_FALSE(fs::exists(Dead(a, ".req")));
  // Or upstream accepts it: Remove of an erased file is fine and creates nothing.
  EXPECT_TRUE(spool_->Remove(a).ok());
  EXPECT_FALSE(spool_->Holds(a));
  EXPECT_FALSE(spool_->Oldest().has_value());
  EXPECT_EQ(spool_->stats().dead_files, 0u);
}

TEST_F(SpoolEraseTest, ConcurrentDeadLetteringAndErasureLeaveNothingOfTheErased) {
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 200; ++i) seqs.push_back(Append("b" + std::to_string(i)));
  std::atomic<bool> go{false};
  std::thread forwarder([&] {
    while (!go) std::this_thread::yield();
    for (uint64_t s : seqs) (void)spool_->MoveToDead(s, "http 400");
  });
  go = true;
  for (size_t i = 0; i < seqs.size(); i += 20) {
    std::vector<uint64_t> part(seqs.begin() + static_cast<long>(i),
                               seqs.begin() + static_cast<long>(i + 20));
    ASSERT_TRUE(spool_->Erase(part).ok());
  }
  forwarder.join();
  for (uint64_t s : seqs) EXPECT_FALSE(spool_->Holds(s)) << s;
  EXPECT_EQ(spool_->stats().dead_files, 0u);
}

TEST_F(SpoolEraseTest, FailedUnlinkIsAnErrorAndARerunCompletes) {
  uint64_t a = Append("one"), b = Append("two");
  env_.Arm({FaultOp::kRemove, FaultKind::kEio, "", 1, true});
  auto failed = spool_->Erase({a, b});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kIo);
  EXPECT_FALSE(spool_->Holds(a));
  EXPECT_TRUE(spool_->Holds(b));  // its file is still there
  env_.Clear();
  auto rerun = spool_->Erase({a, b});
  ASSERT_TRUE(rerun.ok());
  EXPECT_EQ(rerun->spool, 1u);
  EXPECT_FALSE(spool_->Holds(b));
}

TEST_F(SpoolEraseTest, FailedDirectoryFsyncIsAnError) {
  uint64_t a = Append("one");
  env_.Arm({FaultOp::kSync, FaultKind::kEio, "spool/dead", 0, true});  // the last step
  EXPECT_FALSE(spool_->Erase({a}).ok());
  EXPECT_GT(env_.injected(), 0u);
  env_.Clear();
  auto rerun = spool_->Erase({a});  // nothing left to unlink, but the dirs are synced again
  ASSERT_TRUE(rerun.ok());
  EXPECT_TRUE(rerun->zero());
  EXPECT_FALSE(spool_->Holds(a));
}

}  // namespace
}  // namespace scrubd::sink
