// The SQLite subject store: linking (identify, alias, email, sha256), no over-erasure,
// idempotent recording, forgetting, tombstones and requests across reopen, permissions, the
// canary scan of every file, and a 100k-node resolve.
#include "subjects/sqlite_subject_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "ingest/decode.h"
#include "subjects/facts.h"
#include "support/fixtures.h"

namespace scrubd::subjects {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr char kMaster[] = "subjects-master-key-0123456789ab";
constexpr char kToken[] = "phc_subjects";
constexpr char kAnon[] = "01a20355-1c26-7bcc-9c69-edbf0328ba49";
constexpr char kS1[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kS2[] = "01a20355-2222-723a-837c-2bcc756c76c4";
constexpr char kEmail[] = "Canary.Subject@Example.com";

// A clock tests set; everything else goes to the default Env.
class ClockEnv : public EnvWrapper {
 public:
  ClockEnv() : EnvWrapper(Env::Default()) {}
  uint64_t NowMicros() override { return now_ms.load() * 1000; }
  std::atomic<int64_t> now_ms{1'800'000'000'000};
};

// A posthog-js event of kToken: properties as given plus session and uuid.
EventFacts Event(const std::string& name, json::object props, const std::string& uuid,
                 const std::string& session = kS1, json::object top = {}) {
  ingest::Event ev;
  props["$session_id"] = session;
  props["token"] = kToken;
  top["event"] = name;
  top["uuid"] = uuid;
  top["properties"] = std::move(props);
  ev.json = std::move(top);
  ev.token = kToken;
  ev.name = name;
  ev.session_id = session;
  ev.is_snapshot = name == "$snapshot";
  return FactsOf(ev, kMaster);
}

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "01a20355-0000-7000-8000-%012d", n);
  return buf;
}

// An anonymous visit, identify(kEmail), an identified event and a recording chunk.
BatchFacts IdentifyFlow() {
  BatchFacts b;
  b.events.push_back(Event("$pageview", {{"distinct_id", kAnon}, {"$device_id", kAnon}}, Uuid(1)));
  b.events.push_back(Event("$snapshot", {{"distinct_id", kAnon}}, Uuid(2)));
  b.events.push_back(Event(
      "$identify", {{"distinct_id", kEmail}, {"$anon_distinct_id", kAnon}, {"$device_id", kAnon}},
      Uuid(3), kS1, {{"$set", {{"email", kEmail}}}}));
  b.events.push_back(
      Event("checkout", {{"distinct_id", kEmail}, {"$device_id", kAnon}}, Uuid(4), kS2));
  b.spool_seq = 17;
  return b;
}

::testing::AssertionResult Ok(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

class SubjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen(SqliteSubjectStoreOptions options = {}) {
    store_.reset();
    auto s = OpenSqliteSubjectStore(dir_.path(), &env_, options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // Resolves the raw-format seed of `type`.
  Subject ResolveRaw(std::string_view type, std::string_view value,
                     std::string_view format = "raw") {
    std::vector<std::pair<std::string, std::string>> seeds;
    for (const NodeFact& n : SeedNodes(kMaster, kToken, type, value, format))
      seeds.emplace_back(kToken, n.node);
    EXPECT_FALSE(seeds.empty());
    Result<Subject> s = store_->Resolve(seeds);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : Subject{};
  }
  int64_t Count(const char* table) {
    sqlite3* db = nullptr;
    std::string file = (dir_.path() / "subjects" / "subjects.sqlite").string();
    EXPECT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    std::string sql = std::string("SELECT COUNT(*) FROM ") + table;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr);
    int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
  }

  testing::TempDir dir_;
  ClockEnv env_;
  std::unique_ptr<SubjectStore> store_;
};

TEST_F(SubjectStoreTest, IdentifyLinksAnonymousAndIdentified) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  for (Subject s : {ResolveRaw("email", kEmail), ResolveRaw("distinct_id", kAnon),
                    ResolveRaw("email", " canary.subject@EXAMPLE.com ")}) {
    ASSERT_EQ(s.parts.size(), 1u);
    const Subject::Part& p = s.parts[0];
    EXPECT_EQ(p.token, kToken);
    EXPECT_EQ(p.sessions, (std::vector<std::string>{kS1, kS2}));
    EXPECT_EQ(p.event_uuids, (std::vector<std::string>{Uuid(1), Uuid(3), Uuid(4)}))
        << "a recording's uuid is not kept, its session is";
    EXPECT_EQ(p.spool_seqs, (std::vector<uint64_t>{17}));
    EXPECT_FALSE(s.empty());
  }
  Result<std::vector<std::string>> tokens = store_->Tokens();
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ(*tokens, std::vector<std::string>{kToken});
}

