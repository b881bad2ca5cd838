// The subject-request service: takes erasure, access and portability requests, keeps them
// durable in the SubjectStore, runs them on a work thread (never on a request worker), retries
// the upstream step, defers erasures under a legal hold until it is released, and reports
// every status change (docs/subjects.md). Thread-safe.
// Raw identities live in memory only, from Submit until the request ends or the process stops.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scrubd/common/status.h"
#include "subjects/erasure.h"
#include "subjects/subject_store.h"

namespace scrubd::subjects {

struct NewRequest {
  std::string id;                   // lowercase UUID v4; generated when empty
  std::string type;                 // erasure | access | portability
  std::string regulation = "gdpr";  // gdpr | ccpa (deadlines)
  int64_t submitted_ms = 0;
  std::vector<Identity> identities;
  std::vector<std::string> callback_urls;
  std::string reason;  // kept with the request, never logged or audited
};

struct ServiceOptions {
  // Runs a job off the caller's thread (the daemon's work queue). Empty: run inline (CLI).
  std::function<void(std::function<void()>)> post;
  // Called after every status change (OpenDSR callbacks). May be empty.
  std::function<void(const RequestRecord&)> on_status;
  // Delay before the next attempt (attempt counts from 1). Empty: RetryDelay
  // (posthog_eraser.h). An upstream Retry-After longer than it wins.
  std::function<int64_t(uint32_t attempt)> retry_delay_ms;
};

class Service {
 public:
  // `stores` pointers must outlive the service.
  Service(Stores stores, ServiceOptions options);

  // Validates, records the request `pending` (durable), audits `<type>_requested` and queues
  // it. kInvalidInput for a bad type or identity; kAlreadyExists semantics: the same id again
  // returns the existing record.
  Result<RequestRecord> Submit(NewRequest request);
  Result<std::optional<RequestRecord>> Get(const std::string& id);
  // Cancels a `pending` request (OpenDSR DELETE). kInvalidInput when it is no longer pending.
  Result<RequestRecord> Cancel(const std::string& id);
  // At start: queues every pending, in_progress or deferred request left by the last run.
  Status Resume();
  // Queues every deferred request (an erasure a legal hold covered) for another run, which
  // checks the holds again; called when a hold is released. Errors are logged.
  void ResumeDeferred();
  // Queues the upstream retries that are due; the daemon calls it periodically.
  void Tick();
  // The bytes of a completed access request's bundle (DATA_DIR/exports/<id>.zip);
  // kNotFound for another request type, an unfinished request or a bundle since erased.
  Result<std::string> ReadResults(const std::string& id);

  const Stores& stores() const { return stores_; }

 private:
  void Run(const std::string& id);
  // `retry_after`: the upstream's wish when the request stays in_progress.
  Status RunOne(RequestRecord& record, std::chrono::milliseconds* retry_after);
  Status Save(RequestRecord& record, const std::string& status);
  void Queue(const std::string& id);

  Stores stores_;
  ServiceOptions options_;
  std::mutex mu_;                                     // guards the maps
  std::mutex run_mu_;                                 // serialises runs (and Cancel against a run)
  std::map<std::string, std::vector<Identity>> raw_;  // guarded by mu_
  std::map<std::string, uint32_t> attempts_;          // upstream attempts, guarded by mu_
  std::map<std::string, int64_t> retry_at_ms_;        // guarded by mu_
};

// A fresh lowercase UUID v4 (OpenSSL random bytes; checked with opendsr.h's IsUuidV4).
std::string NewRequestId();

}  // namespace scrubd::subjects
