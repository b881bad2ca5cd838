#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <map>

#include "scrubd/common/fault_env.h"
#include "sink/local_store.h"
#include "sink/scan.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::testing::TempDir;

// The canary the subject's data carries in every field the store keeps; the other subject
// never has it.
constexpr char kCanary[] = "canary-subj-7f3a";

struct FileState {
  std::string bytes;
  ino_t ino = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileState&) const = default;
};

// Every regular file under `dir` except the SQLite files: content, inode and mtime, so a
// rewrite in place or a replace-by-rename both show.
std::map<std::string, FileState> Snapshot(const fs::path& dir) {
  std::map<std::string, FileState> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename().string().starts_with("index.sqlite")) continue;
    struct stat st {};
    ::stat(e.path().c_str(), &st);
    out[fs::relative(e.path(), dir).string()] = {
        scrubd::testing::ReadFile(e.path()), st.st_ino,
        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  }
  return out;
}

class LocalStoreEraseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LocalStore::Open(dir_.path(), &env_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    std::string c = kCanary;
    // The subject: two sessions (one with two windows) and a session-less event by uuid.
    Write("phc_t", "subj-s1", "w-1", "pid_" + c, "https://x.test/" + c);
    Write("phc_t", "subj-s1", "w-1", "pid_" + c, "https://x.test/" + c);
    Write("phc_t", "subj-s1", "w-2", "pid_" + c, "https://x.test/" + c);
    Write("phc_t", "subj-s2", "subj-s2", "pid_" + c, "https://x.test/" + c);
    // Others: another session of the same token, and the same session id under another token.
    Write("phc_t", "other-s", "w-1", "pid_other", "https://x.test/other");
    Write("phc_u", "subj-s1", "w-1", "pid_other", "https://x.test/other");
    ASSERT_TRUE(store_
                    ->WriteEvents({Event("phc_t", "subj-s1", "pid_" + c, "u-1"),
                                   Event("phc_t", "", "pid_" + c, "u-shared"),
                                   Event("phc_t", "other-s", "pid_other", "u-2"),
                                   Event("phc_u", "subj-s1", "pid_other", "u-shared")})
                    .ok());
  }

  void Write(const std::string& token, const std::string& session, const std::string& window,
             const std::string& distinct, const std::string& url) {
    json::array a;
    a.push_back(json::object{{"type", 4}, {"data", {{"href", url}}}, {"timestamp", 10}});
    a.push_back(json::object{{"type", 3}, {"data", {{"text", distinct}}}, {"timestamp", 20}});
    Status s = store_->WriteRecording({token, session, window, distinct, &a});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static StoredEvent Event(const std::string& token, const std::string& session,
                           const std::string& distinct, const std::string& uuid) {
    json::object body{{"event", "$pageview"},
                      {"uuid", uuid},
                      {"distinct_id", distinct},
                      {"properties", {{"$session_id", session}}}};
    return {
        token, session, distinct, uuid, "$pageview", "2026-01-01T00:00:00Z", json::serialize(body),
        ""};
  }

  std::vector<SessionKey> Subject() const { return {{"phc_t", "subj-s1"}, {"phc_t", "subj-s2"}}; }
  std::vector<std::pair<std::string, std::string>> Uuids() const {
    return {{"phc_t", "u-shared"}};  // phc_u has an event with that uuid too: it stays
  }
  fs::path Recordings() const { return dir_.path() / "store" / "recordings"; }

  TempDir dir_;
  FaultEnv env_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreEraseTest, EraseRemovesExactlyTheSubjectAndLeavesOthersByteIdentical) {
  std::map<std::string, FileState> before = Snapshot(Recordings());
  auto counts = store_->Erase(Subject(), Uuids());
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(counts->sessions, 2u);
  EXPECT_EQ(counts->chunks, 4u);
  EXPECT_EQ(counts->files, 4u);
  EXPECT_EQ(counts->events, 2u);  // the subj-s1 event and the session-less one by uuid
  EXPECT_GT(counts->chunk_bytes, 0u);
  EXPECT_FALSE(fs::exists(Recordings() / "phc_t" / "subj-s1"));
  EXPECT_FALSE(fs::exists(Recordings() / "phc_t" / "subj-s2"));
  // Everything else is there, unchanged, not even rewritten in place.
  std::map<std::string, FileState> after = Snapshot(Recordings());
  std::map<std::string, FileState> expected;
  for (auto& [path, state] : before)
    if (!path.starts_with("phc_t/subj-")) expected[path] = state;
  EXPECT_EQ(after.size(), 2u);
  EXPECT_TRUE(after == expected);
  EXPECT_TRUE(store_->ExportSession("other-s", "phc_t").ok());
  EXPECT_TRUE(store_->ExportSession("subj-s1", "phc_u").ok());
  EXPECT_EQ(store_->ExportSession("subj-s1", "phc_t").status().code(), Code::kNotFound);
  auto left = store_->EventsOf({{"phc_t", "other-s"}, {"phc_u", "subj-s1"}}, {});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 2u);
  // Clean by the index, on disk, and byte for byte: the deleted rows are zeroed and the WAL
  // truncated, so the canary (in the subject's urls, ids, uuids and bodies) is nowhere.
  auto residue = store_->Residue(Subject(), Uuids(), {std::string("pid_") + kCanary});
  ASSERT_TRUE(residue.ok());
  EXPECT_TRUE(residue->zero());
  auto scan = ScanForNeedles(dir_.path(), {kCanary, "subj-s2"});
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(*scan, 0u);
}

