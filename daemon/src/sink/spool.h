// The durable upstream spool: acknowledged, encoded batches waiting for delivery, one file per
// batch under DATA_DIR/spool (format: daemon/src/sink/SPOOL_FORMAT.md). Thread-safe: Append
// may run on many request threads while one forwarder reads, removes and dead-letters.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"
#include "sink/erasure.h"

namespace scrubd::sink {

// One spooled batch: where it goes and the exact body bytes.
struct SpoolRecord {
  std::string target;        // path and query on the upstream, e.g. "/s/?compression=gzip-js"
  std::string content_type;  // e.g. "text/plain"
  std::string token;         // project token (an id)
  std::string batch_id;      // pseudonymous id for logs
  std::string client_ip;     // already scrubbed client address, sent as X-Forwarded-For; "" none
  uint64_t events = 0;
  int64_t created_ms = 0;  // set by Append
  std::string body;
};

struct SpoolStats {
  uint64_t pending_files = 0;
  uint64_t pending_bytes = 0;
  uint64_t dead_files = 0;       // moved to dead/ since open (plus those found on open)
  uint64_t corrupt_files = 0;    // of those, failed the format check
  uint64_t full_rejections = 0;  // Appends refused because the spool was full
  uint64_t erased_files = 0;     // pending or dead records removed by Erase since open
};

class Spool {
 public:
  struct Options {
    std::filesystem::path dir;               // DATA_DIR/spool
    uint64_t max_bytes = uint64_t{1} << 30;  // pending bytes; Append fails above
    std::function<int64_t()> now_ms;         // wall clock (injectable); default system_clock
    Env* env = nullptr;  // file-system seam; null: Env::Default(). Must outlive the spool.
  };

  // Creates the directory (0700), deletes unacknowledged temp files and indexes the pending
  // files so delivery resumes where it stopped.
  static Result<std::unique_ptr<Spool>> Open(Options options);

  // Durably writes the record (tmp, fsync, rename, fsync dir) and returns its sequence number.
  // kUnavailable when the spool would exceed max_bytes (the caller answers 503); kIo on a
  // file-system error. Nothing is indexed unless the write completed.
  Result<uint64_t> Append(SpoolRecord record);

  // Sequence number of the oldest pending file, if any.
  std::optional<uint64_t> Oldest() const;
  // Reads and checks one pending file. kCorruption when it fails the format check.
  Result<SpoolRecord> Read(uint64_t seq) const;
  // Deletes a delivered file.
  Status Remove(uint64_t seq);
  // Moves a pending file to dead/ with a one-line reason (ids and codes only). kNotFound
  // (nothing written) when `seq` is no longer pending, e.g. erased while being delivered.
  Status MoveToDead(uint64_t seq, const std::string& reason);

  // Erasure: removes the pending file and the dead letter (.req and .reason) of each seq,
  // drops them from the index and stats, then fsyncs spool/ and spool/dead/ (always, so a
  // rerun after a failed fsync makes an earlier unlink durable). Returns the counts in
  // `spool` (pending files) and `dead` (dead letters). Idempotent; unknown seqs are skipped.
  // Safe beside the forwarder: a record it is delivering may already be upstream (the
  // upstream erasure covers that), but it is never re-created here: Remove only unlinks, and
  // MoveToDead refuses a seq Erase took out of the index (both serialize on file_mu_).
  Result<EraseCounts> Erase(const std::vector<uint64_t>& seqs);
  // Retention: every dead letter with its project token and the time it was spooled (Unix
  // ms). A dead letter that fails the format check has an empty token and its file's time.
  struct DeadLetter {
    uint64_t seq = 0;
    std::string token;
    int64_t created_ms = 0;
  };
  Result<std::vector<DeadLetter>> DeadLetters() const;
  // True while a pending or dead file (or a dead .reason) of `seq` exists: the residue check.
  bool Holds(uint64_t seq) const;

  // Blocks until a file is pending, Wake() is called, or `timeout` passes. True if pending.
  bool WaitForPending(std::chrono::milliseconds timeout);
  void Wake();

  SpoolStats stats() const;
  const std::filesystem::path& dir() const { return opts_.dir; }

  // Serialization of one record (exposed for tests and tools).
  static std::string Encode(const SpoolRecord& r);
  static Result<SpoolRecord> Decode(std::string_view file);

 private:
  explicit Spool(Options o) : opts_(std::move(o)) {}
  std::filesystem::path PathFor(uint64_t seq) const;
  std::filesystem::path DeadPathFor(uint64_t seq, const char* ext) const;
  void Unindex(uint64_t seq);                          // requires mu_
  Status EraseOne(uint64_t seq, EraseCounts* counts);  // requires file_mu_

  Options opts_;
  // file_mu_ serializes the calls that move or erase existing files (MoveToDead, Erase), so
  // an erased record is never dead-lettered back into existence. Order: file_mu_, then mu_.
  std::mutex file_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, uint64_t> pending_;  // seq -> file bytes
  uint64_t pending_bytes_ = 0;
  uint64_t reserved_bytes_ = 0;  // writes in progress
  uint64_t next_seq_ = 1;
  uint64_t wake_gen_ = 0;
  SpoolStats counters_;
};

}  // namespace scrubd::sink
