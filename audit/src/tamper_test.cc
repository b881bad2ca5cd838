// The tamper matrix over a 10,000-entry log: every case must fail verification.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "scrubd/audit/log.h"
#include "scrubd/audit/verify.h"
#include "test_util.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
using testing::RecordInfo;
using testing::Records;
using testing::Segments;
using testing::Slurp;
using testing::Spit;
using testing::TempDir;

constexpr int kEntries = 10000;
constexpr uint64_t kRotateAt = 5000;

// Built once: 10,000 caller entries (plus log_init, one key rotation, audit_close),
// checkpoints every 1,000, several segments.
class TamperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    golden_ = new TempDir();
    Options o;
    o.checkpoint_every_entries = 1000;
    o.segment_max_bytes = 256 << 10;
    auto log = Log::Open(Golden(), o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    Spit(golden_->path() / "key0.pem", log.value()->PublicKeyPem());
    for (int i = 0; i < kEntries; ++i) {
      if (log.value()->Size() == kRotateAt) {
        ASSERT_TRUE(log.value()->RotateKey().ok());
      }
      std::string payload =
          "{\"token\":\"b" + std::to_string(i) +
          "\",\"session\":\"hmac:5f2a\",\"redactions\":{\"email\":" + std::to_string(i % 7) +
          ",\"card\":1},\"dropped\":0}";
      ASSERT_TRUE(log.value()->Append("batch", payload).ok());
    }
    ASSERT_TRUE(log.value()->Close().ok());
  }
  static void TearDownTestSuite() {
    delete golden_;
    golden_ = nullptr;
  }
  static fs::path Golden() { return golden_->path() / "audit"; }

  void SetUp() override {
    fs::copy(Golden(), Dir(), fs::copy_options::recursive);
    fs::copy_file(golden_->path() / "key0.pem", scratch_.path() / "key0.pem");
  }
  fs::path Dir() const { return scratch_.path() / "audit"; }
  fs::path Key0() const { return scratch_.path() / "key0.pem"; }
  VerifyReport Check(std::optional<fs::path> trusted = std::nullopt) const {
    return Verify(Dir(), Key0(), trusted);
  }

  // Rewrites the whole log as one segment from `bodies`, recomputing seq, prev_hash and leaf
  // hashes (what an attacker without the keys can always do).
  static std::vector<Hash> RewriteChain(const fs::path& dir, std::vector<std::string> bodies) {
    for (const auto& s : Segments(dir)) fs::remove(s);
    std::string file = format::FileHeader(format::kSegmentMagic, 0);
    std::vector<Hash> leaves;
    Hash prev{};
    for (size_t i = 0; i < bodies.size(); ++i) {
      format::Entry e;
      std::string why;
      EXPECT_TRUE(format::DecodeBody(bodies[i], &e, &why));
      std::string body = format::EncodeBody(i, e.time_us, prev, e.type, e.payload);
      prev = format::AppendRecord(file, body);
      leaves.push_back(prev);
    }
    Spit(dir / format::SegmentName(0), file);
    return leaves;
  }

  // Re-signs every checkpoint over `leaves` with the key in keys/signing.key (the newest key,
  // which a host attacker holds).
  static void ResignCheckpoints(const fs::path& dir, const std::vector<Hash>& leaves,
                                uint64_t max_size = UINT64_MAX) {
    auto key = Ed25519Key::FromPrivatePem(Slurp(dir / "keys" / "signing.key"));
    ASSERT_TRUE(key.ok());
    std::string data = Slurp(dir / "checkpoints.log");
    std::string out = data.substr(0, format::kFileHeaderSize);
    for (uint64_t pos = format::kFileHeaderSize; pos < data.size();) {
      uint32_t len = format::GetU32(data.data() + pos);
      auto note = format::ParseNote(std::string_view(data).substr(pos + 4, len));
      pos += 4 + len;
      ASSERT_TRUE(note.ok());
      uint64_t size = std::min<uint64_t>(note.value().size, leaves.size());
      if (size > max_size) break;
      std::string body = format::CheckpointBody(
          "scrubd/audit", size, RootFromLeafHashes(std::span(leaves).subspan(0, size)));
      std::string id = NoteKeyId("scrubd/audit", key.value()->RawPublic());
      std::string text =
          body + "\n" + format::SignatureLine("scrubd/audit", id, key.value()->Sign(body).value());
      format::PutU32(out, static_cast<uint32_t>(text.size()));
      out += text;
    }
    Spit(dir / "checkpoints.log", out);
  }

  static std::vector<std::string> Bodies(const std::vector<RecordInfo>& recs) {
    std::vector<std::string> out;
    for (const auto& r : recs) out.push_back(r.body);
    return out;
  }

  // Removes the bytes [offset, offset+size) of a file.
  static void Cut(const fs::path& p, uint64_t offset, uint64_t size) {
    std::string d = Slurp(p);
    Spit(p, d.substr(0, offset) + d.substr(offset + size));
  }

  // The newest checkpoint size <= seq: where damage found through a signed root is reported.
  static uint64_t SealStart(uint64_t seq) {
    std::string data = Slurp(Golden() / "checkpoints.log");
    uint64_t best = 0;
    for (uint64_t pos = format::kFileHeaderSize; pos < data.size();) {
      uint32_t len = format::GetU32(data.data() + pos);
      auto note = format::ParseNote(std::string_view(data).substr(pos + 4, len));
      if (note.value().size <= seq) best = std::max(best, note.value().size);
      pos += 4 + len;
    }
    return best;
  }

  void ExpectFails(const VerifyReport& r, std::optional<uint64_t> seq, const char* what) {
    EXPECT_FALSE(r.ok) << what << " was NOT detected";
    if (seq) {
      EXPECT_EQ(r.first_bad_seq, seq) << what << ": " << FormatReport(r);
    }
    std::cout << "[tamper] " << what << " -> " << FormatReport(r);
  }

  static TempDir* golden_;
  TempDir scratch_;
};
TempDir* TamperTest::golden_ = nullptr;

