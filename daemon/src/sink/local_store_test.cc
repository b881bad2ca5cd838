#include "sink/local_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "scrubd/common/fault_env.h"
#include "sink/scan.h"
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
namespace fs = std::filesystem;

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

// A chunk as a v1 store wrote it: the plain JSON file, then its chunks and sessions rows.
void WriteV1Chunk(const fs::path& data_dir, const std::string& rel, const std::string& json,
                  int64_t events, int64_t first_ts, int64_t last_ts) {
  fs::path file = data_dir / "store" / rel;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << json;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((data_dir / "store" / "index.sqlite").c_str(), &db), SQLITE_OK);
  std::string sql =
      "INSERT INTO chunks(token,session_id,window_id,path,bytes,events,first_ts,last_ts,"
      "created_at) VALUES('phc_t','s-1','w-1','" +
      rel + "'," + std::to_string(json.size()) + "," + std::to_string(events) + "," +
      std::to_string(first_ts) + "," + std::to_string(last_ts) +
      ",1);"
      "INSERT INTO sessions(token,session_id,distinct_id,first_ts,last_ts,first_url,bytes,"
      "events,created_at,updated_at) VALUES('phc_t','s-1','d-1'," +
      std::to_string(first_ts) + "," + std::to_string(last_ts) + ",'https://x.test/v1'," +
      std::to_string(json.size()) + "," + std::to_string(events) + ",1,1);";
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(LocalStoreTest, V1PlainChunksAreReadBesideV2ZstdChunksWithoutMigration) {
  TempDir d;
  { ASSERT_TRUE(LocalStore::Open(d.path()).ok()); }  // an existing store: schema, no chunks
  const std::string v1_rel = "recordings/phc_t/s-1/w-1/0000000000001-000001.json";
  WriteV1Chunk(d.path(), v1_rel,
               R"([{"type":4,"data":{"href":"https://x.test/v1"},"timestamp":10},)"
               R"({"type":3,"data":{"v":"old"},"timestamp":30}])",
               2, 10, 30);
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  json::array b = json::parse(R"([{"type":3,"data":{"v":"new"},"timestamp":20},
                                 {"type":3,"data":{"v":"newer"},"timestamp":40}])")
                      .as_array();
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w-1", "d-1", &b}).ok());
  // On disk: the v1 file untouched, the new chunk a .json.zst zstd frame.
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(d.path() / "store" / "recordings"))
    if (e.is_regular_file()) files.push_back(e.path());
  ASSERT_EQ(files.size(), 2u);
  std::sort(files.begin(), files.end());
  EXPECT_EQ(fs::relative(files[0], d.path() / "store").string(), v1_rel);
  EXPECT_TRUE(files[1].string().ends_with(".json.zst")) << files[1];
  EXPECT_TRUE(LooksZstd(scrubd::testing::ReadFile(files[1])));
  // The export merges both, plain JSON, in timestamp order.
  auto out = (*store)->ExportSession("s-1", "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  json::array merged = json::parse(*out).as_array();
  ASSERT_EQ(merged.size(), 4u);
  for (size_t i = 0; i < merged.size(); ++i)
    EXPECT_EQ(merged[i].at("timestamp").as_int64(), static_cast<int64_t>(10 * (i + 1)));
  EXPECT_EQ(merged[1].at("data").at("v").as_string(), "new");
  EXPECT_EQ(merged[2].at("data").at("v").as_string(), "old");
  auto info = (*store)->GetSession("s-1", "phc_t");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->events, 4);
  EXPECT_EQ(info->last_ts, 40);
  EXPECT_EQ(info->first_url, "https://x.test/v1");
}

TEST(LocalStoreTest, AChunkWhoseBytesDisagreeWithItsNameIsCorruption) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  json::array a = json::parse(R"([{"type":3,"data":{},"timestamp":5}])").as_array();
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w", "", &a}).ok());
  for (const auto& e : fs::recursive_directory_iterator(d.path() / "store" / "recordings"))
    if (e.is_regular_file()) std::ofstream(e.path(), std::ios::binary) << json::serialize(a);
  EXPECT_EQ((*store)->ExportSession("s-1", "").status().code(), Code::kCorruption);
}

TEST(LocalStoreTest, PlainEncodingWritesV1ChunksOnRequest) {
  TempDir d;
  auto store = LocalStore::Open(d.path(), nullptr, {ChunkEncoding::kPlain});
  ASSERT_TRUE(store.ok());
  json::array a = json::parse(R"([{"type":3,"data":{},"timestamp":5}])").as_array();
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w", "", &a}).ok());
  for (const auto& e : fs::recursive_directory_iterator(d.path() / "store" / "recordings")) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(e.path().extension(), ".json") << e.path();
    EXPECT_EQ(scrubd::testing::ReadFile(e.path()), json::serialize(a));
  }
  EXPECT_EQ(json::parse(*(*store)->ExportSession("s-1", "")).as_array().size(), 1u);
}

TEST(LocalStoreTest, TheNeedleScanSeesInsideCompressedChunks) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  const std::string needle = "leaked.canary.zq@example.org";
  json::array a;
  for (int i = 0; i < 500; ++i)
    a.push_back(json::object{
        {"type", 3},
        {"data", json::object{{"text", i == 250 ? needle : "row " + std::to_string(i)}}},
        {"timestamp", 1000 + i}});
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-1", "w", "", &a}).ok());
  std::vector<fs::path> chunk_files;
  for (const auto& e : fs::recursive_directory_iterator(d.path() / "store" / "recordings"))
    if (e.is_regular_file()) chunk_files.push_back(e.path());
  ASSERT_EQ(chunk_files.size(), 1u);
  // The compressed bytes do not show the needle: only a decoding scan can find it.
  ASSERT_EQ(scrubd::testing::ReadFile(chunk_files[0]).find(needle), std::string::npos);
  std::vector<fs::path> hits;
  auto n = ScanForNeedles(d.path(), {needle}, &hits);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], chunk_files[0]);
  EXPECT_TRUE(scrubd::testing::AnyFileContains(d.path(), needle));  // the tests' own reader
  auto clean = ScanForNeedles(d.path(), {"absent.zq@example.org"});
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(*clean, 0u);
}

}  // namespace
}  // namespace scrubd::sink
