#include "scrubd/audit/log.h"

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
#include <thread>
#include <vector>

#include "crypto.h"
#include "format.h"
#include "scrubd/common/env.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

Status Errno(const std::string& what) { return Status::Io(what + ": " + std::strerror(errno)); }

Status WriteAll(int fd, std::string_view data, const std::string& what) {
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
Status Named(const std::string& what, const Status& s) {
  return s.ok() ? s : Status::Io(what + ": " + s.message());
}

// Directory fsync after a create or rename. Best effort: the file's own data is already
// durable; a lost directory entry shows up as a missing file that Open or verify reports.
void FsyncDirBestEffort(Env* env, const fs::path& dir) {
  if (Status s = env->SyncDir(dir); !s.ok()) return;
}

void FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Status MakeDir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0) {
    if (errno != EEXIST) return Errno(dir.string() + ": mkdir");
    return Status::Ok();
  }
  ::chmod(dir.c_str(), mode);
  FsyncDir(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
  return Status::Ok();
}

Status MakeDirs(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::path parent = dir.parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) return Status::Io(parent.string() + ": " + ec.message());
  }
  return MakeDir(dir, mode);
}

std::string SyncName(SyncMode m) {
  return m == SyncMode::kEveryAppend ? "every_append" : "group_commit";
}

std::string KeyPubFileName(uint64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%04llu.pub.pem", static_cast<unsigned long long>(index));
  return buf;
}

std::string Serialize(const json::object& o) { return json::serialize(o); }

}  // namespace

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
  std::shared_ptr<WritableFile> ckp;
  uint64_t ckp_size = 0;
  CompactRange range;
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

Result<std::shared_ptr<WritableFile>> Log::State::OpenFile(const fs::path& p, bool create,
                                                           bool trunc) {
  OpenOptions o;
  o.append = true;
  o.truncate = trunc;
  o.exclusive = create && !trunc;
  Result<std::unique_ptr<WritableFile>> f = env->NewWritableFile(p, o);
  if (!f.ok()) return Named(p.filename().string(), f.status());
  return std::shared_ptr<WritableFile>(std::move(f).value());
}

Status Log::State::StartSegmentLocked(uint64_t first_seq) {
  if (seg) {
    Status s = Named("segment", seg->Sync());
    if (!s.ok()) return s;
    synced_size = size.load();
    seg.reset();  // closed when a sync running outside the lock lets go of it
  }
  fs::path path = dir / format::SegmentName(first_seq);
  auto f = OpenFile(path, true, false);
  if (!f.ok()) return f.status();
  std::string header = format::FileHeader(format::kSegmentMagic, first_seq);
  Status s = Named(path.filename().string(), (*f)->Append(header));
  if (s.ok()) s = Named(path.filename().string(), (*f)->Sync());
  if (!s.ok()) return s;
  FsyncDirBestEffort(env, dir);
  seg = std::move(f).value();
  seg_size = header.size();
  return Status::Ok();
}

Result<uint64_t> Log::State::AppendLocked(std::string_view type, std::string_view payload,
                                          bool allow_checkpoint) {
  if (broken) return broken_status;
  const uint64_t seq = size.load();
  std::string body = format::EncodeBody(seq, Now(), prev, type, payload);
  scratch.clear();
  Hash leaf = format::AppendRecord(scratch, body);
  Status s = Named("audit segment", seg->Append(scratch));
  if (!s.ok()) {
    // Roll back a partial frame so the segment never holds a torn record mid-file.
    if (!seg->Truncate(seg_size).ok()) {
      broken = true;
      broken_status = Status::Io("audit segment left with a partial record: " + s.message());
    }
    return s;
  }
  seg_size += scratch.size();
  range.Append(leaf);
  prev = leaf;
  size.store(seq + 1);
  if (opts.sync == SyncMode::kEveryAppend) {
    s = Named("audit segment", seg->Sync());
    if (!s.ok()) return s;
    synced_size = seq + 1;
  }
  if (seg_size >= opts.segment_max_bytes) {
    s = StartSegmentLocked(seq + 1);
    if (!s.ok()) {
      broken = true;
      broken_status = s;
      return s;
    }
  }
  if (allow_checkpoint && seq + 1 - scheduled_cp_size >= opts.checkpoint_every_entries) {
    ScheduleCheckpointLocked();
    cv.notify_all();
  }
  if (!bg_error.ok()) return bg_error;  // a checkpoint failed; it is retried
  return seq;
}