TEST_F(TamperTest, UntouchedLogVerifies) {
  auto r = Check();
  EXPECT_TRUE(r.ok) << FormatReport(r);
  EXPECT_EQ(r.entries, kEntries + 3u);
  EXPECT_EQ(r.keys, 2u);
  EXPECT_GE(r.checkpoints, 11u);
  EXPECT_GT(Segments(Dir()).size(), 3u);
  std::cout << "[tamper] untouched -> " << FormatReport(r);
}

TEST_F(TamperTest, SingleBitFlipAtEveryByteOfSampledEntries) {
  auto recs = Records(Dir());
  ASSERT_EQ(recs.size(), kEntries + 3u);
  const std::vector<size_t> sample = {
      0, 1, 2500, kRotateAt, recs.size() / 2 + 1, recs.size() - 2, recs.size() - 1};
  size_t flips = 0;
  for (size_t idx : sample) {
    const RecordInfo& rec = recs[idx];
    const std::string original = Slurp(rec.segment);
    for (uint64_t b = 0; b < rec.size; ++b) {
      std::string mutated = original;
      mutated[rec.offset + b] ^= static_cast<char>(1u << (b % 8));
      Spit(rec.segment, mutated);
      VerifyReport r = Check();
      ++flips;
      ASSERT_FALSE(r.ok) << "flip of bit " << b % 8 << " at byte " << b << " of seq " << rec.seq
                         << " went undetected";
      ASSERT_EQ(r.first_bad_seq, rec.seq) << "byte " << b << ": " << FormatReport(r);
      ASSERT_EQ(r.first_bad_offset, rec.offset) << "byte " << b << ": " << FormatReport(r);
    }
    Spit(rec.segment, original);
  }
  std::cout << "[tamper] " << flips << " single-bit flips over " << sample.size()
            << " sampled entries: all detected at the right seq and offset\n";
  EXPECT_TRUE(Check().ok);
}

