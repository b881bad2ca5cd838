// Log::ProveRecent: inclusion proofs of recent entries from the writer's memory (receipts).
// The lock is held only to force the checkpoint and copy the window; hashing and the read of
// the entry's record run outside it, so appenders are not held up.
#include <fcntl.h>
#include <unistd.h>

#include "log_state.h"

namespace scrubd::audit {
namespace {

// Reads exactly `len` bytes at `offset`.
Status PreadAll(int fd, uint64_t offset, size_t len, std::string* out) {
  out->resize(len);
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out->data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Io("audit segment: short read");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The body of the record at `where`, checked against its leaf hash.
Result<std::string> ReadEntryBody(const fs::path& dir, const LeafLocation& where,
                                  const Hash& leaf) {
  const fs::path path = dir / format::SegmentName(where.segment_first_seq);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return log_detail::Errno(path.filename().string());
  std::string len_bytes, body;
  Status s = PreadAll(fd, where.offset, 4, &len_bytes);
  uint32_t len = s.ok() ? format::GetU32(len_bytes.data()) : 0;
  if (s.ok() && (len == 0 || len > format::kMaxBodyLen)) {
    s = Status::Corruption("audit record length is out of range");
  }
  if (s.ok()) s = PreadAll(fd, where.offset + 4, len, &body);
  ::close(fd);
  if (!s.ok()) return s;
  if (LeafHash(AsBytes(body)) != leaf) {
    return Status::Corruption("audit entry on disk does not match its leaf hash");
  }
  return body;
}

}  // namespace

Result<InclusionProof> Log::ProveRecent(uint64_t seq, std::string* signer_pem) {
  std::unique_lock<std::mutex> lk(state_->mu);
  State& s = *state_;
  if (s.closed) return Status::Unavailable("audit log is closed");
  if (seq >= s.size.load()) return Status::NotFound("audit entry not appended yet");
  if (s.last_cp_size <= seq) {
    if (Status c = s.CheckpointLocked(lk); !c.ok()) return c;
    if (s.last_cp_size <= seq) return Status::Internal("checkpoint does not cover the entry");
  }
  if (seq < s.recent.base()) {
    return Status::NotFound("audit entry is older than the writer's window of recent entries");
  }
  InclusionProof proof;
  proof.seq = seq;
  proof.tree_size = s.last_cp_size;
  proof.checkpoint_note = s.last_note_text;
  const std::string raw_pub = s.last_note_raw_pub;
  RecentLeaves::Snapshot snap = s.recent.Take(proof.tree_size);
  const fs::path dir = s.dir;
  lk.unlock();

  auto note = format::ParseNote(proof.checkpoint_note);
  if (!note.ok() || note->size != proof.tree_size) {
    return Status::Internal("the newest checkpoint note does not match its size");
  }
  std::optional<Hash> root = snap.Root(proof.tree_size);
  std::optional<std::vector<Hash>> path = snap.Path(seq, proof.tree_size);
  if (!root || !path) return Status::Internal("recent-leaf window cannot prove the entry");
  if (*root != note->root) {
    return Status::Corruption("recent-leaf window disagrees with the signed checkpoint root");
  }
  proof.path = std::move(*path);
  auto body = ReadEntryBody(dir, snap.locations[seq - snap.base], snap.leaves[seq - snap.base]);
  if (!body.ok()) return body.status();
  proof.entry_body = std::move(body).value();
  auto key = Ed25519Key::FromRawPublic(AsBytes(raw_pub));
  if (!key.ok()) return Status::Internal("checkpoint signer key: " + key.status().message());
  if (signer_pem != nullptr) *signer_pem = key.value()->PublicPem();
  return proof;
}

}  // namespace scrubd::audit
