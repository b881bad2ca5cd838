// Format v3 of the local store: per-session redaction counts (written with the chunks, NULL
// for sessions stored before v3, bounded by rule) and the console's filtered session query.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <deque>

#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace json = boost::json;
using scrubd::testing::TempDir;

json::array Events(const std::string& href, int64_t t0, int64_t t1) {
  json::array a;
  a.push_back(json::object{{"type", 4}, {"data", json::object{{"href", href}}}, {"timestamp", t0}});
  a.push_back(json::object{{"type", 3}, {"data", json::object{}}, {"timestamp", t1}});
  return a;
}

void Exec(const std::filesystem::path& dir, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "store" / "index.sqlite").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(LocalStoreSessionsTest, ChunksAddTheirRedactionsToTheSessionRow) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  json::array a = Events("https://shop.test/a", 10, 20), b = Events("https://shop.test/b", 30, 40);
  std::map<std::string, uint64_t> ra{{"email", 2}, {"key:password", 1}}, rb{{"email", 3}};
  RecordingChunk ca{"phc_t", "s-1", "w-1", "d-1", &a, &ra};
  RecordingChunk cb{"phc_t", "s-1", "w-2", "d-1", &b, &rb};
  ASSERT_TRUE((*store)->WriteRecording(ca).ok());
  ASSERT_TRUE((*store)->WriteRecording(cb).ok());
  json::array c = Events("https://shop.test/c", 50, 60);
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s-2", "w", "d-2", &c}).ok());  // none
  auto s1 = (*store)->GetSession("s-1", "phc_t");
  ASSERT_TRUE(s1.ok());
  ASSERT_TRUE(s1->redactions.has_value());
  EXPECT_EQ(*s1->redactions, 6);
  EXPECT_EQ(s1->redactions_by_rule,
            (std::map<std::string, int64_t>{{"email", 5}, {"key:password", 1}}));
  auto s2 = (*store)->GetSession("s-2", "phc_t");
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->redactions, std::optional<int64_t>(0));
  EXPECT_TRUE(s2->redactions_by_rule.empty());
}

TEST(LocalStoreSessionsTest, ByRuleCountsAreBoundedPerSession) {
  TempDir d;
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok());
  std::map<std::string, uint64_t> many;
  for (int i = 0; i < 70; ++i) many["rule_" + std::to_string(100 + i)] = 1;
  many[std::string(kMaxRuleIdBytes + 1, 'x')] = 4;  // too long an id: counted as other
  json::array a = Events("https://shop.test/", 1, 2);
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "s", "w", "", &a, &many}).ok());
  auto s = (*store)->GetSession("s", "phc_t");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s->redactions, 74);
  EXPECT_EQ(s->redactions_by_rule.size(), kMaxRulesPerSession + 1);
  int64_t sum = 0;
  for (const auto& [k, v] : s->redactions_by_rule) sum += v;
  EXPECT_EQ(sum, 74);  // nothing lost, only folded
  EXPECT_EQ(s->redactions_by_rule.at(std::string(kOtherRules)),
            4 + 70 - int64_t{kMaxRulesPerSession});
}

// A v2 store (no redaction columns) opens as v3: its sessions say "not counted" (null), also
// after they get more chunks; new sessions are counted.
TEST(LocalStoreSessionsTest, MigratesAVersion2StoreWithoutInventingZeros) {
  TempDir d;
  json::array a = Events("https://shop.test/old", 1, 2);
  {
    auto store = LocalStore::Open(d.path());
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->WriteRecording({"phc_t", "old", "w", "", &a}).ok());
  }
  Exec(d.path(),
       "ALTER TABLE sessions DROP COLUMN redactions; ALTER TABLE sessions DROP COLUMN "
       "redactions_by_rule; PRAGMA user_version=2;");
  auto store = LocalStore::Open(d.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::map<std::string, uint64_t> r{{"email", 1}};
  json::array b = Events("https://shop.test/old2", 3, 4), c = Events("https://shop.test/new", 5, 6);
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "old", "w", "", &b, &r}).ok());
  ASSERT_TRUE((*store)->WriteRecording({"phc_t", "new", "w", "", &c, &r}).ok());
  auto old = (*store)->GetSession("old", "phc_t");
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->redactions.has_value());
  EXPECT_EQ(old->events, 4);
  EXPECT_EQ((*store)->GetSession("new", "phc_t")->redactions, std::optional<int64_t>(1));
  SessionQuery clean;
  clean.redacted = false;
  auto page = (*store)->QuerySessions(clean);  // "not counted" is neither clean nor redacted
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 0);
}

