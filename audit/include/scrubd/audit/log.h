// The signed, tamper-evident audit log writer: append-only segments, RFC 9162 Merkle tree,
// Ed25519-signed C2SP checkpoints, key rotation, torn-tail recovery (format: audit/FORMAT.md).
// Called by the daemon (and the audit CLI for rotate-key). Thread-safe: Append, Checkpoint,
// RotateKey, Close, PublicKeyPem and Size may be called concurrently from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/audit/verify.h"
#include "scrubd/common/env.h"
#include "scrubd/common/status.h"

namespace scrubd::audit {

// Durability policy (FORMAT.md section 6).
enum class SyncMode {
  // Append returns after write(2). A background thread fdatasyncs at most every
  // sync_interval when dirty; every checkpoint fdatasyncs first. A process crash loses
  // nothing acknowledged; a power loss may lose up to sync_interval of entries.
  kGroupCommit,
  // Append returns after fdatasync. Nothing acknowledged is ever lost; appenders serialise.
  kEveryAppend,
};

struct Options {
  uint64_t checkpoint_every_entries = 1000;  // sign a checkpoint after this many entries
  std::chrono::seconds checkpoint_every = std::chrono::seconds(60);  // ... or this long
  std::string origin = "scrubd/audit";  // checkpoint origin and key name; no spaces or '+'
  SyncMode sync = SyncMode::kGroupCommit;
  std::chrono::milliseconds sync_interval = std::chrono::milliseconds(100);
  uint64_t segment_max_bytes = uint64_t{64} << 20;  // start a new segment beyond this
  // Checkpoints are fsynced and signed off the append path; appenders wait only when this many
  // are already pending. After a crash at most (1 + this) * checkpoint_every_entries entries
  // are unsealed; the verifier enforces that bound (recorded in the log).
  uint64_t max_pending_checkpoints = 3;
  // Clock seam (Unix microseconds). Empty: env->NowMicros().
  std::function<uint64_t()> now_us;
  // File-system seam for every write (segments, checkpoints, keys). Null: Env::Default().
  // Must outlive the Log.
  Env* env = nullptr;
};

// One entry read back from the log (Log::Recent): its payload is the JSON the caller appended.
struct RecentEntry {
  uint64_t seq = 0;
  uint64_t time_us = 0;
  std::string type;
  std::string payload;
};

// The newest signed checkpoint the writer holds (Log::NewestCheckpoint).
struct CheckpointStatus {
  uint64_t size = 0;     // entries it covers
  uint64_t entries = 0;  // entries in the log now (>= size)
  uint64_t time_us = 0;  // when the newest checkpoint was taken
  std::string origin;    // the note's first line
  std::string root;      // base64 Merkle root, the note's third line
  std::string note;      // the signed note, verbatim (usable as --trusted-checkpoint)
};

class Log {
 public:
  // dir is DATA_DIR/audit. Creates dir (0700), key (0600) and public.pem on first start;
  // recovers a torn tail by appending a gap entry. Only one Log may hold a directory (flock);
  // a second Open returns kUnavailable. A log inconsistent with its own checkpoints (e.g.
  // truncated) is refused with kCorruption: run `scrubd audit verify`.
  static Result<std::unique_ptr<Log>> Open(const std::filesystem::path& dir, const Options& opts);

  // Destroying a Log without Close() syncs the files but writes no close record; the next
  // Open records an unclean shutdown.
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // type like "batch", "policy_load", "startup" ([a-z0-9_.]{1,64}, not a reserved library
  // type); payload_json is a JSON object text (counts/ids only, caller guarantees no PII).
  // Returns the entry's seq. If the entry was written but the checkpoint it triggered failed,
  // returns that error (the entry stays in the log; the next append retries the checkpoint).
  Result<uint64_t> Append(std::string_view type, std::string_view payload_json);
  Status Checkpoint();  // force a signed checkpoint now (no-op if nothing new)
  Status RotateKey();   // new key endorsed by the old one; audited as a key_rotation entry
  // Appends an audit_close entry, writes the final checkpoint, syncs and releases the
  // directory. The caller appends its own "shutdown" entry before. Idempotent.
  Status Close();
  std::string PublicKeyPem() const;  // the active key (PEM SubjectPublicKeyInfo)
  // Forces a signed checkpoint covering entry `seq` unless one does already, and returns the
  // RFC 9162 inclusion proof of `seq` against the newest checkpoint, with the PEM of the key
  // that signed it in `signer_pem`. Built from the writer's memory window of recent leaves
  // (the newest 8,192..16,384 entries): O(window) hashing plus one pread of the entry, while
  // appends continue. kNotFound when `seq` is older than the window (use Prove) or not
  // appended yet; kCorruption when the entry read back does not match its leaf hash.
  Result<InclusionProof> ProveRecent(uint64_t seq, std::string* signer_pem);
  uint64_t Size() const;  // number of entries
  // The newest `max_entries` entries (at most the writer's window of recent entries, which
  // Open fills from the log), newest first; each record is read back from its segment and
  // checked against its leaf hash (kCorruption otherwise). Appends continue meanwhile.
  Result<std::vector<RecentEntry>> Recent(uint64_t max_entries) const;
  CheckpointStatus NewestCheckpoint() const;
  std::filesystem::path Dir() const;  // the directory Open was given

 private:
  struct State;  // implementation detail (log.cc)
  explicit Log(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace scrubd::audit
