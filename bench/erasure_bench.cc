// erasure_bench: LocalStore::Erase of one subject's recordings among many others' vs the floor,
// the unlink(2) of the same chunk files and rmdir(2) of the same session and window
// directories in a copy of that layout, timed in the same run. Target: erase <= 1 s and
// <= 3x the floor (issue 10, section 6).
//
//   erasure_bench [--recordings N] [--others M] [--chunks K] [--dir PATH] [--keep]
//
// Defaults: N = 10,000 subject recordings, M = 10 x N others, K = 2 chunks per recording,
// one window per recording, one analytics event per recording, all under one project token.
// The store is built through LocalStore::WriteRecordings / WriteEvents (the production write
// path: same files, same rows) in batches of 1,000, over an Env whose fsyncs are no-ops so
// the build takes seconds, not an hour; the erase then runs on a store reopened over the real
// Env (every fsync real). The floor's copy holds the subject's sessions with the same names
// and sizes, and the others' session directories (empty), so the token directory it unlinks
// from has as many entries as the store's. sync(2) runs before each timed section.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "sink/local_store.h"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::sink::LocalStore;
using scrubd::sink::RecordingChunk;
using scrubd::sink::SessionKey;
using scrubd::sink::StoredEvent;

constexpr char kToken[] = "phc_bench_project";

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
  scrubd::Result<std::unique_ptr<scrubd::WritableFile>> NewWritableFile(
      const fs::path& p, const scrubd::OpenOptions& o) override {
    auto f = target()->NewWritableFile(p, o);
    if (!f.ok()) return f.status();
    return std::unique_ptr<scrubd::WritableFile>(new NoSyncFile(std::move(f).value()));
  }
  scrubd::Status SyncDir(const fs::path&) override { return scrubd::Status::Ok(); }
};

struct Args {
  uint64_t recordings = 10000;
  uint64_t others = 0;  // 0: 10 x recordings
  uint64_t chunks = 2;
  fs::path dir;
  bool keep = false;
};

double Ms(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string SessionId(const char* who, uint64_t i) {
  char b[64];
  std::snprintf(b, sizeof(b), "0190%s-%08llx-7000-8000-%012llx", who,
                static_cast<unsigned long long>(i), static_cast<unsigned long long>(i * 7919));
  return b;
}

json::array ChunkEvents(uint64_t i, uint64_t k) {
  json::array a;
  if (k == 0)
    a.push_back(json::object{{"type", 4},
                             {"data", {{"href", "https://app.test/p/" + std::to_string(i)}}},
                             {"timestamp", 1700000000000 + static_cast<int64_t>(i)}});
  a.push_back(json::object{
      {"type", 3},
      {"data", {{"source", 0}, {"texts", json::array{}}, {"adds", json::array{"node", k}}}},
      {"timestamp", 1700000000100 + static_cast<int64_t>(i + k)}});
  return a;
}

// Writes `n` recordings named by `who` through the store, 1,000 chunks per transaction.
bool Populate(LocalStore& store, const char* who, const std::string& distinct, uint64_t n,
              uint64_t chunks, std::vector<SessionKey>* keys,
              std::vector<std::pair<std::string, std::string>>* uuids) {
  std::vector<json::array> bodies;
  std::vector<RecordingChunk> batch;
  std::vector<StoredEvent> events;
  auto flush = [&] {
    bool ok = store.WriteRecordings(batch).ok() && store.WriteEvents(events).ok();
    batch.clear();
    bodies.clear();
    events.clear();
    return ok;
  };
  bodies.reserve(1000 + chunks);
  for (uint64_t i = 0; i < n; ++i) {
    std::string sid = SessionId(who, i);
    for (uint64_t k = 0; k < chunks; ++k) {
      bodies.push_back(ChunkEvents(i, k));
      batch.push_back({kToken, sid, sid.substr(0, 12) + "-w", distinct, &bodies.back()});
    }
    std::string uuid = "e-" + sid;
    events.push_back({kToken, sid, distinct, uuid, "$pageview", "2026-01-01T00:00:00Z",
                      R"({"event":"$pageview","properties":{"$session_id":")" + sid + "\"}}", ""});
    if (keys) keys->push_back({kToken, sid});
    if (uuids) uuids->push_back({kToken, uuid});
    if (bodies.size() >= 1000 && !flush()) return false;
  }
  return flush();
}