void Log::State::ScheduleCheckpointLocked() {
  const uint64_t n = size.load();
  if (n <= scheduled_cp_size) return;
  pending.push_back({n, range.Root()});
  scheduled_cp_size = n;
}

Status Log::State::FlushPendingLocked(std::unique_lock<std::mutex>& lk) {
  cp_done.wait(lk, [this] { return !cp_in_flight; });
  if (broken) return broken_status;
  if (pending.empty()) return Status::Ok();
  cp_in_flight = true;
  Status s;
  // 1. The entries must be durable before any checkpoint over them is.
  const uint64_t target = pending.back().size;
  if (synced_size < target) {
    std::shared_ptr<WritableFile> f = seg;
    const uint64_t written = size.load();
    lk.unlock();
    Status synced = f->Sync();
    lk.lock();
    if (synced.ok()) {
      synced_size = std::max(synced_size, written);
      last_sync_time = Now();
    } else {
      s = Named("audit segment", synced);
    }
  }
  // 2. Sign and append every pending checkpoint, then one fdatasync for all of them.
  size_t taken = 0;
  std::string rec, last_note;
  if (s.ok()) {
    for (const PendingCheckpoint& p : pending) {
      if (p.size > synced_size) break;
      std::string body = format::CheckpointBody(opts.origin, p.size, p.root);
      auto sig = key->Sign(body);
      if (!sig.ok()) {
        s = sig.status();
        break;
      }
      last_note = body + "\n" + format::SignatureLine(opts.origin, key_id, sig.value());
      format::PutU32(rec, static_cast<uint32_t>(last_note.size()));
      rec += last_note;
      ++taken;
    }
  }
  if (s.ok() && taken > 0) {
    s = Named("checkpoints.log", ckp->Append(rec));
    if (s.ok()) {
      std::shared_ptr<WritableFile> f = ckp;
      lk.unlock();
      Status synced = f->Sync();
      lk.lock();
      s = Named("checkpoints.log", synced);
    }
    if (!s.ok()) {
      if (!ckp->Truncate(ckp_size).ok()) {
        broken = true;
        broken_status = Status::Io("checkpoints.log left with a partial record: " + s.message());
      }
    } else {
      ckp_size += rec.size();
      last_cp_size = pending[taken - 1].size;
      last_cp_time = Now();
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(taken));
      // Convenience copy of the newest note; checkpoints.log is authoritative (no fsync).
      WriteLatestNote(last_note);
    }
  }
  cp_in_flight = false;
  cp_done.notify_all();
  bg_error = s;
  return s;
}

void Log::State::WriteLatestNote(const std::string& note) {
  fs::path latest = dir / format::kLatestCheckpointFile;
  fs::path tmp = latest;
  tmp += ".tmp";
  OpenOptions o;
  o.mode = 0644;
  auto f = env->NewWritableFile(tmp, o);
  if (!f.ok()) return;  // a convenience copy: its failure never fails a checkpoint
  bool ok = (*f)->Append(note).ok();
  ok = (*f)->Close().ok() && ok;
  if (ok && env->RenameFile(tmp, latest).ok()) return;
  if (Status r = env->RemoveFile(tmp); !r.ok()) return;  // removed at the next Open
}

Status Log::State::CheckpointLocked(std::unique_lock<std::mutex>& lk) {
  if (broken) return broken_status;
  ScheduleCheckpointLocked();
  return FlushPendingLocked(lk);
}

