#include "scrubd/audit/log.h"

#include "log_state.h"

namespace scrubd::audit {

using namespace log_detail;  // NOLINT: the writer's own helpers

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
  seg_first = first_seq;
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
  recent.Append(leaf, {seg_first, seg_size});
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
      last_note_text = last_note;
      last_note_raw_pub = key->RawPublic();
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