// The floor's copy: the subject's chunk files (same names, same sizes) and the others'
// session directories, so every directory has as many entries as in the store.
bool CopyLayout(const fs::path& store_root, const fs::path& copy_root,
                const std::vector<SessionKey>& subject, uint64_t others,
                std::vector<fs::path>* files, std::vector<fs::path>* dirs) {
  fs::path tok = copy_root / kToken;
  std::error_code ec;
  fs::create_directories(tok, ec);
  for (uint64_t i = 0; i < others; ++i) fs::create_directory(tok / SessionId("b", i), ec);
  for (const SessionKey& k : subject) {
    fs::path src = store_root / "recordings" / k.token / k.session_id;
    for (const auto& w : fs::directory_iterator(src, ec)) {
      fs::path wdst = tok / k.session_id / w.path().filename();
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
    dirs->push_back(tok / k.session_id);
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
    } else if ((f == "--recordings" || f == "--others" || f == "--chunks" || f == "--dir") &&
               (v = next())) {
      if (f == "--dir") a->dir = v;
      uint64_t n = std::strtoull(v, nullptr, 10);
      if (f == "--recordings") a->recordings = n;
      if (f == "--others") a->others = n;
      if (f == "--chunks") a->chunks = n;
    } else {
      std::fprintf(stderr,
                   "usage: erasure_bench [--recordings N] [--others M] [--chunks K] "
                   "[--dir PATH] [--keep]\n");
      return false;
    }
  }
  if (a->others == 0) a->others = 10 * a->recordings;
  if (a->recordings == 0 || a->chunks == 0) return false;
  if (a->dir.empty())
    a->dir = fs::temp_directory_path() / ("erasure_bench." + std::to_string(::getpid()));
  return true;
}

int Fail(const char* what, const std::string& why = "") {
  std::fprintf(stderr, "erasure_bench: %s %s\n", what, why.c_str());
  return 1;
}

struct Layout {
  std::vector<SessionKey> subject;
  std::vector<std::pair<std::string, std::string>> uuids;
  std::vector<fs::path> files, dirs;  // the floor's copy
};

// Builds the store (others, the subject, others: interleaved like real traffic) and the
// floor's copy. False on any failure (reported).
bool Build(const Args& a, Layout* l) {
  auto t0 = std::chrono::steady_clock::now();
  {
    NoSyncEnv nosync;
    auto store = LocalStore::Open(a.dir / "data", &nosync);
    if (!store.ok()) return Fail("open", store.status().ToString()) == 0;
    if (!Populate(**store, "a", "pid_others_a", a.others / 2, a.chunks, nullptr, nullptr) ||
        !Populate(**store, "s", "pid_subject", a.recordings, a.chunks, &l->subject, &l->uuids) ||
        !Populate(**store, "b", "pid_others_b", a.others - a.others / 2, a.chunks, nullptr,
                  nullptr))
      return Fail("populate") == 0;
  }
  if (!CopyLayout(a.dir / "data" / "store", a.dir / "floor", l->subject, a.others, &l->files,
                  &l->dirs))
    return Fail("copy layout") == 0;
  std::fprintf(stderr, "erasure_bench: built %llu + %llu recordings x %llu chunks in %.0f ms\n",
               static_cast<unsigned long long>(a.recordings),
               static_cast<unsigned long long>(a.others), static_cast<unsigned long long>(a.chunks),
               Ms(t0, std::chrono::steady_clock::now()));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return 2;
  std::error_code ec;
  fs::remove_all(a.dir, ec);
  Layout l;
  if (!Build(a, &l)) return 1;
  ::sync();
  auto f0 = std::chrono::steady_clock::now();
  for (const fs::path& f : l.files)
    if (::unlink(f.c_str()) != 0) return Fail("floor unlink", std::strerror(errno));
  auto f1 = std::chrono::steady_clock::now();
  for (const fs::path& d : l.dirs)
    if (::rmdir(d.c_str()) != 0) return Fail("floor rmdir", std::strerror(errno));
  auto f2 = std::chrono::steady_clock::now();

  auto store = LocalStore::Open(a.dir / "data");  // the real Env: every fsync happens
  if (!store.ok()) return Fail("reopen", store.status().ToString());
  ::sync();
  auto e0 = std::chrono::steady_clock::now();
  auto counts = (*store)->Erase(l.subject, l.uuids);
  auto e1 = std::chrono::steady_clock::now();
  if (!counts.ok()) return Fail("erase", counts.status().ToString());
  auto residue = (*store)->Residue(l.subject, l.uuids, {"pid_subject"});
  if (!residue.ok() || !residue->zero()) return Fail("residue after erase is not zero");
  if (!(*store)->ExportSession(SessionId("a", 0), kToken).ok() ||
      !(*store)->ExportSession(SessionId("b", 0), kToken).ok())
    return Fail("another subject's recording is gone");

  double erase = Ms(e0, e1), floor = Ms(f0, f2);
  std::fprintf(stderr,
               "erasure_bench: erased sessions=%llu chunks=%llu files=%llu events=%llu; floor "
               "unlink files=%.1f ms + rmdir dirs=%.1f ms (%zu files, %zu dirs)\n",
               static_cast<unsigned long long>(counts->sessions),
               static_cast<unsigned long long>(counts->chunks),
               static_cast<unsigned long long>(counts->files),
               static_cast<unsigned long long>(counts->events), Ms(f0, f1), Ms(f1, f2),
               l.files.size(), l.dirs.size());
  std::printf("erasure_bench: erase=%.1f ms unlink_floor=%.1f ms ratio=%.2f\n", erase, floor,
              erase / floor);
  store->reset();
  if (!a.keep) fs::remove_all(a.dir, ec);
  return 0;
}
