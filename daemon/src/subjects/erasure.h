// The erasure engine (GDPR Art. 17): resolves a subject in the subject index, tombstones every
// linked pseudonym, deletes the subject from the local store, the spool, DOM state and the
// upstream, scans for residue and writes the audited, signed receipt (docs/subjects.md).
// Called by the subjects service on its work thread; one erasure at a time per Stores.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"
#include "sink/local_store.h"
#include "subjects/subject_store.h"

namespace scrubd::audit {
class Log;
}
namespace scrubd::dom {
class StateStore;
}
namespace scrubd::sink {
class Spool;
}

namespace scrubd::subjects {

class UpstreamEraser;

// A raw identity from a request. Held in memory only, for pseudonymising and for the scan.
struct Identity {
  std::string type;   // distinct_id | email | session
  std::string value;  // raw (or the lowercase sha256 hex when format is sha256)
  std::string format = "raw";
};

// What the engine works on; nothing owned, everything outlives the engine. Only `index`,
// `data_dir` and `master_key` are required.
struct Stores {
  SubjectStore* index = nullptr;
  sink::LocalStore* store = nullptr;
  sink::Spool* spool = nullptr;
  dom::StateStore* state = nullptr;
  audit::Log* audit = nullptr;
  UpstreamEraser* upstream = nullptr;
  std::shared_mutex* ingest_lock = nullptr;  // ingest holds it shared (brief "Ordering")
  std::filesystem::path data_dir;
  std::string master_key;     // keys/identity.key: identifier pseudonyms
  std::string pseudonym_key;  // keys/pseudonym.key: subject ids in the audit log
  // The policy's erasure.suppress_days for a token (the daemon's current snapshot); without
  // it, kDefaultSuppressDays.
  std::function<int64_t(std::string_view token)> suppress_days_for;
  std::vector<std::string> policy_versions;  // "name version sha256" per policy (bundles)
  // The ids of the legal holds covering any of the sessions or (token, stored distinct id)s
  // (retention/holds.h HoldsCovering); empty = none. Empty function: no holds. An erasure
  // they cover is deferred (docs/subjects.md "Deferred under a legal hold").
  std::function<Result<std::vector<std::string>>(
      const std::vector<sink::SessionKey>& sessions,
      const std::vector<std::pair<std::string, std::string>>& token_distinct_ids)>
      held_by;
  // Taken shared from the held_by check to the last delete (retention::HoldStore::gate), so a
  // hold placed meanwhile is seen. Order: holds_gate, then ingest_lock. May be null.
  std::shared_mutex* holds_gate = nullptr;
  // The subject's consent history as JSON (the access bundle's consent.json) from its
  // (token, distinct-id pseudonym) pairs and sessions. Empty function: no consent.json.
  std::function<Result<std::string>(
      const std::vector<std::pair<std::string, std::string>>& token_subjects,
      const std::vector<std::string>& sessions)>
      consent_history;
};

inline constexpr int64_t kDefaultSuppressDays = 30;  // policy erasure.suppress_days default

struct ScanResult {
  bool clean = false;
  uint64_t index_rows = 0;            // sessions, chunks and events rows still naming the subject
  uint64_t files = 0;                 // chunk dirs and DOM state dirs still present
  uint64_t spool_records = 0;         // pending or dead spool files still present
  uint64_t subject_index = 0;         // sessions / events / spool seqs the index still links
  uint64_t raw_identifier_files = 0;  // files holding a raw identifier of the request
  bool raw_checked = false;           // false after a restart: the raw identifiers are gone
};

struct ErasureOutcome {
  // completed | in_progress (the upstream has not acknowledged yet) | deferred (legal hold)
  std::string status;
  sink::EraseCounts counts;
  uint64_t bundles = 0;  // access bundles in DATA_DIR/exports that held the subject's sessions
  ScanResult scan;
  std::string upstream;  // none | done | retry | failed
  uint64_t persons_deleted = 0;
  std::string receipt_json;                  // completed only
  std::string subject;                       // the subject's audit pseudonym
  std::chrono::milliseconds retry_after{0};  // the upstream's Retry-After, on a retry
  // The pseudonymised distinct ids the upstream step works on: kept in the request while it
  // is in_progress, since a rerun resolves an already forgotten subject to its seeds only.
  std::vector<std::string> upstream_ids;
  std::vector<std::string> hold_ids;  // deferred: the holds that cover the subject
};

// Unix milliseconds (Env::Default(), the clock the subject store's tombstones use too).
int64_t NowMs();

// The stored forms ("pid_...", without "i:") of the distinct ids among a part's nodes.
std::vector<std::string> DistinctIdsOf(const Subject::Part& part);

// The (token, node) seeds of `identities` over every project the index has seen.
Result<std::vector<std::pair<std::string, std::string>>> SeedsOf(
    const Stores& stores, const std::vector<Identity>& identities);

// The subject's audit pseudonym: "subj_" + a keyed hash of its sorted seeds.
std::string SubjectId(const Stores& stores, const std::vector<std::string>& seeds);

// Runs (or resumes) the erasure of `request` (its `seeds` are "token\tnode" strings). Every
// step is idempotent, so a rerun after a crash or an upstream retry finishes the job. When
// `held_by` names holds after the tombstones are written, nothing is deleted: the outcome is
// `deferred` with the hold ids, audited as `erasure_deferred` (counts only).
// `raw` may be empty (resumed after a restart): the scan then skips the raw-identifier check
// and says so.
Result<ErasureOutcome> RunErasure(const Stores& stores, const RequestRecord& request,
                                  const std::vector<Identity>& raw);

// What an in_progress or deferred request keeps for its next run (counts so far, upstream
// ids, the holds): the request's result_json until the erasure completes; RunErasure reads
// it back.
std::string InterimJson(const ErasureOutcome& outcome);

// "token\tnode" <-> (token, node), the form seeds take in a RequestRecord.
std::string JoinSeed(const std::string& token, const std::string& node);
std::pair<std::string, std::string> SplitSeed(const std::string& seed);

}  // namespace scrubd::subjects