TEST_F(SubjectStoreTest, AliasAndMergeDangerouslyJoinTheSubject) {
  BatchFacts b;
  b.events.push_back(Event("$pageview", {{"distinct_id", "legacy-7"}}, Uuid(10), kS1));
  b.events.push_back(Event("$pageview", {{"distinct_id", "other-9"}}, Uuid(11), kS2));
  b.events.push_back(
      Event("$create_alias", {{"distinct_id", "user-1"}, {"alias", "legacy-7"}}, Uuid(12), kS1));
  b.events.push_back(Event("$merge_dangerously", {{"distinct_id", "user-1"}, {"alias", "other-9"}},
                           Uuid(13), kS1));
  ASSERT_TRUE(store_->Record(b).ok());
  Subject s = ResolveRaw("distinct_id", "other-9");
  ASSERT_EQ(s.parts.size(), 1u);
  EXPECT_EQ(s.parts[0].event_uuids,
            (std::vector<std::string>{Uuid(10), Uuid(11), Uuid(12), Uuid(13)}));
  EXPECT_EQ(s.parts[0].sessions, (std::vector<std::string>{kS1, kS2}));
}

TEST_F(SubjectStoreTest, EmailInSetAndSha256FormatFindTheSubject) {
  BatchFacts b;
  b.events.push_back(Event("$set",
                           {{"distinct_id", "user-42"}, {"$set", {{"Email", " Bob@Example.COM"}}}},
                           Uuid(20), kS1));
  b.events.push_back(Event("$pageview", {{"distinct_id", "user-42"}}, Uuid(21), kS2));
  ASSERT_TRUE(store_->Record(b).ok());
  std::vector<Subject> found = {ResolveRaw("email", "bob@example.com"),
                                ResolveRaw("email", Sha256Hex("bob@example.com"), "sha256"),
                                ResolveRaw("distinct_id", Sha256Hex("user-42"), "sha256")};
  for (const Subject& s : found) {
    ASSERT_EQ(s.parts.size(), 1u);
    EXPECT_EQ(s.parts[0].event_uuids, (std::vector<std::string>{Uuid(20), Uuid(21)}));
  }
}

