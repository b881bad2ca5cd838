#include "scrubd/audit/reader.h"

#include <gtest/gtest.h>

#include "scrubd/audit/log.h"
#include "test_util.h"

namespace scrubd::audit {
namespace {

using testing::Segments;
using testing::Slurp;
using testing::Spit;
using testing::TempDir;

TEST(ReaderTest, ReadsEveryEntryInOrderAcrossSegments) {
  TempDir t;
  Options o;
  o.segment_max_bytes = 256;  // several segments
  {
    auto log = Log::Open(t.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE((*log)->Append("batch", "{\"n\":" + std::to_string(i) + "}").ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  ASSERT_GT(Segments(t.path()).size(), 2u);
  Result<std::vector<LogEntry>> entries = ReadEntries(t.path());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> batches;
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].seq, i);
    if ((*entries)[i].type == "batch") batches.push_back((*entries)[i].payload);
  }
  ASSERT_EQ(batches.size(), 20u);
  EXPECT_EQ(batches.front(), "{\"n\":0}");
  EXPECT_EQ(batches.back(), "{\"n\":19}");
  EXPECT_EQ(entries->front().type, "log_init");
  EXPECT_EQ(entries->back().type, "audit_close");
}

TEST(ReaderTest, AModifiedRecordIsCorruptionNamingTheSegment) {
  TempDir t;
  {
    auto log = Log::Open(t.path(), {});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append("batch", "{\"redactions\":7}").ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  std::filesystem::path seg = Segments(t.path()).front();
  std::string data = Slurp(seg);
  size_t at = data.find("\"redactions\":7");
  ASSERT_NE(at, std::string::npos);
  data[at + 14] = '0';  // 7 -> 0
  Spit(seg, data);
  Result<std::vector<LogEntry>> entries = ReadEntries(t.path());
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.status().code(), Code::kCorruption);
  EXPECT_NE(entries.status().message().find(seg.filename().string()), std::string::npos);
}

// A torn tail recovered at open (a new segment follows it) reads like Verify reads it; a
// segment that went missing is corruption.
TEST(ReaderTest, ACrashRecoveredLogReadsAndAMissingSegmentDoesNot) {
  TempDir t;
  {
    auto log = Log::Open(t.path(), {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Append("batch", "{\"n\":1}").ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  std::vector<std::filesystem::path> segs = Segments(t.path());
  ASSERT_EQ(segs.size(), 1u);
  Spit(segs.back(), Slurp(segs.back()) + std::string("\x50\x00\x00\x00xx", 6));  // torn
  {
    auto log = Log::Open(t.path(), {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Append("batch", "{\"n\":2}").ok());
    ASSERT_TRUE((*log)->Close().ok());
  }
  segs = Segments(t.path());
  ASSERT_GE(segs.size(), 2u);
  Result<std::vector<LogEntry>> entries = ReadEntries(t.path());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  int batches = 0;
  for (const LogEntry& e : *entries) batches += e.type == "batch";
  EXPECT_EQ(batches, 2);
  std::filesystem::remove(segs.front());
  Result<std::vector<LogEntry>> gap = ReadEntries(t.path());
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("expected 0"), std::string::npos) << gap.status().message();
}

TEST(ReaderTest, MissingDirIsAnError) { EXPECT_FALSE(ReadEntries("/nonexistent/audit-dir").ok()); }

}  // namespace
}  // namespace scrubd::audit
