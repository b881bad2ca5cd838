// purge_bench: the retention purge (retention::RunPurge, not a dry run) of a store of N
// sessions, 10 % of them expired and 1 % of those held, vs the floor: the unlink(2) of the
// same chunk files and rmdir(2) of the same window and session directories in a copy of that
// layout, timed in the same run. Target: purge <= 3x the floor (issue 11, section 6).
//
//   purge_bench [--sessions N] [--batch B] [--dir PATH] [--keep]
//
// Defaults: N = 100,000 sessions under one project token, one window each, 1 or 2 chunks
// (alternating), B = PurgeOptions::batch (500). The policy has `retention.days: 30` and one
// rule (`url: ^https://app\.test/long/`, 90 days) that every 7th session's page matches, so
// the plan evaluates the rule from the stored facts. Last event times are spread so that at
// the purge's `now` exactly the sessions i % 10 == 3 are expired (10 %), the others are 1 day
// at least 2 days short of their expiry; the rule's sessions older than 30 days are
// planned too (candidates of the shortest retention) and found not expired. Every 100th
// expired session is held (a HeldSet filled as ResolveHolds fills it, consulted through
// PurgeDeps::held_by as the daemon does). The purge runs with an audit::Log and a DOM
// StateStore in the data dir, as `scrubd purge` does.
//
// The store is built through LocalStore::WriteRecordings (the production write path: the same
// files and the same chunks, sessions, lifecycle and facts rows) in batches of 1,000 chunks,
// over an Env whose fsyncs are no-ops so the build takes seconds; the purge then runs on the
// store reopened over the real Env (every fsync real). The floor's copy holds the purged
// sessions' files with the same names and sizes, and the other sessions' directories (empty),
// so the token directory it unlinks from has as many entries as the store's. sync(2) runs
// before each timed section. Afterwards the store must hold exactly the unexpired and the held
// sessions (index rows and directories), else exit 1; a second purge must remove nothing.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "dom/state_store.h"
#include "retention/holds.h"
#include "retention/purge.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/rfc3339.h"
#include "sink/local_store.h"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::sink::LocalStore;
using scrubd::sink::RecordingChunk;

constexpr char kToken[] = "phc_bench_project";
constexpr int64_t kDay = scrubd::kMsPerDay;
constexpr int64_t kDefaultDays = 30, kRuleDays = 90;

constexpr char kPolicy[] = R"(version: 1
name: purge-bench
retention:
  days: 30
  rules:
    - name: long
      match: {url: '^https://app\.test/long/'}
      days: 90
)";

// Build-only Env: writes and renames as usual, fsyncs nothing.
class NoSyncFile : public scrubd::WritableFile {
 public:
  explicit NoSyncFile(std::unique_ptr<scrubd::WritableFile> f) : f_(std::move(f)) {}
  scrubd::Status Append(std::string_view d) override { return f_->Append(d); }
  scrubd::Status Sync() override { return scrubd::Status::Ok(); }
  scrubd::Status Fsync() override { return scrubd::Status::Ok(); }
  scrubd::Status Truncate(uint64_t n) override { return f_->Truncate(n); }
  scrubd::Status Close() override { return f_->Close(); }

 private:
  std::unique_ptr<scrubd::WritableFile> f_;
};

class NoSyncEnv : public scrubd::EnvWrapper {
 public:
  NoSyncEnv() : EnvWrapper(scrubd::Env::Default()) {}
  // The store's received time (its lifecycle times are bounded to a day before it): set by
  // Populate to just after the batch's newest event, so history can be written today.
  std::atomic<int64_t> now_ms{0};
  uint64_t NowMicros() override {
    return now_ms ? static_cast<uint64_t>(now_ms.load()) * 1000 : target()->NowMicros();
  }
  scrubd::Result<std::unique_ptr<scrubd::WritableFile>> NewWritableFile(
      const fs::path& p, const scrubd::OpenOptions& o) override {
    auto f = target()->NewWritableFile(p, o);
    if (!f.ok()) return f.status();
    return std::unique_ptr<scrubd::WritableFile>(new NoSyncFile(std::move(f).value()));
  }
  scrubd::Status SyncDir(const fs::path&) override { return scrubd::Status::Ok(); }
};

struct Args {
  uint64_t sessions = 100000;
  size_t batch = 0;  // 0: PurgeOptions' default
  fs::path dir;
  bool keep = false;
};

double Ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string SessionId(uint64_t i) {
  char b[64];
  std::snprintf(b, sizeof(b), "0190abcd-%08llx-7000-8000-%012llx",
                static_cast<unsigned long long>(i), static_cast<unsigned long long>(i * 7919));
  return b;
}

// What session i is: its rule, its last event time, whether it is expired and held at `now`.
struct Plan {
  bool rule = false, expired = false, held = false;
  uint64_t chunks = 1;
  int64_t last_ts = 0;
};

Plan PlanOf(uint64_t i, int64_t now) {
  Plan p;
  p.rule = i % 7 == 0;
  p.expired = i % 10 == 3;
  p.held = p.expired && (i / 10) % 100 == 0;
  p.chunks = 1 + ((i >> 1) & 1);
  const int64_t days = p.rule ? kRuleDays : kDefaultDays;
  const int64_t jitter = static_cast<int64_t>(i * 37 % 3600000);  // < 1 hour
  const auto n = static_cast<int64_t>(i);
  const int64_t age =
      p.expired ? (days + 1 + n % 60) * kDay + jitter : (1 + n % (days - 2)) * kDay + jitter;
  p.last_ts = now - age;
  return p;
}

json::array ChunkEvents(uint64_t i, const Plan& p, uint64_t k) {
  json::array a;
  const int64_t ts = p.last_ts - static_cast<int64_t>(p.chunks - 1 - k) * 1000;
  if (k == 0) {
    std::string url =
        std::string(p.rule ? "https://app.test/long/" : "https://app.test/p/") + std::to_string(i);
    a.push_back(json::object{{"type", 4}, {"data", {{"href", url}}}, {"timestamp", ts - 500}});
  }
  a.push_back(json::object{
      {"type", 3},
      {"data", {{"source", 0}, {"texts", json::array{}}, {"adds", json::array{"node", k}}}},
      {"timestamp", ts}});
  return a;
}

// Writes every session through the store in order of last event, at most 1,000 chunks and 12
// hours of event time per transaction, each "received" a second after its newest event.
bool Populate(LocalStore& store, NoSyncEnv& env, uint64_t n, int64_t now) {
  std::vector<uint64_t> order(n);
  for (uint64_t i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [now](uint64_t a, uint64_t b) {
    return PlanOf(a, now).last_ts < PlanOf(b, now).last_ts;
  });
  std::vector<json::array> bodies;
  std::vector<RecordingChunk> batch;
  bodies.reserve(1002);
  int64_t first = 0, last = 0;
  auto flush = [&] {
    env.now_ms = last + 1000;
    bool ok = store.WriteRecordings(batch).ok();
    batch.clear();
    bodies.clear();
    return ok;
  };
  for (uint64_t i : order) {
    const Plan p = PlanOf(i, now);
    if (!batch.empty() && p.last_ts - first > 12 * 3600 * 1000 && !flush()) return false;
    if (batch.empty()) first = p.last_ts;
    last = p.last_ts;
    const std::string sid = SessionId(i);
    for (uint64_t k = 0; k < p.chunks; ++k) {
      bodies.push_back(ChunkEvents(i, p, k));
      batch.push_back(
          {kToken, sid, sid.substr(0, 12) + "-w", "pid_" + std::to_string(i), &bodies.back()});
    }
    if (bodies.size() >= 1000 && !flush()) return false;
  }
  return batch.empty() || flush();
}