// Two people on one browser: posthog-js reset() keeps $device_id, so B's events carry A's
// anonymous id as device. Neither subject may take the other's data.
TEST_F(SubjectStoreTest, UnrelatedPersonsStaySeparateEvenOnASharedDevice) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  const char* kS3 = "01a20355-3333-723a-837c-2bcc756c76c4";
  BatchFacts b;
  b.events.push_back(
      Event("$pageview", {{"distinct_id", "anon-b"}, {"$device_id", kAnon}}, Uuid(30), kS3));
  b.events.push_back(
      Event("$identify",
            {{"distinct_id", "bob-id"}, {"$anon_distinct_id", "anon-b"}, {"$device_id", kAnon}},
            Uuid(31), kS3));
  b.events.push_back(Event("$pageview", {{"distinct_id", "carol"}}, Uuid(32),
                           "01a20355-4444-7000-8000-000000000000"));
  ASSERT_TRUE(store_->Record(b).ok());
  Subject a = ResolveRaw("email", kEmail);
  ASSERT_EQ(a.parts.size(), 1u);
  EXPECT_EQ(a.parts[0].sessions, (std::vector<std::string>{kS1, kS2}));
  EXPECT_EQ(a.parts[0].event_uuids, (std::vector<std::string>{Uuid(1), Uuid(3), Uuid(4)}));
  Subject bob = ResolveRaw("distinct_id", "bob-id");
  ASSERT_EQ(bob.parts.size(), 1u);
  EXPECT_EQ(bob.parts[0].sessions, std::vector<std::string>{kS3});
  EXPECT_EQ(bob.parts[0].event_uuids, (std::vector<std::string>{Uuid(30), Uuid(31)}));
  // Erasing A leaves B's index rows, and A's tombstones do not suppress B's next event.
  ASSERT_TRUE(store_->ForgetSubject(a).ok());
  EXPECT_EQ(ResolveRaw("distinct_id", "bob-id").parts[0].event_uuids.size(), 2u);
  std::vector<Tombstone> t;
  for (const NodeFact& n : a.parts[0].nodes)
    t.push_back({kToken, n.node, "req-a", env_.now_ms + 1000});
  ASSERT_TRUE(store_->AddTombstones(t).ok());
  EventFacts next_b =
      Event("$pageview", {{"distinct_id", "bob-id"}, {"$device_id", kAnon}}, Uuid(33), kS3);
  EXPECT_FALSE(IsSuppressed(*store_, next_b));
  EventFacts next_a =
      Event("$pageview", {{"distinct_id", kAnon}, {"$device_id", kAnon}}, Uuid(34), kS3);
  EXPECT_TRUE(IsSuppressed(*store_, next_a));
}

TEST_F(SubjectStoreTest, SameIdInTwoProjectsIsTwoSubjectsAndEmptyTokenSeedsEveryProject) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  BatchFacts other = IdentifyFlow();
  for (EventFacts& e : other.events) e.token = "phc_other";
  ASSERT_TRUE(store_->Record(other).ok());
  EXPECT_EQ(ResolveRaw("email", kEmail).parts.size(), 1u);
  Result<Subject> both = store_->Resolve({{"", std::string("s:") + kS2}});
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->parts.size(), 2u);
  EXPECT_EQ(both->parts[0].token, "phc_other");
  EXPECT_EQ(both->parts[1].token, kToken);
}

TEST_F(SubjectStoreTest, UnknownSeedIsUnseenAndEmpty) {
  Result<Subject> s = store_->Resolve({{kToken, "i:pid_nothing"}});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->parts.size(), 1u);
  EXPECT_EQ(s->parts[0].nodes[0].kind, kKindUnseen);
  EXPECT_TRUE(s->empty());
  Result<Subject> none = store_->Resolve({{"", "i:pid_nothing"}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->parts.empty());
}

TEST_F(SubjectStoreTest, RecordIsIdempotent) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  const int64_t nodes = Count("nodes"), edges = Count("edges"), occ = Count("occurrences");
  EXPECT_GT(nodes, 0);
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  EXPECT_EQ(Count("nodes"), nodes);
  EXPECT_EQ(Count("edges"), edges);
  EXPECT_EQ(Count("occurrences"), occ);
}

