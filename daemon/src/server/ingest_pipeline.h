// The ingest flow of /s/, /e/, /i/v0/e/...: decode -> routing-id check -> admit (consent,
// tombstones) -> page gate -> scrub -> audit-then-sink, or the consent quarantine. Owned by App;
// Handle may run on many request threads at once (each request keeps the policy snapshot it started
// with). SetHooks is called once before serving.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
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
namespace scrubd::consent {
class ConsentGate;
class Quarantine;
struct HeldBatch;
}  // namespace scrubd::consent

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
  // True when the subject of a note Admit gave has been erased since (a batch held for consent
  // is checked again before it is stored).
  virtual bool Suppressed(const IngestNote& note) {
    (void)note;
    return false;
  }
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

  // The consent gate and its quarantine (consent/gate.h, docs/consent.md). Without them,
  // consent is not enforced (tests of other stages). Call before serving; pointers outlive this.
  void SetConsent(consent::ConsentGate* gate, consent::Quarantine* quarantine);

  HttpResponse Handle(const HttpRequest& req, ingest::Endpoint endpoint);
  // Deletes the held batches whose wait ended (counted consent_timeout); the consent wiring
  // calls it every second. Returns the batches deleted.
  uint64_t ExpireHeld(int64_t now_ms);
  // Deletes every held batch (shutdown: the quarantine is memory only), audited with `reason`.
  uint64_t DiscardAllHeld(std::string_view reason);
  // scrubd_events_dropped_by_reason_total{reason="tombstone|consent|..."} and the
  // scrubd_consent_* lines.
  std::string MetricsText() const;

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
  // consent_pipeline.cc: holding, releasing and discarding quarantined batches.
  void HoldBack(const HttpRequest& req, ingest::Endpoint endpoint, ingest::Batch& batch,
                Admitted& admitted);
  Status ReleaseAndDiscard(Admitted& admitted);
  Status StoreReleased(std::vector<consent::HeldBatch> release);
  struct HeldKey {
    std::string token, session, subject, client;
  };
  void Recheck(const std::vector<HeldKey>& keys);
  Status StoreHeld(consent::HeldBatch& held);
  void Discard(std::vector<consent::HeldBatch> batches, std::string_view reason);

  const IngestConfig config_;
  const PolicySource policies_;
  dom::StateStore* state_;
  BatchSink* sink_;
  Auditor* auditor_;
  Metrics* metrics_;
  IngestHooks* hooks_ = nullptr;
  consent::ConsentGate* consent_ = nullptr;
  consent::Quarantine* quarantine_ = nullptr;
  std::mutex release_mu_;          // serialises releases (consent_pipeline.cc)
  std::atomic<int> releasing_{0};  // releases in flight
  std::atomic<uint64_t> held_total_{0}, released_total_{0}, timeout_total_{0}, discarded_total_{0};
  std::shared_mutex* erasure_lock_ = nullptr;
  LabeledCounter dropped_{"scrubd_events_dropped_by_reason_total"};  // reasons are fixed names
};

}  // namespace scrubd::server