Status Log::State::InitFresh(std::unique_lock<std::mutex>& lk) {
  auto k = Ed25519Key::Generate();
  if (!k.ok()) return k.status();
  key = std::move(k.value());
  key_id = NoteKeyId(opts.origin, key->RawPublic());
  key_index = 0;
  auto pem = key->PrivatePem();
  if (!pem.ok()) return pem.status();
  Status s = WriteFileDurably(env, KeysDir() / format::kSigningKeyFile, pem.value(), 0600);
  if (!s.ok()) return s;
  const std::string pub = key->PublicPem();
  s = WriteFileDurably(env, KeysDir() / KeyPubFileName(0), pub, 0644);
  if (!s.ok()) return s;
  s = WriteFileDurably(env, dir / format::kPublicKeyFile, pub, 0644);
  if (!s.ok()) return s;

  fs::path ckp_path = dir / format::kCheckpointsFile;
  auto cf = OpenFile(ckp_path, true, true);
  if (!cf.ok()) return cf.status();
  ckp = std::move(cf).value();
  std::string header = format::FileHeader(format::kCheckpointMagic, 0);
  s = Named("checkpoints.log", ckp->Append(header));
  if (s.ok()) s = Named("checkpoints.log", ckp->Sync());
  if (!s.ok()) return s;
  ckp_size = header.size();

  s = StartSegmentLocked(0);
  if (!s.ok()) return s;
  json::object p;
  p["format"] = 1;
  p["origin"] = opts.origin;
  p["public_key"] = Base64Encode(AsBytes(key->RawPublic()));
  p["key_id"] = HexEncode(AsBytes(key_id));
  p["checkpoint_every_entries"] = opts.checkpoint_every_entries;
  p["checkpoint_every_s"] = static_cast<uint64_t>(opts.checkpoint_every.count());
  p["sync"] = SyncName(opts.sync);
  p["max_pending_checkpoints"] = opts.max_pending_checkpoints;
  auto r = AppendLocked(format::kTypeLogInit, Serialize(p), false);
  if (!r.ok()) return r.status();
  return CheckpointLocked(lk);
}