// The floor's copy: the purged sessions' chunk files (same names, same sizes) and the other
// sessions' directories, so every directory has as many entries as in the store.
bool CopyLayout(const fs::path& store_root, const fs::path& copy_root, uint64_t n, int64_t now,
                std::vector<fs::path>* files, std::vector<fs::path>* dirs) {
  fs::path tok = copy_root / kToken;
  std::error_code ec;
  fs::create_directories(tok, ec);
  for (uint64_t i = 0; i < n; ++i) {
    const Plan p = PlanOf(i, now);
    const std::string sid = SessionId(i);
    if (!p.expired || p.held) {
      fs::create_directory(tok / sid, ec);
      continue;
    }
    fs::path src = store_root / "recordings" / kToken / sid;
    for (const auto& w : fs::directory_iterator(src, ec)) {
      fs::path wdst = tok / sid / w.path().filename();
      fs::create_directories(wdst, ec);
      for (const auto& f : fs::directory_iterator(w.path(), ec)) {
        fs::path dst = wdst / f.path().filename();
        int fd = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return false;
        std::string bytes(static_cast<size_t>(f.file_size(ec)), 'x');
        bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
        ::close(fd);
        if (!ok) return false;
        files->push_back(dst);
      }
      dirs->push_back(wdst);
    }
    dirs->push_back(tok / sid);
  }
  return !ec;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (f == "--keep") {
      a->keep = true;
    } else if ((f == "--sessions" || f == "--batch" || f == "--dir") && (v = next())) {
      if (f == "--dir") a->dir = v;
      if (f == "--sessions") a->sessions = std::strtoull(v, nullptr, 10);
      if (f == "--batch") a->batch = std::strtoull(v, nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: purge_bench [--sessions N] [--batch B] [--dir PATH] [--keep]\n");
      return false;
    }
  }
  if (a->sessions < 10) return false;
  if (a->dir.empty())
    a->dir = fs::temp_directory_path() / ("purge_bench." + std::to_string(::getpid()));
  return true;
}

int Fail(const char* what, const std::string& why = "") {
  std::fprintf(stderr, "purge_bench: %s %s\n", what, why.c_str());
  return 1;
}

struct Expected {
  uint64_t removed = 0, held = 0, chunks = 0;
  std::set<std::string> remaining;
  scrubd::retention::HeldSet holds;
};

Expected ExpectedAt(uint64_t n, int64_t now) {
  Expected e;
  for (uint64_t i = 0; i < n; ++i) {
    const Plan p = PlanOf(i, now);
    const std::string sid = SessionId(i);
    if (p.expired && !p.held) {
      ++e.removed;
      e.chunks += p.chunks;
      continue;
    }
    e.remaining.insert(sid);
    if (p.held) {
      ++e.held;
      char id[32];
      std::snprintf(id, sizeof(id), "hold_%016llx", static_cast<unsigned long long>(i));
      e.holds.by_session[scrubd::retention::HeldSet::Key(kToken, sid)].push_back(id);
    }
  }
  return e;
}