TEST(LocalStoreSessionsTest, RefusesAStoreOfANewerFormat) {
  TempDir d;
  { ASSERT_TRUE(LocalStore::Open(d.path()).ok()); }
  Exec(d.path(), "PRAGMA user_version=4;");
  auto store = LocalStore::Open(d.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInvalidConfig);
}

class SessionQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    // s-a: phc_a, 1000..2000, visits /checkout then /thanks, 2 redactions.
    Write("phc_a", "s-a", Events("https://shop.test/checkout", 1000, 1500), {{"email", 2}});
    Write("phc_a", "s-a", Events("https://shop.test/thanks", 1600, 2000), {});
    Write("phc_a", "s-b", Events("https://shop.test/home", 5000, 6000), {});
    Write("phc_b", "s-c", Events("https://blog.test/post", 9000, 9500), {{"phone", 1}});
  }
  void Write(const char* token, const char* id, json::array events,
             std::map<std::string, uint64_t> r) {
    kept_.push_back(std::move(events));
    rules_.push_back(std::move(r));
    ASSERT_TRUE(store_->WriteRecording({token, id, "w", "", &kept_.back(), &rules_.back()}).ok());
  }
  std::vector<std::string> Ids(const SessionQuery& q, int64_t* total = nullptr) {
    auto page = store_->QuerySessions(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<std::string> ids;
    if (!page.ok()) return ids;
    for (const auto& s : page->sessions) ids.push_back(s.session_id);
    if (total) *total = page->total;
    return ids;
  }
  TempDir dir_;
  std::unique_ptr<LocalStore> store_;
  std::deque<json::array> kept_;
  std::deque<std::map<std::string, uint64_t>> rules_;
};

TEST_F(SessionQueryTest, FiltersByTokenTimeUrlAndRedactions) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Ids({}), (V{"s-c", "s-b", "s-a"}));  // newest first
  SessionQuery q;
  q.token = "phc_a";
  EXPECT_EQ(Ids(q), (V{"s-b", "s-a"}));
  q = {};
  q.from_ms = 1900;  // s-a ends at 2000: it overlaps
  q.to_ms = 5000;
  EXPECT_EQ(Ids(q), (V{"s-b", "s-a"}));
  q.from_ms = 2001;
  EXPECT_EQ(Ids(q), (V{"s-b"}));
  q = {};
  q.url = "/thanks";  // not its first URL: a later page of the session
  EXPECT_EQ(Ids(q), (V{"s-a"}));
  q.url = "shop.test";
  EXPECT_EQ(Ids(q), (V{"s-b", "s-a"}));
  q.url = "%";  // no wildcard: a literal substring
  EXPECT_EQ(Ids(q), V{});
  q = {};
  q.redacted = true;
  EXPECT_EQ(Ids(q), (V{"s-c", "s-a"}));
  q.redacted = false;
  EXPECT_EQ(Ids(q), (V{"s-b"}));
}

TEST_F(SessionQueryTest, PagesCountEveryMatch) {
  SessionQuery q;
  q.limit = 2;
  int64_t total = 0;
  EXPECT_EQ(Ids(q, &total), (std::vector<std::string>{"s-c", "s-b"}));
  EXPECT_EQ(total, 3);
  q.offset = 2;
  EXPECT_EQ(Ids(q, &total), (std::vector<std::string>{"s-a"}));
  EXPECT_EQ(total, 3);
  q.offset = 3;
  EXPECT_TRUE(Ids(q, &total).empty());
  EXPECT_EQ(total, 3);
}

}  // namespace
}  // namespace scrubd::sink