TEST_F(SubjectStoreTest, ForgetDropsTheComponentAndItsBytesButNotTombstones) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  BatchFacts other;
  other.events.push_back(Event("$pageview", {{"distinct_id", "carol"}}, Uuid(40),
                               "01a20355-5555-7000-8000-000000000000"));
  ASSERT_TRUE(store_->Record(other).ok());
  Subject s = ResolveRaw("email", kEmail);
  ASSERT_TRUE(
      store_->AddTombstones({{kToken, std::string("s:") + kS1, "req-1", env_.now_ms + 5000}}).ok());
  ASSERT_TRUE(store_->ForgetSubject(s).ok());
  ASSERT_TRUE(store_->ForgetSubject(s).ok()) << "idempotent";
  EXPECT_TRUE(ResolveRaw("email", kEmail).empty());
  EXPECT_EQ(ResolveRaw("distinct_id", "carol").parts[0].event_uuids,
            std::vector<std::string>{Uuid(40)});
  EXPECT_TRUE(store_->IsTombstoned(kToken, std::string("s:") + kS1));
  // The erased session ids are gone from every byte under DATA_DIR/subjects (secure_delete,
  // WAL truncated), and the tombstone keeps only a hash of the session.
  EXPECT_FALSE(testing::AnyFileContains(dir_.path() / "subjects", kS1));
  EXPECT_FALSE(testing::AnyFileContains(dir_.path() / "subjects", kS2));
  EXPECT_TRUE(testing::AnyFileContains(dir_.path() / "subjects", "01a20355-5555"));
}

TEST_F(SubjectStoreTest, TombstonesSurviveReopenAndExpire) {
  const int64_t now = env_.now_ms;
  ASSERT_TRUE(store_
                  ->AddTombstones({{kToken, "i:pid_a", "r1", now + 1000},
                                   {kToken, "i:pid_b", "r1", now + 5000},
                                   {"phc_other", "i:pid_a", "r2", now + 1000}})
                  .ok());
  ASSERT_TRUE(store_->AddTombstones({{kToken, "i:pid_a", "r3", now + 500}}).ok());  // keeps later
  Reopen();
  EXPECT_TRUE(store_->IsTombstoned(kToken, "i:pid_a"));
  EXPECT_TRUE(store_->IsTombstoned(kToken, "i:pid_b"));
  EXPECT_FALSE(store_->IsTombstoned(kToken, "i:pid_c"));
  EXPECT_FALSE(store_->IsTombstoned("phc_third", "i:pid_a"));
  env_.now_ms = now + 1000;  // an expiry is exclusive: gone at expires_ms
  EXPECT_FALSE(store_->IsTombstoned(kToken, "i:pid_a"));
  EXPECT_TRUE(store_->IsTombstoned(kToken, "i:pid_b"));
  Result<uint64_t> removed = store_->ExpireTombstones(now + 1000);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 2u);
  Reopen();
  env_.now_ms = now;
  EXPECT_FALSE(store_->IsTombstoned(kToken, "i:pid_a")) << "expired rows are gone on disk";
  EXPECT_TRUE(store_->IsTombstoned(kToken, "i:pid_b"));
}

TEST_F(SubjectStoreTest, TombstoneChecksRunBesideWrites) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0};
  std::thread reader([&] {
    while (!stop) {
      (void)store_->IsTombstoned(kToken, "i:pid_x");
      ++checks;
    }
  });
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(
        store_->AddTombstones({{kToken, "i:pid_" + std::to_string(i), "r", env_.now_ms + 1}}).ok());
  stop = true;
  reader.join();
  EXPECT_GT(checks.load(), 0u);
  EXPECT_TRUE(store_->IsTombstoned(kToken, "i:pid_199"));
}

RequestRecord MakeRequest(const std::string& id, const std::string& status, int64_t received) {
  RequestRecord r;
  r.id = id;
  r.type = "erasure";
  r.regulation = "gdpr";
  r.status = status;
  r.submitted_ms = received - 5;
  r.received_ms = received;
  r.expected_ms = received + 86'400'000;
  r.updated_ms = received + 1;
  r.seeds = {"i:pid_aaaa", "h:pid_bbbb", "s:\"quoted\\\n\x01"};
  r.tokens = {kToken, "phc_\xc3\xa9"};
  r.callback_urls = {"https://cb.example/a?x=1&y=\"2\"", ""};
  r.result_json = R"({"counts":{"sessions":2},"note":"\u0000"})";
  r.reason = "user asked; 'quotes' \"double\" -- ;DROP TABLE requests;";
  return r;
}