Status Log::State::Recover(const std::vector<std::pair<uint64_t, fs::path>>& segments,
                           std::unique_lock<std::mutex>& lk) {
  // 1. Checkpoints: the newest one bounds what the segments must still contain.
  fs::path ckp_path = dir / format::kCheckpointsFile;
  auto ckp = ReadFile(ckp_path);
  if (!ckp.ok()) return Status::Corruption("checkpoints.log unreadable: " + ckp.status().message());
  const std::string& cdata = ckp.value();
  if (cdata.size() < format::kFileHeaderSize ||
      std::string_view(cdata).substr(0, 8) != format::kCheckpointMagic) {
    return Status::Corruption("checkpoints.log: bad header");
  }
  uint64_t pos = format::kFileHeaderSize;
  std::optional<format::Note> last_note;
  while (pos < cdata.size()) {
    if (cdata.size() - pos < 4) break;
    uint32_t len = format::GetU32(cdata.data() + pos);
    if (len == 0 || len > format::kMaxNoteLen) {
      return Status::Corruption("checkpoints.log: bad record at offset " + std::to_string(pos));
    }
    if (cdata.size() - pos - 4 < len) break;  // torn
    auto note = format::ParseNote(std::string_view(cdata).substr(pos + 4, len));
    if (!note.ok()) {
      return Status::Corruption("checkpoints.log offset " + std::to_string(pos) + ": " +
                                note.status().message());
    }
    last_note = std::move(note.value());
    pos += 4 + len;
  }
  const uint64_t torn_ckp_bytes = cdata.size() - pos;
  auto cf = OpenFile(ckp_path, false, false);
  if (!cf.ok()) return cf.status();
  this->ckp = std::move(cf).value();
  if (torn_ckp_bytes > 0) {
    if (Status t = this->ckp->Truncate(pos); !t.ok()) return Named("checkpoints.log", t);
    if (Status t = this->ckp->Sync(); !t.ok()) return Named("checkpoints.log", t);
  }
  ckp_size = pos;
  last_cp_size = last_note ? last_note->size : 0;
  scheduled_cp_size = last_cp_size;
  last_cp_time = Now();

  // 2. Segments: rebuild the chain and the tree.
  std::string active_pub;
  uint64_t rotations = 0;
  uint64_t every = opts.checkpoint_every_entries;  // the policy recorded in the log
  std::string last_type;
  std::optional<Hash> root_at_cp;
  struct Torn {
    std::string segment;
    uint64_t offset;
    std::string bytes;
  };
  std::optional<Torn> torn;
  uint64_t last_seg_size = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& [first, path] = segments[i];
    const std::string name = path.filename().string();
    auto data_r = ReadFile(path);
    if (!data_r.ok()) return data_r.status();
    const std::string& data = data_r.value();
    if (data.size() < format::kFileHeaderSize ||
        std::string_view(data).substr(0, 8) != format::kSegmentMagic ||
        format::GetU64(data.data() + 8) != first || first != size.load()) {
      return Status::Corruption(name + ": bad header or not contiguous with the previous segment");
    }
    format::SegmentReader reader(data);
    format::RecordView rec;
    std::string why;
    for (;;) {
      format::ReadStatus st = reader.Next(&rec, &why);
      if (st == format::ReadStatus::kEnd) break;
      if (st == format::ReadStatus::kTorn) {
        if (i + 1 == segments.size()) {
          torn = Torn{name, reader.pos(), data.substr(reader.pos())};
        }
        break;
      }
      const uint64_t seq = size.load();
      auto fail = [&](const std::string& w) {
        return Status::Corruption(name + " offset " + std::to_string(reader.pos()) + " seq " +
                                  std::to_string(seq) + ": " + w + "; run `scrubd audit verify`");
      };
      if (st == format::ReadStatus::kCorrupt) return fail(why);
      Hash leaf = LeafHash(AsBytes(rec.body));
      format::Entry e;
      if (leaf != rec.stored_hash) return fail("entry hash mismatch");
      if (!format::DecodeBody(rec.body, &e, &why)) return fail(why);
      if (e.seq != seq || e.prev_hash != prev) return fail("hash chain broken");
      if (e.type == format::kTypeLogInit || e.type == format::kTypeOpen) {
        json::error_code ec;
        json::value v = json::parse(e.payload, ec);
        if (!ec && v.is_object()) {
          if (const json::value* f = v.as_object().if_contains("checkpoint_every_entries")) {
            if (f->is_uint64() && f->as_uint64() > 0) every = f->as_uint64();
            if (f->is_int64() && f->as_int64() > 0) every = static_cast<uint64_t>(f->as_int64());
          }
        }
      }
      if (e.type == format::kTypeLogInit || e.type == format::kTypeKeyRotation) {
        json::error_code ec;
        json::value v = json::parse(e.payload, ec);
        const char* field = e.type == format::kTypeLogInit ? "public_key" : "new_public_key";
        const json::string* b64 = nullptr;
        if (!ec && v.is_object()) {
          if (const json::value* f = v.as_object().if_contains(field)) b64 = f->if_string();
        }
        std::optional<std::string> raw;
        if (b64 != nullptr) raw = Base64DecodeStrict(std::string_view(b64->data(), b64->size()));
        if (!raw || raw->size() != 32) return fail("bad key entry");
        active_pub = *raw;
        if (e.type == format::kTypeKeyRotation) ++rotations;
      }
      last_type = std::string(e.type);
      range.Append(leaf);
      prev = leaf;
      size.store(seq + 1);
      if (seq + 1 == last_cp_size) root_at_cp = range.Root();
      // Boundaries whose checkpoints were taken but not yet written when the process died:
      // take them again now, at the same sizes, so no unsealed run exceeds the policy.
      if (seq + 1 > scheduled_cp_size && seq + 1 - scheduled_cp_size >= every) {
        pending.push_back({seq + 1, range.Root()});
        scheduled_cp_size = seq + 1;
      }
    }
    last_seg_size = data.size();
  }
  const uint64_t n = size.load();
  if (n == 0) return Status::Corruption("audit log has segments but no entries");
  if (last_cp_size > n) {
    return Status::Corruption(
        "the log holds " + std::to_string(n) + " entries but its newest checkpoint covers " +
        std::to_string(last_cp_size) + ": truncated or damaged; run `scrubd audit verify`");
  }
  if (last_cp_size > 0 && (!root_at_cp || *root_at_cp != last_note->root)) {
    return Status::Corruption(
        "newest checkpoint does not match the log; run `scrubd audit verify`");
  }
  synced_size = n;

  // 3. The signing key must be the log's active key (finish an interrupted rotation).
  fs::path key_path = KeysDir() / format::kSigningKeyFile;
  fs::path new_key_path = key_path;
  new_key_path += ".new";
  auto load = [](const fs::path& p) -> std::unique_ptr<Ed25519Key> {
    auto pem = ReadFile(p);
    if (!pem.ok()) return nullptr;
    auto k = Ed25519Key::FromPrivatePem(pem.value());
    return k.ok() ? std::move(k.value()) : nullptr;
  };
  std::unique_ptr<Ed25519Key> k = load(key_path);
  if (!k || k->RawPublic() != active_pub) {
    std::unique_ptr<Ed25519Key> k2 = load(new_key_path);
    if (!k2 || k2->RawPublic() != active_pub) {
      return Status::Corruption("keys/signing.key is not the log's active key");
    }
    if (::rename(new_key_path.c_str(), key_path.c_str()) != 0) return Errno("signing.key");
    FsyncDir(KeysDir());
    k = std::move(k2);
  } else {
    std::error_code ec;
    fs::remove(new_key_path, ec);  // an aborted rotation that never reached the log
  }
  key = std::move(k);
  key_id = NoteKeyId(opts.origin, key->RawPublic());
  key_index = rotations;
  const std::string pub = key->PublicPem();
  auto cur_pub = ReadFile(dir / format::kPublicKeyFile);
  if (!cur_pub.ok() || cur_pub.value() != pub) {
    Status s = WriteFileDurably(env, dir / format::kPublicKeyFile, pub, 0644);
    if (!s.ok()) return s;
    s = WriteFileDurably(env, KeysDir() / KeyPubFileName(key_index), pub, 0644);
    if (!s.ok()) return s;
  }

  // 4. Reopen the newest segment for append, seal what survived, record the recovery.
  const fs::path& last_path = segments.back().second;
  auto sf = OpenFile(last_path, false, false);
  if (!sf.ok()) return sf.status();
  seg = std::move(sf).value();
  seg_size = last_seg_size;
  Status s = CheckpointLocked(lk);
  if (!s.ok()) return s;
  if (torn) {
    s = StartSegmentLocked(n);
    if (!s.ok()) return s;
    json::object g;
    g["segment"] = torn->segment;
    g["offset"] = torn->offset;
    g["length"] = static_cast<uint64_t>(torn->bytes.size());
    g["sha256"] = HexEncode(Sha256::Of(torn->bytes));
    g["reason"] = "torn tail: incomplete record after a crash";
    auto r = AppendLocked(format::kTypeGap, Serialize(g), false);
    if (!r.ok()) return r.status();
  }
  json::object o;
  o["checkpoint_every_entries"] = opts.checkpoint_every_entries;
  o["checkpoint_every_s"] = static_cast<uint64_t>(opts.checkpoint_every.count());
  o["sync"] = SyncName(opts.sync);
  o["max_pending_checkpoints"] = opts.max_pending_checkpoints;
  o["recovered_entries"] = n;
  o["clean_shutdown"] = last_type == format::kTypeClose;
  o["torn_checkpoint_bytes"] = torn_ckp_bytes;
  auto r = AppendLocked(format::kTypeOpen, Serialize(o), false);
  if (!r.ok()) return r.status();
  return CheckpointLocked(lk);
}

