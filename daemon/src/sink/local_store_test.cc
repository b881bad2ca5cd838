#include "sink/local_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "scrubd/common/fault_env.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace json = boost::json;
using scrubd::testing::TempDir;

TEST(LocalStoreTest, ChunksMergeByTimestampAcrossBatchesAndWindows) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  json::array a = json::parse(R"([{"type":4,"data":{"href":"https://x.test/a"},"timestamp":10},
                                 {"type":3,"data":{},"timestamp":30}])")
                      .as_array();
  json::array b = json::parse(R"([{"type":3,"data":{},"timestamp":20}])").as_array();
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w-1", "d-1", &a}).ok());
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w-2", "d-1", &b}).ok());
  auto out = (*store)->ExportSession("s-1", "");
  ASSERT_TRUE(out.ok());
  json::array merged = json::parse(*out).as_array();
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].at("timestamp").as_int64(), 10);
  EXPECT_EQ(merged[1].at("timestamp").as_int64(), 20);
  EXPECT_EQ(merged[2].at("timestamp").as_int64(), 30);
  auto w2 = (*store)->ExportSession("s-1", "phc_t", "w-2");
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(json::parse(*w2).as_array().size(), 1u);
  auto info = (*store)->GetSession("s-1", "phc_t");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->first_ts, 10);
  EXPECT_EQ(info->last_ts, 30);
  EXPECT_EQ(info->events, 3);
  EXPECT_EQ(info->first_url, "https://x.test/a");
  EXPECT_EQ(info->distinct_id, "d-1");
  EXPECT_EQ((*store)->ExportSession("nope", "").status().code(), Code::kNotFound);
}

TEST(LocalStoreTest, StoreIsPrivateAndSurvivesReopen) {
  TempDir d;
  json::array a = json::parse(R"([{"type":3,"data":{},"timestamp":5}])").as_array();
  {
    auto store = LocalStore::Open(d.path());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-2", "w", "", &a}).ok());
    ASSERT_TRUE(
        (*store)->WriteEvents({{"phc_t", "s-2", "d", "u-1", "$pageview", "t", "{}", ""}}).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat((d.path() / "store").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  ASSERT_EQ(::stat((d.path() / "store" / "index.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->ExportSession("s-2", "").ok());
  auto list = (*store)->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST(LocalStoreTest, UnwritableDirectoryIsAnIoErrorNotACrash) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  // A file where the token directory should go makes the chunk write fail.
  std::ofstream(d.path() / "store" / "recordings" / "phc_blocked") << "x";
  json::array a = json::parse(R"([{"type":3,"data":{},"timestamp":5}])").as_array();
  Status s = (*store)->WriteRecording({"phc_blocked", "s-3", "w", "", &a});
  EXPECT_EQ(s.code(), Code::kIo);
  EXPECT_FALSE((*store)->ExportSession("s-3", "").ok());  // nothing half-indexed
}

}  // namespace
}  // namespace scrubd::sink

namespace scrubd::sink {
namespace {
namespace json = boost::json;

TEST(IndexDerivationTest, ColumnsComeFromTheEventJson) {
  json::object ev = json::parse(R"({"event": "[EMAIL] signed up", "uuid": "u-1",
    "timestamp": "2026-11-22T12:57:19Z", "distinct_id": "top-d",
    "properties": {"token": "phc_t", "$session_id": "s-1"}})")
                        .as_object();
  Result<StoredEvent> row = StoredEventOf(ev);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->name, "[EMAIL] signed up");
  EXPECT_EQ(row->token, "phc_t");
  EXPECT_EQ(row->session_id, "s-1");
  EXPECT_EQ(row->distinct_id, "top-d");  // properties first, else the event's
  EXPECT_EQ(row->uuid, "u-1");
  EXPECT_EQ(row->timestamp, "2026-11-22T12:57:19Z");
  EXPECT_EQ(json::parse(row->body), json::value(ev));

  json::object snap = json::parse(R"({"event": "$snapshot", "properties": {"token": "phc_t",
    "$session_id": "s-1", "distinct_id": "d", "$snapshot_data": [{"type": 3}]}})")
                          .as_object();
  Result<RecordingChunk> chunk = ChunkOf(snap);
  ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
  EXPECT_EQ(chunk->window_id, "s-1");  // no $window_id: the session's
  EXPECT_EQ(chunk->distinct_id, "d");
  EXPECT_EQ(chunk->events->size(), 1u);
}

TEST(IndexDerivationTest, IdsThatBecomePathsAreCheckedAgain) {
  for (const char* props : {R"({"token": "a/../b", "$session_id": "s", "$snapshot_data": []})",
                            R"({"token": "t", "$session_id": "[EMAIL]", "$snapshot_data": []})",
                            R"({"token": "t", "$session_id": "s", "$window_id": "..",
                                "$snapshot_data": []})",
                            R"({"$session_id": "s", "$snapshot_data": []})"}) {
    json::object ev{{"event", "$snapshot"}, {"properties", json::parse(props)}};
    EXPECT_EQ(ChunkOf(ev).status().code(), Code::kInternal) << props;
  }
  json::object no_token{{"event", "e"}, {"properties", json::object{}}};
  EXPECT_EQ(StoredEventOf(no_token).status().code(), Code::kInternal);
}

size_t FilesUnder(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(LocalStoreTest, WriteRecordingsIndexesAllOrNone) {
  TempDir d;
  FaultEnv env;
  auto store = LocalStore::Open(d.path(), &env);
  ASSERT_TRUE(store.ok());
  json::array a = json::parse(R"([{"type":3,"data":{},"timestamp":5}])").as_array();
  json::array b = json::parse(R"([{"type":3,"data":{},"timestamp":6}])").as_array();
  json::array none;
  ASSERT_TRUE((*store)
                  ->WriteRecordings({{"phc_t", "s-1", "w", "", &a},
                                     {"phc_t", "s-1", "w", "", &none},
                                     {"phc_t", "s-2", "w", "", &b}})
                  .ok());
  EXPECT_EQ((*store)->GetSession("s-1", "phc_t")->events, 1);
  EXPECT_EQ((*store)->GetSession("s-2", "phc_t")->events, 1);
  auto recordings = d.path() / "store" / "recordings";
  EXPECT_EQ(FilesUnder(recordings), 2u);
  // The second file of a batch fails: the first is removed, no row of the batch exists.
  env.Arm({FaultOp::kAppend, FaultKind::kEnospc, "s-4", 0, true});
  Status s =
      (*store)->WriteRecordings({{"phc_t", "s-3", "w", "", &a}, {"phc_t", "s-4", "w", "", &b}});
  EXPECT_EQ(s.code(), Code::kIo);
  env.Clear();
  EXPECT_EQ((*store)->GetSession("s-3", "phc_t").status().code(), Code::kNotFound);
  EXPECT_EQ(FilesUnder(recordings), 2u);
}

}  // namespace
}  // namespace scrubd::sink