void ExpectSame(const RequestRecord& a, const RequestRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.regulation, b.regulation);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.submitted_ms, b.submitted_ms);
  EXPECT_EQ(a.received_ms, b.received_ms);
  EXPECT_EQ(a.expected_ms, b.expected_ms);
  EXPECT_EQ(a.updated_ms, b.updated_ms);
  EXPECT_EQ(a.seeds, b.seeds);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.callback_urls, b.callback_urls);
  EXPECT_EQ(a.result_json, b.result_json);
  EXPECT_EQ(a.reason, b.reason);
}

TEST_F(SubjectStoreTest, RequestsRoundTripAcrossReopen) {
  std::vector<RequestRecord> rs = {
      MakeRequest("r-b", "in_progress", 200), MakeRequest("r-a", "pending", 100),
      MakeRequest("r-c", "completed", 50), MakeRequest("r-d", "deferred", 300)};
  for (const RequestRecord& r : rs) ASSERT_TRUE(store_->PutRequest(r).ok());
  Reopen();
  for (const RequestRecord& r : rs) {
    auto got = store_->GetRequest(r.id);
    ASSERT_TRUE(got.ok() && got->has_value()) << r.id;
    ExpectSame(**got, r);
  }
  auto missing = store_->GetRequest("r-zzz");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto open = store_->Unfinished();
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 3u);
  EXPECT_EQ((*open)[0].id, "r-a");
  EXPECT_EQ((*open)[1].id, "r-b");
  EXPECT_EQ((*open)[2].id, "r-d");
  RequestRecord done = rs[0];
  done.status = "completed";
  done.seeds.clear();
  ASSERT_TRUE(store_->PutRequest(done).ok());  // replace
  Reopen();
  ExpectSame(**store_->GetRequest("r-b"), done);
  EXPECT_EQ(store_->Unfinished()->size(), 2u);
}

TEST_F(SubjectStoreTest, DirectoryAndFilesAreOwnerOnlyInWalMode) {
  ASSERT_TRUE(Ok(store_->Record(IdentifyFlow())));
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "subjects").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_.path() / "subjects")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path().filename();
    ++files;
  }
  EXPECT_GE(files, 2) << "database and its -wal";
  EXPECT_TRUE(fs::exists(dir_.path() / "subjects" / "subjects.sqlite-wal"));
}

// Adversarial: canaries in every identifier position reach the index only as pseudonyms.
// Checked while the WAL holds the writes and again after a checkpoint on close.
TEST_F(SubjectStoreTest, RawIdentifiersAreAbsentFromEveryFile) {
  const std::string id = "canary-distinct-Zq81";
  BatchFacts b;
  b.events.push_back(Event("$identify",
                           {{"distinct_id", kEmail},
                            {"$anon_distinct_id", id},
                            {"$device_id", id + "-dev"},
                            {"$user_id", id + "-user"},
                            {"$set", {{"email", "set." + std::string(kEmail)}}},
                            {"$set_once", {{"e-mail", "once." + std::string(kEmail)}}}},
                           Uuid(50), kS1, {{"$set", {{"email", "top." + std::string(kEmail)}}}}));
  b.events.push_back(
      Event("$create_alias", {{"distinct_id", id}, {"alias", id + "-alias"}}, Uuid(51)));
  ASSERT_TRUE(store_->Record(b).ok());
  const std::vector<std::string> needles = {
      kEmail, NormaliseEmail(kEmail), id, "Zq81", "zq81", "Canary.Subject", "canary.subject"};
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_GT(fs::file_size(dir_.path() / "subjects" / "subjects.sqlite-wal") + pass, 0u);
    for (const std::string& n : needles)
      EXPECT_FALSE(testing::AnyFileContains(dir_.path() / "subjects", n)) << n << " pass " << pass;
    store_.reset();  // close: checkpoint into the database file
    Reopen();
  }
  EXPECT_EQ(ResolveRaw("distinct_id", id + "-alias").parts[0].event_uuids.size(), 2u);
}

