// Internal to scrubd_audit: the writer state shared by log.cc (append, checkpoint, rotate,
// close) and log_recovery.cc (Open over an existing directory). Guarded by State::mu as
// documented on each member; not for use outside the Log implementation.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto.h"
#include "format.h"
#include "recent_leaves.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/env.h"

namespace scrubd::audit {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace log_detail {

inline Status Errno(const std::string& what) {
  return Status::Io(what + ": " + std::strerror(errno));
}

inline Status WriteAll(int fd, std::string_view data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(what + ": write");
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// A write-path error from the Env, named by the file it hit (audit file names hold no ids).
inline Status Named(const std::string& what, const Status& s) {
  return s.ok() ? s : Status::Io(what + ": " + s.message());
}

// Directory fsync after a create or rename. Best effort: the file's own data is already
// durable; a lost directory entry shows up as a missing file that Open or verify reports.
inline void FsyncDirBestEffort(Env* env, const fs::path& dir) {
  if (Status s = env->SyncDir(dir); !s.ok()) return;
}

inline void FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

inline Status MakeDir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno != EEXIST) return Errno(dir.string() + ": mkdir");
    return Status::Ok();
  }
  ::chmod(dir.c_str(), mode);
  FsyncDir(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
  return Status::Ok();
}

inline Status MakeDirs(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::path parent = dir.parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) return Status::Io(parent.string() + ": " + ec.message());
  }
  return MakeDir(dir, mode);
}

inline std::string SyncName(SyncMode m) {
  return m == SyncMode::kEveryAppend ? "every_append" : "group_commit";
}

inline std::string KeyPubFileName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%04llu.pub.pem", static_cast<unsigned long long>(index));
  return buf;
}

inline std::string Serialize(const json::object& o) { return json::serialize(o); }

}  // namespace log_detail

struct Log::State {
  fs::path dir;
  Options opts;
  int lock_fd = -1;

  mutable std::mutex mu;
  std::unique_ptr<Ed25519Key> key;
  std::string key_id;  // signed-note key id (4 bytes)
  uint64_t key_index = 0;
  Env* env = nullptr;
  // Shared so a sync can run outside `mu` on the file while a segment switch drops it.
  std::shared_ptr<WritableFile> seg;
  uint64_t seg_size = 0;
  uint64_t seg_first = 0;  // first seq of the open segment (its file name)
  std::shared_ptr<WritableFile> ckp;
  uint64_t ckp_size = 0;
  CompactRange range;
  RecentLeaves recent;            // proofs of recent entries without reading the log
  std::string last_note_text;     // the newest durable checkpoint note, verbatim
  std::string last_note_raw_pub;  // the raw public key that signed it
  Hash prev{};
  std::atomic<uint64_t> size{0};
  uint64_t synced_size = 0;        // entries < synced_size are durable
  uint64_t last_cp_size = 0;       // newest durable checkpoint
  uint64_t scheduled_cp_size = 0;  // newest checkpoint taken (durable or pending)
  uint64_t last_cp_time = 0;
  // Checkpoints are taken (size + root) synchronously at exact boundaries, then fsynced,
  // signed and written by FlushPendingLocked, normally on the background thread, so that
  // appenders never wait for the two fdatasyncs a checkpoint costs.
  struct PendingCheckpoint {
    uint64_t size;
    Hash root;
  };
  std::deque<PendingCheckpoint> pending;
  bool cp_in_flight = false;
  std::condition_variable cp_done;
  uint64_t last_sync_time = 0;
  bool closed = false;
  bool broken = false;
  Status broken_status;
  Status bg_error;
  std::string scratch;

  std::thread bg;
  std::condition_variable cv;
  bool stop = false;

  ~State() {
    if (lock_fd >= 0) ::close(lock_fd);
  }

  uint64_t Now() const { return opts.now_us ? opts.now_us() : env->NowMicros(); }
  Result<std::shared_ptr<WritableFile>> OpenFile(const fs::path& p, bool create, bool trunc);
  fs::path KeysDir() const { return dir / format::kKeysDir; }

  Status StartSegmentLocked(uint64_t first_seq);
  Result<uint64_t> AppendLocked(std::string_view type, std::string_view payload,
                                bool allow_checkpoint);
  void ScheduleCheckpointLocked();
  Status FlushPendingLocked(std::unique_lock<std::mutex>& lk);
  void WriteLatestNote(const std::string& note);
  Status CheckpointLocked(std::unique_lock<std::mutex>& lk);
  Status InitFresh(std::unique_lock<std::mutex>& lk);
  Status Recover(const std::vector<std::pair<uint64_t, fs::path>>& segments,
                 std::unique_lock<std::mutex>& lk);
  void BackgroundLoop();
  void StopBackground(std::unique_lock<std::mutex>& lk);
};

}  // namespace scrubd::audit
