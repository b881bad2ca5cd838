#include "scrubd/audit/log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <thread>

#include "scrubd/audit/verify.h"
#include "test_util.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
using testing::Records;
using testing::Segments;
using testing::Slurp;
using testing::Spit;
using testing::TempDir;

std::unique_ptr<Log> MustOpen(const fs::path& dir, const Options& o = Options{}) {
  auto log = Log::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log.value()) : nullptr;
}

VerifyReport VerifyDir(const fs::path& dir, std::optional<fs::path> trusted = std::nullopt) {
  return Verify(dir, dir / "public.pem", trusted);
}

int Mode(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(LogTest, FirstStartCreatesKeyAndVerifies) {
  TempDir t;
  fs::path dir = t.path() / "data" / "audit";
  auto log = MustOpen(dir);
  ASSERT_TRUE(log);
  EXPECT_EQ(Mode(dir), 0700);
  EXPECT_EQ(Mode(dir / "keys" / "signing.key"), 0600);
  EXPECT_EQ(Slurp(dir / "public.pem"), log->PublicKeyPem());
  EXPECT_NE(log->PublicKeyPem().find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(log->Size(), 1u);  // log_init
  auto seq = log->Append("startup", R"({"version":"0.1.0"})");
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(seq.value(), 1u);
  ASSERT_TRUE(log->Append("shutdown", "{}").ok());
  ASSERT_TRUE(log->Close().ok());
  ASSERT_TRUE(log->Close().ok());  // idempotent
  EXPECT_FALSE(log->Append("x", "{}").ok());
  auto r = VerifyDir(dir);
  EXPECT_TRUE(r.ok) << FormatReport(r);
  EXPECT_EQ(r.entries, 4u);  // log_init, startup, shutdown, audit_close
  EXPECT_EQ(r.sealed_entries, 4u);
}

TEST(LogTest, RejectsBadInput) {
  TempDir t;
  auto log = MustOpen(t.path());
  ASSERT_TRUE(log);
  EXPECT_EQ(log->Append("batch", "[1,2]").status().code(), Code::kInvalidInput);
  EXPECT_EQ(log->Append("batch", "{not json").status().code(), Code::kInvalidInput);
  EXPECT_EQ(log->Append("Bad Type", "{}").status().code(), Code::kInvalidInput);
  EXPECT_EQ(log->Append("", "{}").status().code(), Code::kInvalidInput);
  EXPECT_EQ(log->Append("gap", "{}").status().code(), Code::kInvalidInput);
  EXPECT_EQ(log->Append("key_rotation", "{}").status().code(), Code::kInvalidInput);
  Options bad;
  bad.origin = "has space";
  EXPECT_EQ(Log::Open(t.path() / "other", bad).status().code(), Code::kInvalidConfig);
}

TEST(LogTest, SecondWriterIsRefused) {
  TempDir t;
  auto log = MustOpen(t.path());
  ASSERT_TRUE(log);
  auto second = Log::Open(t.path(), Options{});
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
}

TEST(LogTest, ReopenContinuesChainAcrossSegments) {
  TempDir t;
  Options o;
  o.checkpoint_every_entries = 50;
  o.segment_max_bytes = 4096;
  for (int run = 0; run < 3; ++run) {
    auto log = MustOpen(t.path(), o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 120; ++i) {
      ASSERT_TRUE(log->Append("batch", R"({"token":"t","redactions":{"email":2}})").ok());
    }
    ASSERT_TRUE(log->Close().ok());
  }
  EXPECT_GT(Segments(t.path()).size(), 3u);
  auto r = VerifyDir(t.path());
  EXPECT_TRUE(r.ok) << FormatReport(r);
  EXPECT_EQ(r.entries, 1 + 3 * 121 + 2u);  // init, 3x(120 + close), 2 audit_open
}

TEST(LogTest, ConcurrentAppendsFromManyThreads) {
  TempDir t;
  Options o;
  o.checkpoint_every_entries = 100;
  auto log = MustOpen(t.path(), o);
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&log, th] {
      for (int i = 0; i < 500; ++i) {
        auto r = log->Append("batch", "{\"thread\":" + std::to_string(th) + "}");
        ASSERT_TRUE(r.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log->Size(), 2001u);
  ASSERT_TRUE(log->Close().ok());
  auto r = VerifyDir(t.path());
  EXPECT_TRUE(r.ok) << FormatReport(r);
  EXPECT_EQ(r.entries, 2002u);
}

TEST(LogTest, EveryAppendSyncModeVerifies) {
  TempDir t;
  Options o;
  o.sync = SyncMode::kEveryAppend;
  auto log = MustOpen(t.path(), o);
  ASSERT_TRUE(log);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(log->Append("batch", "{}").ok());
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(VerifyDir(t.path()).ok);
}

TEST(LogTest, TimedCheckpointSealsIdleLog) {
  TempDir t;
  Options o;
  o.checkpoint_every = std::chrono::seconds(1);
  o.sync_interval = std::chrono::milliseconds(20);
  auto log = MustOpen(t.path(), o);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append("batch", "{}").ok());
  auto before = VerifyDir(t.path());
  EXPECT_EQ(before.sealed_entries, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto after = VerifyDir(t.path());
  EXPECT_TRUE(after.ok) << FormatReport(after);
  EXPECT_EQ(after.sealed_entries, 2u);
}

TEST(LogTest, TornTailIsRecordedAsGapAndVerifies) {
  TempDir t;
  {
    auto log = MustOpen(t.path());
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append("batch", "{}").ok());
    // destroyed without Close: like a crash after the last write
  }
  // Simulate a write torn by kill -9: half of a record at the end of the segment.
  fs::path seg = Segments(t.path()).back();
  std::string half;
  format::AppendRecord(half, format::EncodeBody(11, 1, Hash{}, "batch", R"({"x":1})"));
  half.resize(half.size() / 2);
  Spit(seg, Slurp(seg) + half);

  auto unrecovered = VerifyDir(t.path());
  EXPECT_TRUE(unrecovered.ok) << FormatReport(unrecovered);
  ASSERT_EQ(unrecovered.warnings.size(), 1u);
  EXPECT_NE(unrecovered.warnings[0].find("torn tail"), std::string::npos);

  auto log = MustOpen(t.path());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append("startup", "{}").ok());
  ASSERT_TRUE(log->Close().ok());
  auto recs = Records(t.path());
  ASSERT_GE(recs.size(), 13u);
  EXPECT_NE(recs[11].body.find("\"torn tail"), std::string::npos);
  EXPECT_NE(recs[11].body.find(std::string("\"length\":") + std::to_string(half.size())),
            std::string::npos);
  EXPECT_TRUE(Slurp(seg).ends_with(half));  // torn bytes kept, never dropped
  auto r = VerifyDir(t.path());
  EXPECT_TRUE(r.ok) << FormatReport(r);

  // Removing the torn bytes afterwards is detected: the gap entry no longer matches.
  std::string data = Slurp(seg);
  Spit(seg, data.substr(0, data.size() - half.size()));
  EXPECT_FALSE(VerifyDir(t.path()).ok);
}

TEST(LogTest, KillNineDuringAppendsLeavesAVerifiableLog) {
  TempDir t;
  { ASSERT_TRUE(MustOpen(t.path())); }
  for (int round = 0; round < 3; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Options o;
      o.checkpoint_every_entries = 100;
      auto log = Log::Open(t.path(), o);
      if (!log.ok()) ::_exit(3);
      for (uint64_t i = 0;; ++i) {
        (void)log.value()->Append("batch", R"({"token":"abc","redactions":{"email":1}})");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 50 * round));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
    auto r = VerifyDir(t.path());
    EXPECT_TRUE(r.ok) << FormatReport(r);
  }
  auto log = MustOpen(t.path());
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Close().ok());
  auto r = VerifyDir(t.path());
  EXPECT_TRUE(r.ok) << FormatReport(r);
  // Each restart after a kill records an unclean shutdown.
  int unclean = 0;
  for (const auto& rec : Records(t.path())) {
    unclean += rec.body.find("\"clean_shutdown\":false") != std::string::npos;
  }
  EXPECT_GE(unclean, 3);
}

