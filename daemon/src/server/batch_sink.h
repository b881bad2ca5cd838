// Where a cleaned batch goes: the BatchSink interface and its three implementations, the
// local store, the upstream spool, and both (spool first, then the store). Used by the
// ingest pipeline only. Thread-safe: Write may run on many request threads (the store and
// the spool are thread-safe); the sinks hold no state of their own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "scrubd/common/status.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::sink {
class LocalStore;
class Upstream;
}  // namespace scrubd::sink

namespace scrubd::server {

// A scrubbed batch ready to be made durable. The events are owned by the caller's batch and
// must outlive the Write call.
struct CleanBatch {
  std::string path;                        // the path the client used, e.g. "/s/", "/e/"
  bool recording = false;                  // the recording endpoint
  std::string batch_id;                    // the session pseudonym (spool record id)
  std::string client_ip;                   // already scrubbed per policy; sent to the upstream only
  std::vector<ingest::Event*> recordings;  // $snapshot events
  std::vector<ingest::Event*> events;      // analytics events
  // The redactions of each recordings[i] (empty when unknown): the local sink adds them to the
  // session's row. The batch's totals are in its audit entry.
  std::vector<rules::RedactionCounts> recording_counts;
  // Events this batch stores: analytics events plus the rrweb items of each snapshot.
  uint64_t Count() const;
};

struct SinkResult {
  uint64_t stored = 0;               // CleanBatch::Count() once durable
  std::vector<uint64_t> spool_seqs;  // upstream spool records written (empty: local only)
};

class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // OK only when every event is durable (the client may be answered 200). Errors name the
  // failed step and errno, never a path or a raw id.
  virtual Result<SinkResult> Write(const CleanBatch& batch) = 0;
};

// The local store (recordings/<token>/<session>/ chunks and the events index). Index columns
// and paths are derived from the scrubbed JSON before anything is written.
class LocalSink : public BatchSink {
 public:
  explicit LocalSink(sink::LocalStore* store) : store_(store) {}  // store outlives this
  Result<SinkResult> Write(const CleanBatch& batch) override;

 private:
  sink::LocalStore* store_;
};

// The upstream's durable spool (forwarded later by the upstream's forwarder).
class UpstreamSink : public BatchSink {
 public:
  explicit UpstreamSink(sink::Upstream* upstream) : upstream_(upstream) {}  // outlives this
  Result<SinkResult> Write(const CleanBatch& batch) override;

 private:
  sink::Upstream* upstream_;
};

// `first` then `second`; fails at the first failure (the spool record stays: the upstream
// gets the batch, the client retries, the store's writes are idempotent per chunk).
class BothSink : public BatchSink {
 public:
  BothSink(std::unique_ptr<BatchSink> first, std::unique_ptr<BatchSink> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  Result<SinkResult> Write(const CleanBatch& batch) override;

 private:
  std::unique_ptr<BatchSink> first_, second_;
};

// The sink `serve` configures: the upstream spool when `upstream` is set (and the store too
// when `upstream_and_store`), else the local store. Pointers must outlive the sink.
std::unique_ptr<BatchSink> MakeBatchSink(sink::LocalStore* store, sink::Upstream* upstream,
                                         bool upstream_and_store);

}  // namespace scrubd::server