TEST_F(TamperTest, SingleBitFlipAtEveryByteOfSampledCheckpoints) {
  const fs::path p = Dir() / "checkpoints.log";
  const std::string original = Slurp(p);
  // First and last checkpoint records.
  std::vector<std::pair<uint64_t, uint64_t>> recs;
  for (uint64_t pos = format::kFileHeaderSize; pos < original.size();) {
    uint32_t len = format::GetU32(original.data() + pos);
    recs.emplace_back(pos, 4 + len);
    pos += 4 + len;
  }
  size_t flips = 0;
  for (auto [off, size] : {recs.front(), recs.back()}) {
    for (uint64_t b = 0; b < size; ++b) {
      std::string m = original;
      m[off + b] ^= static_cast<char>(1u << (b % 8));
      Spit(p, m);
      ++flips;
      ASSERT_FALSE(Check().ok) << "checkpoint flip at byte " << off + b << " went undetected";
    }
  }
  Spit(p, original);
  std::cout << "[tamper] " << flips << " single-bit flips in checkpoint notes: all detected\n";
}

TEST_F(TamperTest, DeleteFirstEntry) {
  auto recs = Records(Dir());
  Cut(recs[0].segment, recs[0].offset, recs[0].size);
  ExpectFails(Check(), 0, "delete first entry");
}

TEST_F(TamperTest, DeleteMiddleEntry) {
  auto recs = Records(Dir());
  Cut(recs[3333].segment, recs[3333].offset, recs[3333].size);
  ExpectFails(Check(), 3333, "delete middle entry 3333");
}

TEST_F(TamperTest, DeleteLastEntry) {
  auto recs = Records(Dir());
  const RecordInfo& last = recs.back();
  Cut(last.segment, last.offset, last.size);
  ExpectFails(Check(), last.seq, "delete last entry");
}

TEST_F(TamperTest, DeleteMiddleEntryAndRechain) {
  auto recs = Records(Dir());
  auto bodies = Bodies(recs);
  bodies.erase(bodies.begin() + 3333);
  RewriteChain(Dir(), bodies);
  ExpectFails(Check(), SealStart(3333), "delete entry 3333 and recompute the chain");
}

TEST_F(TamperTest, SwapTwoEntries) {
  auto recs = Records(Dir());
  const RecordInfo& a = recs[7000];
  const RecordInfo& b = recs[7001];
  ASSERT_EQ(a.segment, b.segment);
  std::string d = Slurp(a.segment);
  std::string ra = d.substr(a.offset, a.size), rb = d.substr(b.offset, b.size);
  Spit(a.segment, d.substr(0, a.offset) + rb + ra + d.substr(b.offset + b.size));
  ExpectFails(Check(), 7000, "swap entries 7000 and 7001");
}

TEST_F(TamperTest, SwapTwoEntriesAndRechain) {
  auto bodies = Bodies(Records(Dir()));
  std::swap(bodies[7000], bodies[7001]);
  RewriteChain(Dir(), bodies);
  ExpectFails(Check(), SealStart(7000), "swap entries 7000/7001 and recompute the chain");
}

TEST_F(TamperTest, InsertForgedEntry) {
  auto recs = Records(Dir());
  const RecordInfo& at = recs[4000];
  format::Entry prev_e;
  std::string why;
  // A well-formed entry with the right seq and prev_hash, slotted in before entry 4000.
  format::Entry e;
  ASSERT_TRUE(format::DecodeBody(recs[3999].body, &prev_e, &why));
  ASSERT_TRUE(format::DecodeBody(at.body, &e, &why));
  std::string forged;
  format::AppendRecord(forged, format::EncodeBody(4000, e.time_us, e.prev_hash, "admin_call",
                                                  R"({"caller":"root","op":"purge"})"));
  std::string d = Slurp(at.segment);
  Spit(at.segment, d.substr(0, at.offset) + forged + d.substr(at.offset));
  auto r = Check();
  // The forged entry chains correctly, so the first evidence is the signed root over it.
  ExpectFails(r, SealStart(4000), "insert forged entry before 4000");
}

TEST_F(TamperTest, InsertForgedEntryAndRechain) {
  auto bodies = Bodies(Records(Dir()));
  bodies.insert(bodies.begin() + 4000,
                format::EncodeBody(4000, 1, Hash{}, "admin_call", R"({"caller":"root"})"));
  RewriteChain(Dir(), bodies);
  ExpectFails(Check(), SealStart(4000), "insert forged entry at 4000 and recompute the chain");
}