// Whether the store holds exactly `want`: lifecycle rows, sessions rows and directories.
bool Verify(LocalStore& store, const std::set<std::string>& want) {
  auto rows = store.SessionsLastSeenBefore(std::numeric_limits<int64_t>::max());
  if (!rows.ok()) return Fail("lifecycle rows", rows.status().ToString()) == 0;
  std::set<std::string> life;
  for (const auto& r : *rows) life.insert(r.session_id);
  auto sessions = store.ListSessions(static_cast<int>(want.size()) + 1000);
  if (!sessions.ok()) return Fail("sessions rows", sessions.status().ToString()) == 0;
  std::set<std::string> indexed;
  for (const auto& s : *sessions) indexed.insert(s.session_id);
  std::set<std::string> dirs;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(store.root() / "recordings" / kToken, ec))
    dirs.insert(d.path().filename().string());
  if (ec) return Fail("list recordings", ec.message()) == 0;
  if (life != want) return Fail("lifecycle rows differ from the expected sessions") == 0;
  if (indexed != want) return Fail("sessions rows differ from the expected sessions") == 0;
  if (dirs != want) return Fail("session directories differ from the expected sessions") == 0;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return 2;
  std::error_code ec;
  fs::remove_all(a.dir, ec);
  const fs::path data = a.dir / "data";
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();

  auto s0 = std::chrono::steady_clock::now();
  {
    NoSyncEnv nosync;
    auto store = LocalStore::Open(data, &nosync);
    if (!store.ok()) return Fail("open", store.status().ToString());
    if (!Populate(**store, nosync, a.sessions, now)) return Fail("populate");
  }
  auto s1 = std::chrono::steady_clock::now();
  std::vector<fs::path> files, dirs;
  if (!CopyLayout(data / "store", a.dir / "floor", a.sessions, now, &files, &dirs))
    return Fail("copy layout");
  Expected want = ExpectedAt(a.sessions, now);
  auto s2 = std::chrono::steady_clock::now();
  std::fprintf(stderr,
               "purge_bench: setup: store of %llu sessions in %.0f ms, floor copy (%zu files, "
               "%zu dirs) in %.0f ms\n",
               static_cast<unsigned long long>(a.sessions), Ms(s0, s1), files.size(), dirs.size(),
               Ms(s1, s2));

  ::sync();
  auto f0 = std::chrono::steady_clock::now();
  for (const fs::path& f : files)
    if (::unlink(f.c_str()) != 0) return Fail("floor unlink", std::strerror(errno));
  auto f1 = std::chrono::steady_clock::now();
  for (const fs::path& d : dirs)
    if (::rmdir(d.c_str()) != 0) return Fail("floor rmdir", std::strerror(errno));
  auto f2 = std::chrono::steady_clock::now();

  auto store = LocalStore::Open(data);  // the real Env: every fsync happens
  if (!store.ok()) return Fail("reopen", store.status().ToString());
  auto log = scrubd::audit::Log::Open(data / "audit", {});
  if (!log.ok()) return Fail("audit log", log.status().ToString());
  scrubd::dom::StateStore::Options so;
  so.dir = data / "state";
  auto state = scrubd::dom::StateStore::Open(so);
  if (!state.ok()) return Fail("state store", state.status().ToString());
  auto policy = scrubd::policies::ParsePolicy("purge-bench.yaml", kPolicy, {});
  if (!policy.ok()) return Fail("policy", policy.status().ToString());
  scrubd::retention::PurgeDeps deps;
  deps.store = store->get();
  deps.state = state->get();
  deps.audit = log->get();
  deps.policies = std::make_shared<const scrubd::policies::PolicySet>(
      std::vector<std::shared_ptr<const scrubd::policies::Policy>>{*policy});
  deps.data_dir = data;
  const scrubd::retention::HeldSet& holds = want.holds;
  deps.held_by = [&holds](std::string_view t, std::string_view s, std::string_view d) {
    return holds.HoldOf(t, s, d);
  };
  scrubd::retention::PurgeOptions opts;
  opts.now_ms = now;
  if (a.batch) opts.batch = a.batch;

  ::sync();
  auto p0 = std::chrono::steady_clock::now();
  auto report = scrubd::retention::RunPurge(deps, opts);
  auto p1 = std::chrono::steady_clock::now();
  if (!report.ok()) return Fail("purge", report.status().ToString());
  if (report->removed.size() != want.removed || report->held.size() != want.held ||
      report->counts.sessions != want.removed || report->counts.chunks != want.chunks ||
      report->counts.files != want.chunks || report->errors != 0 || report->newer != 0)
    return Fail("purge counts differ from the expected ones", report->AuditJson());
  if (!Verify(**store, want.remaining)) return 1;

  auto r0 = std::chrono::steady_clock::now();
  auto again = scrubd::retention::RunPurge(deps, opts);
  auto r1 = std::chrono::steady_clock::now();
  if (!again.ok()) return Fail("second purge", again.status().ToString());
  if (!again->removed.empty() || again->counts.files != 0 || again->held.size() != want.held)
    return Fail("the second purge removed something", again->AuditJson());
  if (!Verify(**store, want.remaining)) return 1;

  double purge = Ms(p0, p1), floor = Ms(f0, f2);
  std::fprintf(stderr,
               "purge_bench: removed sessions=%zu chunks=%llu files=%llu, kept under hold=%zu, "
               "kept=%zu; floor unlink files=%.1f ms + rmdir dirs=%.1f ms (%zu files, %zu dirs); "
               "second purge (nothing to remove)=%.1f ms\n",
               report->removed.size(), static_cast<unsigned long long>(report->counts.chunks),
               static_cast<unsigned long long>(report->counts.files), report->held.size(),
               want.remaining.size(), Ms(f0, f1), Ms(f1, f2), files.size(), dirs.size(),
               Ms(r0, r1));
  std::printf(
      "purge_bench: sessions=%llu setup=%.0f ms purge=%.1f ms unlink_floor=%.1f ms "
      "removed=%zu held=%zu ratio=%.2f\n",
      static_cast<unsigned long long>(a.sessions), Ms(s0, s2), purge, floor, report->removed.size(),
      report->held.size(), purge / floor);
  std::fflush(stdout);  // before the (slow, on disk) cleanup
  if (scrubd::Status s = (*log)->Close(); !s.ok()) return Fail("audit close", s.ToString());
  log->reset();
  state->reset();
  store->reset();
  if (!a.keep) fs::remove_all(a.dir, ec);
  return 0;
}