TEST_F(LocalStoreEraseTest, BeforeEraseTheScanAndResidueSeeTheSubject) {
  auto residue = store_->Residue(Subject(), Uuids(), {std::string("pid_") + kCanary});
  ASSERT_TRUE(residue.ok());
  EXPECT_EQ(residue->sessions, 2u);
  // 4 chunks rows, and the lifecycle rows (2) and facts (a URL each, one event name) of the
  // two sessions, counted with them.
  EXPECT_EQ(residue->chunks, 4u + 2u + 3u);
  EXPECT_EQ(residue->events, 2u);
  EXPECT_EQ(residue->files, 2u + 2u + 4u + 1u);  // 2 session dirs, 3 window dirs, 4 chunks
  auto scan = ScanForNeedles(dir_.path(), {kCanary});
  ASSERT_TRUE(scan.ok());
  EXPECT_GE(*scan, 5u);  // 4 chunk files and the index (or its WAL)
}

TEST_F(LocalStoreEraseTest, EraseIsIdempotent) {
  ASSERT_TRUE(store_->Erase(Subject(), Uuids()).ok());
  auto again = store_->Erase(Subject(), Uuids());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->zero());
  auto never = store_->Erase({{"phc_never", "never-s"}}, {{"phc_never", "u-none"}});
  ASSERT_TRUE(never.ok());
  EXPECT_TRUE(never->zero());
}

TEST_F(LocalStoreEraseTest, FaultMidEraseReturnsErrorAndARerunCompletes) {
  std::map<std::string, FileState> before = Snapshot(Recordings());
  // The second file removal under the subject's sessions fails, like a broken disk.
  env_.Arm({FaultOp::kRemove, FaultKind::kEio, "subj-s", 1, true});
  auto failed = store_->Erase(Subject(), Uuids());
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kIo);
  EXPECT_EQ(failed.status().message().find("subj"), std::string::npos);  // no path, no id
  // Rows went first: the index references no missing chunk, readers see no half session.
  EXPECT_EQ(store_->ExportSession("subj-s1", "phc_t").status().code(), Code::kNotFound);
  auto mid = store_->Residue(Subject(), Uuids(), {});
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->sessions + mid->chunks + mid->events, 0u);
  EXPECT_GT(mid->files, 0u);
  env_.Clear();
  auto rerun = store_->Erase(Subject(), Uuids());
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->sessions, 0u);  // counted by the first run
  EXPECT_GT(rerun->files, 0u);     // what the first run could not unlink
  auto residue = store_->Residue(Subject(), Uuids(), {});
  ASSERT_TRUE(residue.ok());
  EXPECT_TRUE(residue->zero());
  std::map<std::string, FileState> after = Snapshot(Recordings());
  for (auto& [path, state] : after) EXPECT_TRUE(before.at(path) == state) << path;
  EXPECT_EQ(after.size(), 2u);
}