TEST(LogTest, RotationIsAuditedAndBothKeysVerify) {
  TempDir t;
  auto log = MustOpen(t.path());
  ASSERT_TRUE(log);
  const std::string old_pem = log->PublicKeyPem();
  fs::path old_key_file = t.path() / "keys" / "key-0000.pub.pem";
  ASSERT_TRUE(log->Append("batch", "{}").ok());
  ASSERT_TRUE(log->RotateKey().ok());
  EXPECT_NE(log->PublicKeyPem(), old_pem);
  EXPECT_EQ(Slurp(t.path() / "public.pem"), log->PublicKeyPem());
  ASSERT_TRUE(log->Append("batch", "{}").ok());
  ASSERT_TRUE(log->RotateKey().ok());
  ASSERT_TRUE(log->Close().ok());
  auto with_new = VerifyDir(t.path());
  EXPECT_TRUE(with_new.ok) << FormatReport(with_new);
  EXPECT_EQ(with_new.keys, 3u);
  auto with_old = Verify(t.path(), old_key_file, std::nullopt);
  EXPECT_TRUE(with_old.ok) << FormatReport(with_old);
  int rotations = 0;
  for (const auto& rec : Records(t.path())) {
    rotations += rec.body.find("\"endorsement\"") != std::string::npos;
  }
  EXPECT_EQ(rotations, 2);
  // A key that never belonged to the log is refused as trust anchor.
  auto stranger = Ed25519Key::Generate();
  fs::path sp = t.path() / "stranger.pem";
  Spit(sp, stranger.value()->PublicPem());
  EXPECT_FALSE(Verify(t.path(), sp, std::nullopt).ok);
  // The log keeps working after reopen with the rotated key.
  auto again = MustOpen(t.path());
  ASSERT_TRUE(again);
  ASSERT_TRUE(again->Append("batch", "{}").ok());
  ASSERT_TRUE(again->Close().ok());
  EXPECT_TRUE(VerifyDir(t.path()).ok);
}

