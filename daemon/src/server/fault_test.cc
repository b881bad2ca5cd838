// Fault injection at every write point (issue 9, section 10): a FaultEnv under the local
// store, the upstream spool, the audit log and the DOM state store fails one call with ENOSPC,
// EIO, a short write or a failed fsync. Each test asserts that the client gets a 503 JSON
// error, the fault is counted on /metrics, no acknowledged batch is lost, nothing half-written
// is visible (exports and readers see the old data) and no temp file is left behind.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <sstream>

#include "dom/state_store.h"
#include "scrubd/audit/log.h"
#include "scrubd/audit/verify.h"
#include "scrubd/common/fault_env.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "sink/upstream.h"
#include "support/canary.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
namespace fs = std::filesystem;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
constexpr char kToken[] = "phc_testkey123";

// Files under `dir` whose names are temp names (an unfinished write made visible).
std::vector<std::string> TempFiles(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && IsTempFileName(e.path().filename().string()))
      out.push_back(e.path().string());
  return out;
}

uint64_t MetricValue(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("scrubd_" + name + " ");
  if (at == std::string::npos) return ~uint64_t{0};
  return std::stoull(metrics.substr(at + name.size() + 8));
}

// Never reached: the forwarder is not started, so batches stay in the spool.
class NoClient : public sink::UpstreamClient {
 public:
  Result<sink::UpstreamResponse> Exchange(const sink::UpstreamRequest&) override {
    return Status::Unavailable("not started");
  }
};