TEST_F(SubjectStoreTest, ResolvesAComponentOf100kNodes) {
  constexpr int kNodes = 100'000;
  for (int start = 0; start < kNodes; start += 10'000) {
    BatchFacts b;
    for (int i = start; i < start + 10'000 && i + 1 < kNodes; ++i) {
      EventFacts e;
      e.token = kToken;
      e.uuid = Uuid(i);
      e.nodes = {{"i:n" + std::to_string(i), "distinct_id", {}},
                 {"i:n" + std::to_string(i + 1), "distinct_id", {}}};
      b.events.push_back(std::move(e));
    }
    ASSERT_TRUE(store_->Record(b).ok());
  }
  auto t0 = std::chrono::steady_clock::now();
  Result<Subject> s = store_->Resolve({{kToken, "i:n50000"}});  // a chain: the deepest walk
  std::printf("resolve of %d nodes: %lld ms\n", kNodes,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->parts.size(), 1u);
  EXPECT_EQ(s->parts[0].nodes.size(), static_cast<size_t>(kNodes));
  EXPECT_EQ(s->parts[0].event_uuids.size(), static_cast<size_t>(kNodes - 1));
  Reopen({.max_component_nodes = 1000});
  Result<Subject> capped = store_->Resolve({{kToken, "i:n0"}});
  EXPECT_EQ(capped.status().code(), Code::kTooLarge);
}

// The real posthog-js traffic, through FactsOf and Record, resolves by its distinct id.
TEST_F(SubjectStoreTest, FixtureTrafficResolvesByItsDistinctId) {
  BatchFacts b;
  for (const char* name : {"0000", "0008", "0009", "0010", "0011"}) {
    std::string body = testing::Fixture(std::string(name) + ".body");
    ingest::Endpoint ep =
        std::string(name) == "0008" ? ingest::Endpoint::kRecording : ingest::Endpoint::kEvents;
    Result<ingest::Batch> batch = ingest::DecodeBatch(ep, {body, "text/plain", ""}, {});
    ASSERT_TRUE(batch.ok()) << name << ": " << batch.status().ToString();
    for (const ingest::Event& ev : batch->events) b.events.push_back(FactsOf(ev, kMaster));
  }
  ASSERT_TRUE(Ok(store_->Record(b)));
  std::vector<NodeFact> seeds = SeedNodes(kMaster, "phc_testkey123", "distinct_id", kAnon, "raw");
  ASSERT_EQ(seeds.size(), 1u);
  Result<Subject> s = store_->Resolve({{"phc_testkey123", seeds[0].node}});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->parts.size(), 1u);
  EXPECT_EQ(s->parts[0].sessions, std::vector<std::string>{kS1});
  EXPECT_EQ(s->parts[0].event_uuids.size(), 6u);  // 2 $pageview, 2 $web_vitals, custom, leave
  EXPECT_TRUE(std::count(s->parts[0].event_uuids.begin(), s->parts[0].event_uuids.end(),
                         "01a20355-1c3b-7e32-8005-5c936b66d610"));
}

// An SQL failure is a value naming the step, never an id.
TEST_F(SubjectStoreTest, SqlFailureNamesTheStepNotTheIds) {
  sqlite3* db = nullptr;
  std::string file = (dir_.path() / "subjects" / "subjects.sqlite").string();
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE occurrences", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Status st = store_->Record(IdentifyFlow());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kIo);
  EXPECT_NE(st.message().find("record"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("pid_"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(kS1), std::string::npos) << st.message();
  // The failed batch left nothing: the transaction rolled back.
  EXPECT_TRUE(ResolveRaw("distinct_id", kAnon).empty());
}

TEST_F(SubjectStoreTest, NewerFormatIsRefused) {
  store_.reset();
  sqlite3* db = nullptr;
  std::string file = (dir_.path() / "subjects" / "subjects.sqlite").string();
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=9", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = OpenSqliteSubjectStore(dir_.path(), &env_);
  EXPECT_EQ(s.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace scrubd::subjects
