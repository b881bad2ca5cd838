// The ingest pipeline's seams for the subjects module (IngestHooks, the erasure lock) and the
// BatchSink fan-out, through App::Handle without sockets.
#include "server/ingest_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "dom/dom_masker.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";

class FakeHooks : public IngestHooks {
 public:
  // Remembers whether the event still held the planted value when the hook saw it.
  struct Note : IngestNote {
    bool planted = false;
  };
  std::unique_ptr<IngestNote> Admit(const ingest::Event& ev, bool* tombstoned) override {
    checked++;
    *tombstoned = ev.session_id == tombstoned_session;
    auto note = std::make_unique<Note>();
    note->planted = json::serialize(ev.json).find("jane.doe@example.com") != std::string::npos;
    return note;
  }
  Status OnStored(const StoredBatch& b) override {
    stored_calls++;
    stored_notes = b.notes.size();
    for (const auto& n : b.notes)
      if (n && static_cast<const Note&>(*n).planted) note_saw_planted = true;
    spool_seqs = b.spool_seqs.size();
    if (lock) {  // another thread cannot take the erasure lock exclusively meanwhile
      std::shared_mutex* m = lock;
      lock_free_during_store = std::async(std::launch::async, [m] {
                                 bool got = m->try_lock();
                                 if (got) m->unlock();
                                 return got;
                               }).get();
    }
    return Status::Ok();
  }
  std::string tombstoned_session;
  std::shared_mutex* lock = nullptr;
  std::atomic<int> checked{0}, stored_calls{0};
  size_t stored_notes = 0, spool_seqs = 0;
  bool note_saw_planted = false, lock_free_during_store = true;
};

class IngestHooksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir_.path());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    auto st = dom::StateStore::Open(o);
    ASSERT_TRUE(st.ok());
    state_ = std::move(st).value();
    auto log = audit::Log::Open(dir_.path() / "audit", {});
    ASSERT_TRUE(log.ok());
    log_ = std::move(log).value();
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ = std::make_unique<App>(cfg, *set, store_.get(), state_.get(), log_.get());
    app_->SetIngestHooks(&hooks_, &lock_);
    hooks_.lock = &lock_;
  }

  HttpResponse PostSnapshot() {
    HttpRequest r;
    r.method = "POST";
    r.target = "/s/";
    r.body = Fixture("0008.body");
    r.headers["content-type"] = "text/plain";
    return app_->Handle(r);
  }

  TempDir dir_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::shared_mutex lock_;
  FakeHooks hooks_;
  std::unique_ptr<App> app_;
};

TEST_F(IngestHooksTest, TombstonedEventsAreAnswered200DroppedAndCounted) {
  hooks_.tombstoned_session = kSession;
  HttpResponse r = PostSnapshot();
  EXPECT_EQ(r.status, 200u) << r.body;  // the client must not retry
  EXPECT_FALSE(store_->ExportSession(kSession, "").ok());
  EXPECT_GT(hooks_.checked.load(), 0);
  EXPECT_EQ(hooks_.stored_calls.load(), 0);
  EXPECT_GT(app_->metrics().events_dropped.load(), 0u);
  EXPECT_EQ(app_->metrics().events_stored.load(), 0u);
  HttpRequest m;
  m.method = "GET";
  m.target = "/metrics";
  EXPECT_NE(
      app_->Handle(m).body.find("scrubd_events_dropped_by_reason_total{reason=\"tombstone\"}"),
      std::string::npos);
  ASSERT_TRUE(log_->Close().ok());
  EXPECT_TRUE(AnyFileContains(dir_.path() / "audit", "\"tombstone\":"));
}

TEST_F(IngestHooksTest, AdmitSeesEventsBeforeScrubbingAndOnStoredGetsTheirNotes) {
  ASSERT_EQ(PostSnapshot().status, 200u);
  EXPECT_TRUE(store_->ExportSession(kSession, "").ok());
  EXPECT_EQ(hooks_.stored_calls.load(), 1);
  EXPECT_GT(hooks_.stored_notes, 0u);
  EXPECT_TRUE(hooks_.note_saw_planted);  // before scrubbing: in memory only
  EXPECT_FALSE(AnyFileContains(dir_.path(), "jane.doe@example.com"));
  EXPECT_EQ(hooks_.spool_seqs, 0u);  // local store only
  EXPECT_FALSE(hooks_.lock_free_during_store);
}

TEST_F(IngestHooksTest, AnExclusiveEraserHoldsIngestBackUntilItReleases) {
  lock_.lock();
  std::atomic<bool> done{false};
  std::thread t([&] {
    PostSnapshot();
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(done.load());
  EXPECT_EQ(hooks_.checked.load(), 0);  // not even admitted yet
  lock_.unlock();
  t.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(hooks_.stored_calls.load(), 1);
}

// Records what it was given; fails when told to.
class FakeSink : public BatchSink {
 public:
  FakeSink(std::vector<std::string>* calls, std::string name, bool fail, uint64_t seq)
      : calls_(calls), name_(std::move(name)), fail_(fail), seq_(seq) {}
  Result<SinkResult> Write(const CleanBatch& b) override {
    calls_->push_back(name_);
    if (fail_) return Status::Io("write failed");
    SinkResult r{b.Count(), {}};
    if (seq_) r.spool_seqs.push_back(seq_);
    return r;
  }

 private:
  std::vector<std::string>* calls_;
  std::string name_;
  bool fail_;
  uint64_t seq_;
};

TEST(BatchSinkTest, BothWritesFirstThenSecondAndStopsAtTheFirstFailure) {
  std::vector<std::string> calls;
  CleanBatch empty;
  BothSink ok(std::make_unique<FakeSink>(&calls, "spool", false, 7),
              std::make_unique<FakeSink>(&calls, "store", false, 0));
  Result<SinkResult> r = ok.Write(empty);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, (std::vector<std::string>{"spool", "store"}));
  EXPECT_EQ(r->spool_seqs, std::vector<uint64_t>{7});
  calls.clear();
  BothSink bad(std::make_unique<FakeSink>(&calls, "spool", true, 0),
               std::make_unique<FakeSink>(&calls, "store", false, 0));
  EXPECT_EQ(bad.Write(empty).status().code(), Code::kIo);
  EXPECT_EQ(calls, std::vector<std::string>{"spool"});
}

}  // namespace
}  // namespace scrubd::server