TEST_F(LocalStoreEraseTest, FailedDirectoryFsyncIsAnErrorAndARerunSyncsAgain) {
  env_.Arm({FaultOp::kSync, FaultKind::kEio, "recordings/phc_t", 0, true});
  auto failed = store_->Erase(Subject(), Uuids());
  ASSERT_FALSE(failed.ok());
  uint64_t injected = env_.injected();
  env_.Clear();
  EXPECT_TRUE(store_->Erase(Subject(), Uuids()).ok());
  env_.Arm({FaultOp::kSync, FaultKind::kEio, "recordings/phc_t", 0, true});
  EXPECT_FALSE(store_->Erase(Subject(), Uuids()).ok());  // a rerun fsyncs the parent again
  EXPECT_GT(env_.injected(), injected);
}

TEST_F(LocalStoreEraseTest, EraseRejectsIdsThatAreNotPathComponents) {
  std::map<std::string, FileState> before = Snapshot(Recordings());
  const std::vector<std::vector<SessionKey>> bad = {
      {{"phc_t", ".."}},          {{"phc_t", "../phc_u/subj-s1"}},          {{"phc_t", ""}},
      {{"..", "subj-s1"}},        {{"phc_t/../phc_u", "subj-s1"}},          {{"", "subj-s1"}},
      {{"phc_t", "subj-s1/w-1"}}, {{"phc_t", std::string("subj-s1\0x", 9)}}};
  for (const auto& keys : bad) {
    auto r = store_->Erase(keys, {});
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
    EXPECT_EQ(store_->Residue(keys, {}, {}).status().code(), Code::kInvalidInput);
  }
  EXPECT_EQ(store_->Erase({}, {{"../phc_u", "u-2"}}).status().code(), Code::kInvalidInput);
  EXPECT_EQ(store_->Erase({}, {}, {{"", "pid_other"}}).status().code(), Code::kInvalidInput);
  EXPECT_TRUE(Snapshot(Recordings()) == before);
  auto s1 = store_->GetSession("subj-s1", "phc_t");
  EXPECT_TRUE(s1.ok());
}

TEST_F(LocalStoreEraseTest, EraseByDistinctIdTakesEventsTheIndexMissed) {
  auto counts = store_->Erase({}, {}, {{"phc_t", std::string("pid_") + kCanary}, {"phc_t", ""}});
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->events, 2u);
  auto other = store_->EventsOf({}, {"pid_other"});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), 2u);  // phc_t and phc_u rows of the other subject stay
}

TEST_F(LocalStoreEraseTest, SessionsOfAndEventsOfGiveTheBundleAsStored) {
  auto sessions = store_->SessionsOf({{"phc_t", "subj-s2"}, {"phc_t", "nope"}, Subject()[0]});
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[0].session_id, "subj-s2");
  EXPECT_EQ((*sessions)[1].session_id, "subj-s1");
  EXPECT_EQ((*sessions)[1].events, 6);
  EXPECT_EQ((*sessions)[1].first_url, std::string("https://x.test/") + kCanary);
  // By session, by distinct id and by uuid; each event once, in arrival order.
  auto events = store_->EventsOf(Subject(), {std::string("pid_") + kCanary}, Uuids());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].uuid, "u-1");
  EXPECT_EQ((*events)[1].uuid, "u-shared");
  EXPECT_NE((*events)[1].body.find(kCanary), std::string::npos);
  auto none = store_->EventsOf({{"phc_t", ""}}, {""});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(LocalStoreEraseTest, ReopenedStoreKeepsTheErasure) {
  ASSERT_TRUE(store_->Erase(Subject(), Uuids()).ok());
  store_.reset();
  auto s = LocalStore::Open(dir_.path(), &env_);
  ASSERT_TRUE(s.ok());
  auto residue = (*s)->Residue(Subject(), Uuids(), {std::string("pid_") + kCanary});
  ASSERT_TRUE(residue.ok());
  EXPECT_TRUE(residue->zero());
  EXPECT_TRUE((*s)->ExportSession("other-s", "phc_t").ok());
}

}  // namespace
}  // namespace scrubd::sink