void Log::State::BackgroundLoop() {
  std::unique_lock<std::mutex> lk(mu);
  const auto ckp_every =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts.checkpoint_every);
  const auto tick =
      std::max(std::chrono::milliseconds(10), std::min(opts.sync_interval, ckp_every));
  while (!stop) {
    cv.wait_for(lk, tick);
    if (stop || broken) break;
    const uint64_t now = Now();
    const uint64_t n = size.load();
    if (opts.sync == SyncMode::kGroupCommit && synced_size < n &&
        now - last_sync_time >= static_cast<uint64_t>(opts.sync_interval.count()) * 1000) {
      // fdatasync outside the lock on a dup so appenders are not blocked.
      std::shared_ptr<WritableFile> f = seg;
      last_sync_time = now;
      lk.unlock();
      bool ok = f->Sync().ok();  // a failure is retried next tick and by every checkpoint
      lk.lock();
      if (ok) synced_size = std::max(synced_size, n);
    }
    // Checkpoint errors land in bg_error, which the next Append returns.
    if (!stop && !pending.empty()) bg_error = FlushPendingLocked(lk);
    if (!stop && size.load() > scheduled_cp_size &&
        Now() - last_cp_time >= static_cast<uint64_t>(opts.checkpoint_every.count()) * 1000000) {
      bg_error = CheckpointLocked(lk);
    }
  }
}

void Log::State::StopBackground(std::unique_lock<std::mutex>& lk) {
  stop = true;
  cv.notify_all();
  lk.unlock();
  if (bg.joinable()) bg.join();
  lk.lock();
}

Log::Log(std::unique_ptr<State> state) : state_(std::move(state)) {}