TEST_F(TamperTest, EditPayloadAndRechain) {
  auto bodies = Bodies(Records(Dir()));
  format::Entry e;
  std::string why;
  ASSERT_TRUE(format::DecodeBody(bodies[1234], &e, &why));
  bodies[1234] = format::EncodeBody(1234, e.time_us, e.prev_hash, "batch", R"({"dropped":0})");
  RewriteChain(Dir(), bodies);
  ExpectFails(Check(), SealStart(1234), "edit entry 1234 and recompute the chain");
}

// CVE-2023-31438 pattern, live: the file is truncated under a running writer, which keeps
// appending (O_APPEND) and keeps signing checkpoints.
TEST_F(TamperTest, TruncateAndContinueWritingLive) {
  Options o;
  o.checkpoint_every_entries = 1000;
  o.segment_max_bytes = 256 << 10;
  auto log = Log::Open(Dir(), o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto recs = Records(Dir());
  const RecordInfo& cut = recs[recs.size() - 300];
  ASSERT_EQ(cut.segment, Segments(Dir()).back());
  fs::resize_file(cut.segment, cut.offset);
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(log.value()->Append("batch", "{}").ok());
  ASSERT_TRUE(log.value()->Close().ok());
  ExpectFails(Check(), cut.seq, "truncate under a live writer that keeps writing");
}

// CVE-2023-31438 pattern, offline: truncate at entry 6000, write well-chained entries after it.
TEST_F(TamperTest, TruncateAndContinueWritingOffline) {
  auto bodies = Bodies(Records(Dir()));
  bodies.resize(6000);
  for (int i = 0; i < 1200; ++i) {
    bodies.push_back(format::EncodeBody(0, 1, Hash{}, "batch", R"({"forged":true})"));
  }
  RewriteChain(Dir(), bodies);
  ExpectFails(Check(), SealStart(6000), "truncate at 6000 and continue writing");
  // And the daemon refuses to append to it.
  EXPECT_EQ(Log::Open(Dir(), Options{}).status().code(), Code::kCorruption);
}

// Same, but the attacker (without the key) also drops the checkpoints past the cut.
TEST_F(TamperTest, TruncateDropCheckpointsAndContinueWriting) {
  auto bodies = Bodies(Records(Dir()));
  auto golden_leaves = RewriteChain(Dir(), bodies);  // identical log, single segment
  bodies.resize(6000);
  for (int i = 0; i < 5000; ++i) {  // more than the crash allowance of 4 intervals
    bodies.push_back(format::EncodeBody(0, 1, Hash{}, "batch", R"({"forged":true})"));
  }
  RewriteChain(Dir(), bodies);
  // Keep only the genuine checkpoints with size <= 6000 (byte-for-byte originals).
  std::string data = Slurp(Dir() / "checkpoints.log");
  std::string out = data.substr(0, format::kFileHeaderSize);
  for (uint64_t pos = format::kFileHeaderSize; pos < data.size();) {
    uint32_t len = format::GetU32(data.data() + pos);
    auto note = format::ParseNote(std::string_view(data).substr(pos + 4, len));
    if (note.value().size <= 6000) out += data.substr(pos, 4 + len);
    pos += 4 + len;
  }
  Spit(Dir() / "checkpoints.log", out);
  ExpectFails(Check(), SealStart(6000) + 1000,
              "truncate, drop later checkpoints, write 5000 unsealed entries");
}

// CVE-2023-31439 pattern: strip the seals and re-seal old entries with the newer key.
TEST_F(TamperTest, ResignOldCheckpointsWithNewerKey) {
  auto bodies = Bodies(Records(Dir()));
  format::Entry e;
  std::string why;
  ASSERT_TRUE(format::DecodeBody(bodies[100], &e, &why));
  bodies[100] = format::EncodeBody(100, e.time_us, e.prev_hash, "batch", R"({"dropped":0})");
  auto leaves = RewriteChain(Dir(), bodies);
  ResignCheckpoints(Dir(), leaves);
  auto r = Check();
  ExpectFails(r, 0, "edit entry 100, re-sign every checkpoint with the newer key");
  EXPECT_NE(r.reason.find("key #0"), std::string::npos) << r.reason;
  EXPECT_EQ(r.first_bad_segment, "checkpoints.log");
  // Verifying with the newest key as anchor changes nothing: the schedule is in the log.
  EXPECT_FALSE(Verify(Dir(), Dir() / "public.pem", std::nullopt).ok);
}

TEST_F(TamperTest, ResignWithoutEditIsStillDetected) {
  auto leaves = RewriteChain(Dir(), Bodies(Records(Dir())));
  ResignCheckpoints(Dir(), leaves);
  ExpectFails(Check(), 0, "strip seals and re-seal with the newer key");
}

TEST_F(TamperTest, TailDeletedBeyondTrustedCheckpoint) {
  const fs::path trusted = scratch_.path() / "trusted-checkpoint";
  fs::copy_file(Dir() / "checkpoint", trusted);  // an auditor saved this off-host
  EXPECT_TRUE(Check(trusted).ok);
  // Delete the tail from entry 8000 on, and every checkpoint beyond it.
  auto leaves = RewriteChain(Dir(), [&] {
    auto b = Bodies(Records(Dir()));
    b.resize(8000);
    return b;
  }());
  std::string data = Slurp(Dir() / "checkpoints.log");
  std::string out = data.substr(0, format::kFileHeaderSize);
  for (uint64_t pos = format::kFileHeaderSize; pos < data.size();) {
    uint32_t len = format::GetU32(data.data() + pos);
    auto note = format::ParseNote(std::string_view(data).substr(pos + 4, len));
    if (note.value().size <= 8000) out += data.substr(pos, 4 + len);
    pos += 4 + len;
  }
  Spit(Dir() / "checkpoints.log", out);
  // Without outside evidence a clean cut at a checkpoint boundary is indistinguishable from a
  // live log (documented); with the trusted checkpoint it is caught.
  EXPECT_TRUE(Check().ok) << FormatReport(Check());
  ExpectFails(Check(trusted), 8000, "tail deleted beyond a trusted checkpoint");
}

TEST_F(TamperTest, DeleteNewestCheckpointOnly) {
  std::string data = Slurp(Dir() / "checkpoints.log");
  uint64_t last = 0;
  for (uint64_t pos = format::kFileHeaderSize; pos < data.size();) {
    last = pos;
    pos += 4 + format::GetU32(data.data() + pos);
  }
  Spit(Dir() / "checkpoints.log", data.substr(0, last));
  ExpectFails(Check(), std::nullopt, "delete the newest checkpoint (CloudTrail blind spot)");
}

TEST_F(TamperTest, DeleteAllCheckpoints) {
  Spit(Dir() / "checkpoints.log", Slurp(Dir() / "checkpoints.log").substr(0, 16));
  ExpectFails(Check(), 0, "delete every checkpoint");
  fs::remove(Dir() / "checkpoints.log");
  ExpectFails(Check(), std::nullopt, "remove checkpoints.log");
}

TEST_F(TamperTest, DeleteWholeMiddleSegment) {
  auto segs = Segments(Dir());
  ASSERT_GT(segs.size(), 3u);
  auto recs = Records(Dir());
  uint64_t first_missing = 0;
  for (const auto& r : recs) {
    if (r.segment == segs[2]) {
      first_missing = r.seq;
      break;
    }
  }
  fs::remove(segs[2]);
  ExpectFails(Check(), first_missing, "delete a whole middle segment");
}

TEST_F(TamperTest, ReplacedLogWithAttackerKey) {
  // Regenerate a plausible log from scratch with a fresh key: fails against the pinned key.
  fs::remove_all(Dir());
  auto log = Log::Open(Dir(), Options{});
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.value()->Append("batch", "{}").ok());
  ASSERT_TRUE(log.value()->Close().ok());
  EXPECT_TRUE(Verify(Dir(), Dir() / "public.pem", std::nullopt).ok);
  ExpectFails(Check(), std::nullopt, "whole log replaced, signed with the attacker's key");
}

}  // namespace
}  // namespace scrubd::audit
