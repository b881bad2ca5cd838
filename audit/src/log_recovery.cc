// Log::Open over an existing directory: rebuilds the chain and the tree from the segments,
// truncates a torn checkpoint record, finishes an interrupted key rotation, seals what
// survived and records the recovery (FORMAT.md sections 5 and 6).
#include "log_state.h"

namespace scrubd::audit {

using namespace log_detail;  // NOLINT: the writer's own helpers

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
    last_note_text = cdata.substr(pos + 4, len);
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
      recent.Append(leaf, {first, rec.offset});
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
  seg_first = segments.back().first;
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

}  // namespace scrubd::audit