Log::~Log() {
  if (!state_) return;
  std::unique_lock<std::mutex> lk(state_->mu);
  if (!state_->closed) {
    state_->closed = true;
    state_->StopBackground(lk);
    // No close record; a failed sync here is what the next Open's recovery handles.
    if (state_->seg && !state_->seg->Sync().ok()) return;
  }
}

Result<std::unique_ptr<Log>> Log::Open(const fs::path& dir, const Options& opts) {
  if (opts.origin.empty() || opts.origin.find_first_of(" \t\r\n+") != std::string::npos) {
    return Status::InvalidConfig("audit origin must be non-empty without whitespace or '+'");
  }
  if (opts.checkpoint_every_entries == 0) {
    return Status::InvalidConfig("checkpoint_every_entries must be >= 1");
  }
  if (opts.max_pending_checkpoints == 0) {
    return Status::InvalidConfig("max_pending_checkpoints must be >= 1");
  }
  if (opts.checkpoint_every.count() <= 0) {
    return Status::InvalidConfig("checkpoint_every must be > 0");
  }
  auto st = std::make_unique<State>();
  st->dir = dir;
  st->opts = opts;
  st->env = opts.env ? opts.env : Env::Default();
  Status s = MakeDirs(dir, 0700);
  if (!s.ok()) return s;
  s = MakeDir(st->KeysDir(), 0700);
  if (!s.ok()) return s;
  fs::path lock_path = dir / "LOCK";
  st->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->lock_fd < 0) return Errno(lock_path.string());
  if (::flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable(dir.string() + " is in use by another audit writer");
  }
  // Temp files of interrupted key or latest-checkpoint writes: never part of the log.
  if (Result<uint64_t> temps = RemoveTempFiles(st->env, dir); !temps.ok())
    return Status::Io("audit temp cleanup: " + temps.status().message());

  std::vector<std::pair<uint64_t, fs::path>> segments;
  std::error_code ec;
  for (const auto& de : fs::directory_iterator(dir, ec)) {
    if (auto first = format::ParseSegmentName(de.path().filename().string())) {
      segments.emplace_back(*first, de.path());
    }
  }
  if (ec) return Status::Io(dir.string() + ": " + ec.message());
  std::sort(segments.begin(), segments.end());

  std::unique_lock<std::mutex> lk(st->mu);
  if (segments.empty()) {
    std::error_code e2;
    auto csize = fs::file_size(dir / format::kCheckpointsFile, e2);
    if (!e2 && csize > format::kFileHeaderSize) {
      return Status::Corruption("checkpoints exist but every audit segment is missing");
    }
    s = st->InitFresh(lk);
  } else {
    s = st->Recover(segments, lk);
  }
  if (!s.ok()) return s;
  st->last_sync_time = st->Now();
  State* raw = st.get();
  st->bg = std::thread([raw] { raw->BackgroundLoop(); });
  return std::unique_ptr<Log>(new Log(std::move(st)));
}

Result<uint64_t> Log::Append(std::string_view type, std::string_view payload_json) {
  if (!format::IsValidType(type)) {
    return Status::InvalidInput("audit entry type must match [a-z0-9_.]{1,64}");
  }
  if (format::IsReservedType(type)) {
    return Status::InvalidInput("audit entry type '" + std::string(type) + "' is reserved");
  }
  {
    unsigned char buf[4096];
    json::monotonic_resource mr(buf, sizeof(buf));
    json::error_code ec;
    json::value v = json::parse(payload_json, ec, &mr);
    if (ec || !v.is_object()) {
      return Status::InvalidInput("audit payload must be a JSON object");
    }
  }
  std::unique_lock<std::mutex> lk(state_->mu);
  State& s = *state_;
  // Back-pressure: at most max_pending_checkpoints may be pending (taken, not yet durable), so a
  // crash never leaves more than (1 + that) * checkpoint_every_entries entries unsealed.
  s.cp_done.wait(lk, [&s] {
    return s.closed || s.broken || !s.bg_error.ok() ||
           s.pending.size() < s.opts.max_pending_checkpoints ||
           s.size.load() + 1 - s.scheduled_cp_size < s.opts.checkpoint_every_entries;
  });
  if (s.closed) return Status::Unavailable("audit log is closed");
  return s.AppendLocked(type, payload_json, true);
}

Status Log::Checkpoint() {
  std::unique_lock<std::mutex> lk(state_->mu);
  if (state_->closed) return Status::Unavailable("audit log is closed");
  return state_->CheckpointLocked(lk);
}

