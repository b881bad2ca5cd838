#include "sink/spool.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace fs = std::filesystem;
using scrubd::testing::ReadFile;
using scrubd::testing::TempDir;

SpoolRecord Rec(const std::string& body, const std::string& token = "phc_a") {
  SpoolRecord r;
  r.target = "/s/?compression=gzip-js";
  r.content_type = "text/plain";
  r.token = token;
  r.batch_id = "b1";
  r.events = 2;
  r.body = body;
  return r;
}

std::unique_ptr<Spool> OpenSpool(const fs::path& dir, uint64_t max = uint64_t{1} << 30) {
  Spool::Options o;
  o.dir = dir;
  o.max_bytes = max;
  o.now_ms = [] { return int64_t{1700000000123}; };
  auto s = Spool::Open(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(SpoolTest, AppendIsDurableAndResumesInOrderAfterReopen) {
  TempDir dir;
  {
    auto s = OpenSpool(dir.path() / "spool");
    for (int i = 0; i < 3; ++i) {
      auto seq = s->Append(Rec(std::string("body\0\n\n", 7) + std::to_string(i)));
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      EXPECT_EQ(*seq, static_cast<uint64_t>(i + 1));
    }
    EXPECT_EQ(s->stats().pending_files, 3u);
    EXPECT_TRUE(fs::exists(dir.path() / "spool" / "00000000000000000002.req"));
  }
  auto s = OpenSpool(dir.path() / "spool");  // a restart
  EXPECT_EQ(s->stats().pending_files, 3u);
  std::vector<std::string> bodies;
  while (auto seq = s->Oldest()) {
    auto r = s->Read(*seq);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->target, "/s/?compression=gzip-js");
    EXPECT_EQ(r->token, "phc_a");
    EXPECT_EQ(r->events, 2u);
    EXPECT_EQ(r->created_ms, 1700000000123);
    bodies.push_back(r->body);
    ASSERT_TRUE(s->Remove(*seq).ok());
  }
  ASSERT_EQ(bodies.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(bodies[i], std::string("body\0\n\n", 7) + std::to_string(i));
  EXPECT_EQ(s->stats().pending_bytes, 0u);
  auto next = s->Append(Rec("x"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 4u);  // numbers are never reused
}

TEST(SpoolTest, UnacknowledgedTempFilesAreDeletedOnOpen) {
  TempDir dir;
  fs::create_directories(dir.path() / "spool");
  std::ofstream(dir.path() / "spool" / "00000000000000000001.req.tmp42.0") << "partial";
  auto s = OpenSpool(dir.path() / "spool");
  EXPECT_EQ(s->stats().pending_files, 0u);
  EXPECT_FALSE(s->Oldest().has_value());
  EXPECT_FALSE(fs::exists(dir.path() / "spool" / "00000000000000000001.req.tmp42.0"));
}

TEST(SpoolTest, FullSpoolRefusesWithUnavailableUntilSpaceIsFreed) {
  TempDir dir;
  std::string body(600, 'a');
  size_t one = Spool::Encode(Rec(body)).size();
  auto s = OpenSpool(dir.path() / "spool", one + one / 2);
  auto first = s->Append(Rec(body));
  ASSERT_TRUE(first.ok());
  auto second = s->Append(Rec(body));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_EQ(s->stats().full_rejections, 1u);
  EXPECT_EQ(s->stats().pending_files, 1u);  // nothing half-written left behind
  ASSERT_TRUE(s->Remove(*first).ok());
  EXPECT_TRUE(s->Append(Rec(body)).ok());
}

TEST(SpoolTest, DamagedFileReadsAsCorruption) {
  TempDir dir;
  auto s = OpenSpool(dir.path() / "spool");
  auto seq = s->Append(Rec("hello world"));
  ASSERT_TRUE(seq.ok());
  fs::path p = dir.path() / "spool" / "00000000000000000001.req";
  std::string text = ReadFile(p);
  text.back() = 'X';
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  auto r = s->Read(*seq);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(Spool::Decode("not a spool file\n\nbody").status().code(), Code::kCorruption);
  std::string truncated = Spool::Encode(Rec("abcdef"));
  truncated.pop_back();
  EXPECT_EQ(Spool::Decode(truncated).status().code(), Code::kCorruption);
}

TEST(SpoolTest, DeadLetterMovesTheFileWithItsReasonAndKeepsNumbering) {
  TempDir dir;
  {
    auto s = OpenSpool(dir.path() / "spool");
    ASSERT_TRUE(s->Append(Rec("a")).ok());
    ASSERT_TRUE(s->Append(Rec("b")).ok());
    ASSERT_TRUE(s->MoveToDead(2, "http 400").ok());
    EXPECT_EQ(s->stats().dead_files, 1u);
    EXPECT_EQ(s->stats().pending_files, 1u);
    EXPECT_EQ(*s->Oldest(), 1u);
  }
  fs::path dead = dir.path() / "spool" / "dead";
  EXPECT_TRUE(fs::exists(dead / "00000000000000000002.req"));
  EXPECT_EQ(ReadFile(dead / "00000000000000000002.reason"), "http 400\n");
  auto s = OpenSpool(dir.path() / "spool");
  EXPECT_EQ(s->stats().dead_files, 1u);
  EXPECT_EQ(s->stats().pending_files, 1u);
  auto next = s->Append(Rec("c"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 3u);  // above the dead file's number too
}

TEST(SpoolTest, RejectsHeaderValuesWithNewlines) {
  TempDir dir;
  auto s = OpenSpool(dir.path() / "spool");
  SpoolRecord r = Rec("a", "phc_a\nevil 1");
  EXPECT_EQ(s->Append(r).status().code(), Code::kInternal);
  EXPECT_EQ(s->stats().pending_files, 0u);
}

}  // namespace
}  // namespace scrubd::sink
