// The consent gate: keeps each session's and each subject's consent state (from the ledger,
// cached), records every change of it in the ledger and the audit log, raises an erasure on a
// withdrawal when the policy says so, and tells the ingest pipeline to admit, drop or hold
// each event (docs/consent.md). Thread-safe; one RequestView per request.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "consent/evidence.h"
#include "consent/ledger.h"
#include "ingest/decode.h"
#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"

namespace scrubd::consent {

enum class Action { kAdmit, kDrop, kHold };

struct GateDeps {
  Ledger* ledger = nullptr;  // required; outlives the gate
  // Appends an audit entry (type, JSON payload: ids, counts and hashes only).
  std::function<void(std::string_view type, const std::string& json)> audit;
  // The session pseudonym used in the audit log.
  std::function<std::string(const std::string& session)> pseudonym;
  // Raises an erasure request for (token, raw distinct id) and returns its id; empty: none.
  std::function<Result<std::string>(const std::string& token, const std::string& distinct_id)>
      raise_erasure;
  std::function<int64_t()> now_ms;  // empty: the system clock
  size_t cache_entries = 100000;    // cached states; the ledger is the truth past it
};

using SessionKey = std::pair<std::string, std::string>;  // (token, session or subject)

class ConsentGate {
 public:
  explicit ConsentGate(GateDeps deps);

  // One request's evidence and decisions. Observe every event first, then Decide each.
  class RequestView {
   public:
    RequestView(ConsentGate* gate, RequestFacts facts) : gate_(gate), reading_(std::move(facts)) {}
    // Pass 1: what the request and `ev` say about its session and subject (recorded on change).
    void Observe(const ingest::Event& ev, const policies::Policy& policy);
    // Pass 2: admit, drop or hold `ev` under the state after pass 1.
    Action Decide(const ingest::Event& ev, const policies::Policy& policy);
    // Subjects whose state turned granted / denied in this request (their other sessions'
    // held batches are released / discarded by the pipeline).
    const std::set<SessionKey>& granted_subjects() const { return granted_subjects_; }
    const std::set<SessionKey>& denied_subjects() const { return denied_subjects_; }

   private:
    ConsentGate* gate_;
    RequestReading reading_;
    std::set<SessionKey> granted_subjects_, denied_subjects_;
  };

  // The effective state of a session (else its subject), recording nothing; kDenied when the
  // ledger cannot be read.
  ConsentState Current(const std::string& token, const std::string& session,
                       const std::string& subject, const std::string& client);
  // Ledger writes and reads that failed (the event was held back or dropped meanwhile).
  uint64_t errors() const;
  // The subject pseudonym of `ev` under `policy` ("" without a key or a distinct id).
  static std::string SubjectOf(const ingest::Event& ev, const policies::Policy& policy);

 private:
  struct Known {
    ConsentState state = ConsentState::kUnknown;
    std::string signal, value_sha256;
    std::vector<std::string> purposes;
    bool admitted = false;     // data of it was admitted (an opt_out session before its denial)
    std::string source;        // subjects: where the newest state came from
    std::string grant_client;  // subjects: the client an event-sourced grant came from
  };
  Known* SessionLocked(const std::string& token, const std::string& session);
  Known* SubjectLocked(const std::string& token, const std::string& subject);
  void Trim();
  // Records `e` for the event's session and subject if it changes either; true if it did.
  bool RecordLocked(const ingest::Event& ev, const policies::Policy& policy,
                    const std::string& subject, const Evidence& e, const std::string& client);
  ConsentState EffectiveLocked(const ingest::Event& ev, const policies::Policy& policy,
                               const std::string& subject, const std::string& client, bool* error);
  bool ShouldErase(const ingest::Event& ev, const policies::Policy& policy, const Known* session,
                   const std::string& subject, const Evidence& e);
  void AuditEntry(const LedgerEntry& e);
  int64_t Now() const;

  GateDeps deps_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Known> sessions_, subjects_;  // token\0id
  uint64_t errors_ = 0;
};

}  // namespace scrubd::consent