Status Log::RotateKey() {
  std::unique_lock<std::mutex> lk(state_->mu);
  State& s = *state_;
  if (s.closed) return Status::Unavailable("audit log is closed");
  Status st = s.CheckpointLocked(lk);  // seal everything the old key is responsible for
  if (!st.ok()) return st;
  auto nk = Ed25519Key::Generate();
  if (!nk.ok()) return nk.status();
  std::unique_ptr<Ed25519Key> new_key = std::move(nk.value());
  auto pem = new_key->PrivatePem();
  if (!pem.ok()) return pem.status();
  const fs::path key_path = s.KeysDir() / format::kSigningKeyFile;
  fs::path new_key_path = key_path;
  new_key_path += ".new";
  st = WriteFileDurably(s.env, new_key_path, pem.value(), 0600);
  if (!st.ok()) return st;

  const uint64_t seq = s.size.load();
  const std::string msg =
      format::RotationMessage(s.opts.origin, seq, s.prev, s.key->RawPublic(), new_key->RawPublic());
  auto endorsement = s.key->Sign(msg);
  auto acceptance = new_key->Sign(msg);
  if (!endorsement.ok()) return endorsement.status();
  if (!acceptance.ok()) return acceptance.status();
  const std::string new_id = NoteKeyId(s.opts.origin, new_key->RawPublic());
  json::object p;
  p["key_index"] = s.key_index + 1;
  p["old_key_id"] = HexEncode(AsBytes(s.key_id));
  p["new_key_id"] = HexEncode(AsBytes(new_id));
  p["new_public_key"] = Base64Encode(AsBytes(new_key->RawPublic()));
  p["endorsement"] = Base64Encode(AsBytes(endorsement.value()));
  p["acceptance"] = Base64Encode(AsBytes(acceptance.value()));
  auto r = s.AppendLocked(format::kTypeKeyRotation, Serialize(p), false);
  if (!r.ok()) return r.status();
  if (s.synced_size < s.size.load()) {
    st = Named("audit segment", s.seg->Sync());
    if (!st.ok()) return st;
    s.synced_size = s.size.load();
  }
  // Destroy the old private key (best effort on the bytes), then install the new one.
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat sb {};
    if (::fstat(fd, &sb) == 0 && sb.st_size > 0) {
      std::string zeros(static_cast<size_t>(sb.st_size), '\0');
      // Best effort: the key file is replaced by rename next either way.
      if (WriteAll(fd, zeros, "signing.key").ok()) ::fsync(fd);
    }
    ::close(fd);
  }
  if (::rename(new_key_path.c_str(), key_path.c_str()) != 0) return Errno("signing.key");
  FsyncDir(s.KeysDir());
  s.key = std::move(new_key);
  s.key_id = new_id;
  s.key_index += 1;
  const std::string pub = s.key->PublicPem();
  st = WriteFileDurably(s.env, s.KeysDir() / KeyPubFileName(s.key_index), pub, 0644);
  if (!st.ok()) return st;
  st = WriteFileDurably(s.env, s.dir / format::kPublicKeyFile, pub, 0644);
  if (!st.ok()) return st;
  return s.CheckpointLocked(lk);
}

Status Log::Close() {
  std::unique_lock<std::mutex> lk(state_->mu);
  State& s = *state_;
  if (s.closed) return Status::Ok();
  json::object p;
  p["entries"] = s.size.load();
  Status result;
  auto r = s.AppendLocked(format::kTypeClose, Serialize(p), false);
  if (!r.ok()) result = r.status();
  Status c = s.CheckpointLocked(lk);
  if (result.ok() && !c.ok()) result = c;
  if (result.ok() && !s.bg_error.ok()) result = s.bg_error;
  s.closed = true;
  s.StopBackground(lk);
  if (s.seg) {
    if (Status c = Named("audit segment", s.seg->Sync()); result.ok()) result = c;
    s.seg.reset();
  }
  s.ckp.reset();
  if (s.lock_fd >= 0) {
    ::close(s.lock_fd);
    s.lock_fd = -1;
  }
  return result;
}

std::string Log::PublicKeyPem() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  return state_->key->PublicPem();
}

uint64_t Log::Size() const { return state_->size.load(); }

}  // namespace scrubd::audit