TEST(LogTest, OpenRefusesALogShorterThanItsCheckpoint) {
  TempDir t;
  {
    auto log = MustOpen(t.path());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append("batch", "{}").ok());
    ASSERT_TRUE(log->Close().ok());
  }
  auto recs = Records(t.path());
  std::string data = Slurp(recs[5].segment);
  Spit(recs[5].segment, data.substr(0, recs[5].offset));
  auto log = Log::Open(t.path(), Options{});
  EXPECT_EQ(log.status().code(), Code::kCorruption) << log.status().ToString();
}

TEST(LogTest, ProveProducesAReceiptTheVerifierChecks) {
  TempDir t;
  {
    auto log = MustOpen(t.path());
    for (int i = 0; i < 37; ++i) {
      ASSERT_TRUE(log->Append("erasure", "{\"subject\":\"hmac:" + std::to_string(i) + "\"}").ok());
    }
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string pem = Slurp(t.path() / "public.pem");
  for (uint64_t seq : {0u, 1u, 20u, 37u, 38u}) {
    auto proof = Prove(t.path(), t.path() / "public.pem", seq);
    ASSERT_TRUE(proof.ok()) << proof.status().ToString();
    auto parsed = InclusionProof::Parse(proof.value().ToText());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(VerifyInclusionProof(parsed.value(), pem).ok()) << seq;
    // Any change to the receipt breaks it.
    InclusionProof bad = parsed.value();
    bad.entry_body[bad.entry_body.size() - 2] ^= 1;
    EXPECT_FALSE(VerifyInclusionProof(bad, pem).ok());
    bad = parsed.value();
    bad.seq = seq == 0 ? 1 : seq - 1;
    EXPECT_FALSE(VerifyInclusionProof(bad, pem).ok());
  }
  EXPECT_EQ(Prove(t.path(), t.path() / "public.pem", 39).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace scrubd::audit
