// The ingest flow of /s/, /e/, /i/v0/e/...: decode -> routing-id check -> admit (consent,
// tombstones) -> page gate -> scrub -> audit-then-sink. Owned by App; Handle may run on many
// request threads at once (each request keeps the policy snapshot it started with).
// SetHooks is called once before serving.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "scrubd/common/deadline.h"
#include "scrubd/policies/policy.h"
#include "server/batch_sink.h"
#include "server/http_types.h"
#include "server/metrics.h"

namespace scrubd::dom {
class StateStore;
}

namespace scrubd::server {

class Auditor;

struct IngestConfig {
  ingest::DecodeLimits limits;
  std::string pseudonym_key;  // HMAC key for session ids in logs and the audit log
  // CPU time one request may spend decoding and scrubbing; 0: no deadline.
  std::chrono::nanoseconds request_deadline{std::chrono::milliseconds(2000)};
};

// What a hook derives from one admitted event before it is scrubbed (the subjects module keeps
// the pseudonyms of its ids): opaque to the pipeline, handed back once the batch is stored.
class IngestNote {
 public:
  virtual ~IngestNote() = default;
};

// What a successful sink hands to IngestHooks::OnStored. References live for the call only.
struct StoredBatch {
  // One note per admitted and stored event, in batch order (null where the hook gave none).
  const std::vector<std::unique_ptr<IngestNote>>& notes;
  const std::vector<uint64_t>& spool_seqs;  // the upstream spool records (empty: local only)
};

// The subjects module's seams into ingest. Called on request threads, under the erasure lock
// held shared (see IngestPipeline::SetHooks); implementations must be thread-safe.
class IngestHooks {
 public:
  virtual ~IngestHooks() = default;
  // Called once for each event a policy admits, before scrubbing. `*tombstoned` true drops it
  // (verdict kTombstone, counted as dropped "tombstone"; the batch is still answered 200).
  // The note (may be null) comes back in OnStored if the event is stored.
  virtual std::unique_ptr<IngestNote> Admit(const ingest::Event& event, bool* tombstoned) = 0;
  // After the sink made the batch durable, when at least one event was stored: the subject
  // index. An error answers the batch 503 (the client retries, and the retry is indexed), so
  // no acknowledged batch is missing from the index that erasure searches.
  virtual Status OnStored(const StoredBatch& batch) = 0;
};

class IngestPipeline {
 public:
  using PolicySource = std::function<std::shared_ptr<const policies::PolicySet>()>;
  // Pointers must outlive the pipeline; `state` may be null (no DOM state).
  IngestPipeline(IngestConfig config, PolicySource policies, dom::StateStore* state,
                 BatchSink* sink, Auditor* auditor, Metrics* metrics);

  // `hooks` (may be null) is consulted on every batch. With `erasure_lock`, each batch holds it
  // shared from admission until its sink write and OnStored have returned, so an eraser taking
  // it exclusively waits for every in-flight batch. Call before serving; pointers outlive this.
  void SetHooks(IngestHooks* hooks, std::shared_mutex* erasure_lock);

  HttpResponse Handle(const HttpRequest& req, ingest::Endpoint endpoint);
  // scrubd_events_dropped_by_reason_total{reason="tombstone|consent|..."} lines.
  std::string MetricsText() const { return dropped_.Text(); }

 private:
  struct Admitted;
  HttpResponse Reject(std::string_view endpoint, std::string_view reason, std::string_view detail,
                      size_t bytes, HttpResponse answer);
  bool RoutingIdsLookPersonal(const ingest::Batch& batch, const policies::PolicySet& set) const;
  void AdmitAndScrub(const HttpRequest& req, ingest::Batch& batch, const policies::PolicySet& set,
                     Deadline* deadline, Admitted* out);
  HttpResponse Store(const HttpRequest& req, ingest::Endpoint endpoint, const ingest::Batch& batch,
                     Admitted& admitted);
  Result<uint64_t> AuditThenSink(const CleanBatch& batch, boost::json::object entry,
                                 std::vector<uint64_t>* spool_seqs);

  const IngestConfig config_;
  const PolicySource policies_;
  dom::StateStore* state_;
  BatchSink* sink_;
  Auditor* auditor_;
  Metrics* metrics_;
  IngestHooks* hooks_ = nullptr;
  std::shared_mutex* erasure_lock_ = nullptr;
  LabeledCounter dropped_{"scrubd_events_dropped_by_reason_total"};  // reasons are fixed names
};

}  // namespace scrubd::server