class FaultTest : public ::testing::Test {
 protected:
  void Build(bool with_upstream) {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    auto store = sink::LocalStore::Open(dir_.path(), &env_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    dom::StateStore::Options so;
    so.dir = dir_.path() / "state";
    so.env = &env_;
    auto st = dom::StateStore::Open(so);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    state_ = std::move(st).value();
    audit::Options ao;
    ao.env = &env_;
    ao.sync = audit::SyncMode::kEveryAppend;  // fsync is on the acknowledgement path
    auto log = audit::Log::Open(dir_.path() / "audit", ao);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    if (with_upstream) {
      sink::UpstreamOptions uo;
      uo.url = "http://127.0.0.1:9";
      uo.spool_dir = dir_.path() / "spool";
      uo.env = &env_;
      auto up = sink::Upstream::Open(uo, &client_);
      ASSERT_TRUE(up.ok()) << up.status().ToString();
      upstream_ = std::move(up).value();
    }
    AppConfig cfg;
    cfg.admin_token = "s3cret-admin";
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    app_ =
        std::make_unique<App>(cfg, *set, store_.get(), state_.get(), log_.get(), upstream_.get());
  }

  HttpResponse Post(const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/s/";
    r.body = body;
    r.headers["content-type"] = "text/plain";
    return app_->Handle(r);
  }
  std::string Metrics() {
    HttpRequest r;
    r.method = "GET";
    r.target = "/metrics";
    return app_->Handle(r).body;
  }
  // Every pending spool record, read back and checked (CRC), as "[" + bodies.
  std::string SpoolContents() {
    std::string all = "[";
    sink::Spool* spool = upstream_->spool();
    for (uint64_t seq = 1; seq < 1000; ++seq) {
      if (!fs::exists(spool->dir() / (std::string(20 - std::to_string(seq).size(), '0') +
                                      std::to_string(seq) + ".req")))
        continue;
      auto r = spool->Read(seq);
      if (!r.ok()) return "error: " + r.status().ToString();
      all += r->body;
    }
    return all;
  }
  std::string Export() {
    auto body = store_->ExportSession(kSession, kToken);
    return body.ok() ? *body : "error: " + body.status().ToString();
  }

  // The batch answered 503 with a JSON error, the counter moved, the earlier export is
  // unchanged, nothing temp is visible, and after the fault clears ingest works again.
  void ExpectFailClosed(const FaultSpec& spec, const char* counter) {
    SCOPED_TRACE(std::string(FaultOpName(spec.op)) + "/" + FaultKindName(spec.kind) + " on " +
                 spec.path_contains);
    const std::string batch = Fixture("0008.body");
    ASSERT_EQ(Post(batch).status, 200u);
    // With an upstream the batch goes to the spool only; readers there are Spool::Read.
    const std::string before = upstream_ ? SpoolContents() : Export();
    ASSERT_EQ(before.rfind("[", 0), 0u) << before;
    const uint64_t errors = MetricValue(Metrics(), counter);
    const uint64_t spooled = upstream_ ? upstream_->spool()->stats().pending_files : 0;

    env_.Arm(spec);
    HttpResponse r = Post(batch);
    const uint64_t injected = env_.injected();
    env_.Clear();
    EXPECT_GE(injected, 1u) << "the fault never fired: not a write point";
    EXPECT_EQ(r.status, 503u);
    json::error_code ec;
    json::value v = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(v.at("error").as_string(), "unavailable");
    EXPECT_EQ(MetricValue(Metrics(), counter), errors + 1);
    EXPECT_EQ(upstream_ ? SpoolContents() : Export(), before)
        << "a failed batch changed what readers see";
    if (upstream_) {
      EXPECT_EQ(upstream_->spool()->stats().pending_files, spooled);
    }
    EXPECT_TRUE(TempFiles(dir_.path()).empty()) << TempFiles(dir_.path()).front();

    ASSERT_EQ(Post(batch).status, 200u) << "ingest did not recover after the fault";
    EXPECT_GT((upstream_ ? SpoolContents() : Export()).size(), before.size());
    if (upstream_) {
      EXPECT_EQ(upstream_->spool()->stats().pending_files, spooled + 1);
    }
  }

  TempDir dir_;
  FaultEnv env_;
  NoClient client_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<sink::Upstream> upstream_;
  std::unique_ptr<App> app_;
};

const FaultKind kWriteKinds[] = {FaultKind::kEnospc, FaultKind::kEio, FaultKind::kShortWrite};

TEST_F(FaultTest, StoreChunkWriteFaultsAnswer503AndKeepOldData) {
  Build(false);
  for (FaultKind k : kWriteKinds)
    ExpectFailClosed({FaultOp::kAppend, k, "recordings"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kOpen, FaultKind::kEnospc, "recordings"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kSync, FaultKind::kEio, "recordings"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kRename, FaultKind::kEio, "recordings"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kMkdir, FaultKind::kEnospc, "recordings"}, "sink_errors_total");
}

TEST_F(FaultTest, AuditWriteFaultsAnswer503AndStoreNothing) {
  Build(false);
  for (FaultKind k : kWriteKinds)
    ExpectFailClosed({FaultOp::kAppend, k, "audit"}, "audit_errors_total");
  ExpectFailClosed({FaultOp::kSync, FaultKind::kEio, "audit"}, "audit_errors_total");
  // The log stays verifiable: failed frames were rolled back, not left torn.
  ASSERT_TRUE(log_->Close().ok());
  audit::VerifyReport rep =
      audit::Verify(dir_.path() / "audit", dir_.path() / "audit" / "public.pem", std::nullopt);
  EXPECT_TRUE(rep.ok) << audit::FormatReport(rep);
}

TEST_F(FaultTest, SpoolWriteFaultsAnswer503AndSpoolNothing) {
  Build(true);
  for (FaultKind k : kWriteKinds)
    ExpectFailClosed({FaultOp::kAppend, k, "spool"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kSync, FaultKind::kEio, "spool"}, "sink_errors_total");
  ExpectFailClosed({FaultOp::kRename, FaultKind::kEnospc, "spool"}, "sink_errors_total");
}

TEST_F(FaultTest, AuditEntryPrecedesEveryStoredBatch) {
  Build(false);
  ASSERT_EQ(Post(Fixture("0008.body")).status, 200u);
  // The audit log full: the batch is refused and no chunk is added.
  env_.Arm({FaultOp::kAppend, FaultKind::kEnospc, "audit"});
  auto before = store_->ListSessions(10);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(Post(Fixture("0008.body")).status, 503u);
  env_.Clear();
  auto after = store_->ListSessions(10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  EXPECT_EQ(after->front().bytes, before->front().bytes);
}

// The SQLite index is written by SQLite's own I/O, not the Env: its faults are covered by its
// transactions (a failed INSERT or COMMIT rolls back; synchronous=FULL). Here another
// connection holds the write lock, so the index write fails (SQLITE_BUSY after the 5 s busy
// timeout) on the same rollback path as SQLITE_FULL or SQLITE_IOERR; the chunk file written
// before it must be removed.
TEST_F(FaultTest, IndexWriteFailureAnswers503AndLeavesNoChunk) {
  Build(false);
  ASSERT_EQ(Post(Fixture("0008.body")).status, 200u);
  const std::string before = Export();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "store" / "index.sqlite").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const uint64_t errors = MetricValue(Metrics(), "sink_errors_total");
  const size_t chunks = scrubd::testing::FilesUnder(dir_.path() / "store" / "recordings").size();
  EXPECT_EQ(Post(Fixture("0008.body")).status, 503u);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(MetricValue(Metrics(), "sink_errors_total"), errors + 1);
  EXPECT_EQ(Export(), before);
  EXPECT_EQ(scrubd::testing::FilesUnder(dir_.path() / "store" / "recordings").size(), chunks)
      << "an unindexed chunk file was left";
}

// DOM state persistence: a failed persist keeps the previous file (old, never torn), is
// counted, and the state stays dirty so the next persist writes it.
TEST_F(FaultTest, StatePersistFaultsKeepTheOldState) {
  Build(false);
  ASSERT_EQ(Post(Fixture("0008.body")).status, 200u);
  auto touch = [&](uint32_t node) {  // a change to one window's state: the next persist
    dom::StateStore::Lease lease = state_->Acquire(kToken, kSession, "w-extra");
    lease.state().Put(node, dom::WindowState::Node{});
    lease.state().set_dirty(true);
  };
  touch(4242);
  ASSERT_TRUE(state_->PersistAll().ok());
  const std::map<std::string, std::string> files =
      scrubd::testing::FilesUnder(dir_.path() / "state");
  ASSERT_FALSE(files.empty());
  touch(4243);  // the persisted file of w-extra is now out of date
  for (FaultKind k : kWriteKinds) {
    env_.Arm({FaultOp::kAppend, k, "state"});
    EXPECT_FALSE(state_->PersistAll().ok()) << FaultKindName(k);
    env_.Clear();
    EXPECT_EQ(scrubd::testing::FilesUnder(dir_.path() / "state"), files)
        << "a failed persist replaced, tore or added a state file";
  }
  EXPECT_GE(state_->stats().persist_errors, 3u);
  EXPECT_TRUE(state_->PersistAll().ok());
}

// A sink failure is logged with the pseudonym only: no raw session id, no path built from it.
TEST_F(FaultTest, SinkFailureLogCarriesNoRawIdOrPath) {
  Build(false);
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  for (FaultOp op :
       {FaultOp::kOpen, FaultOp::kAppend, FaultOp::kSync, FaultOp::kRename, FaultOp::kMkdir}) {
    env_.Arm({op, FaultKind::kEio, "recordings"});
    EXPECT_EQ(Post(Fixture("0008.body")).status, 503u);
    env_.Clear();
  }
  spdlog::set_default_logger(previous);
  const std::string text = captured.str();
  EXPECT_NE(text.find("sink failed"), std::string::npos) << text;
  EXPECT_EQ(text.find(kSession), std::string::npos) << text;
  EXPECT_EQ(text.find("recordings/"), std::string::npos) << text;
  EXPECT_EQ(text.find(dir_.path().string()), std::string::npos) << text;
}

// Interrupted writes leave temp files; every Open removes them (never acknowledged).
TEST(TempCleanupTest, OpenRemovesTempFilesOfInterruptedWrites) {
  TempDir dir;
  const fs::path chunk_dir = dir.path() / "store" / "recordings" / "t" / "s" / "w";
  fs::create_directories(chunk_dir);
  fs::create_directories(dir.path() / "spool");
  fs::create_directories(dir.path() / "state" / "ab");
  auto touch = [](const fs::path& p) { std::ofstream(p) << "half"; };
  touch(chunk_dir / "0000000000001-000001.json.tmp123.4");
  touch(dir.path() / "spool" / "00000000000000000001.req.tmp9.1");
  touch(dir.path() / "state" / "ab" / "cd.dws.tmp");
  touch(chunk_dir / "0000000000001-000002.json");  // a real chunk stays
  auto store = sink::LocalStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  sink::Spool::Options so;
  so.dir = dir.path() / "spool";
  ASSERT_TRUE(sink::Spool::Open(so).ok());
  dom::StateStore::Options to;
  to.dir = dir.path() / "state";
  auto state = dom::StateStore::Open(to);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)->stats().temp_files_removed, 1u);
  EXPECT_TRUE(TempFiles(dir.path()).empty());
  EXPECT_TRUE(fs::exists(chunk_dir / "0000000000001-000002.json"));
}

}  // namespace
}  // namespace scrubd::server
