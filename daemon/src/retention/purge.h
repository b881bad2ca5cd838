// The retention purge (docs/retention.md): removes every session whose last event is older
// than its retention (the first matching `retention.rules` entry, else `retention.days`) and
// no legal hold covers, then sessionless events, idle DOM state, dead letters and finished
// subject requests past their time; audits `retention_purge` with counts only. Idempotent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"
#include "sink/erasure.h"

namespace scrubd::audit {
class Log;
}
namespace scrubd::dom {
class StateStore;
}
namespace scrubd::sink {
class LocalStore;
class Spool;
}  // namespace scrubd::sink
namespace scrubd::subjects {
class SubjectStore;
}

namespace scrubd::retention {

// What the purge works on; nothing owned, everything outlives the call. `store` and
// `policies` are required, `audit` unless dry_run; the rest may be null.
struct PurgeDeps {
  sink::LocalStore* store = nullptr;
  dom::StateStore* state = nullptr;
  sink::Spool* spool = nullptr;
  subjects::SubjectStore* index = nullptr;  // finished subject requests
  audit::Log* audit = nullptr;
  std::shared_ptr<const policies::PolicySet> policies;
  std::shared_mutex* ingest_lock = nullptr;  // held exclusively around each deletion batch
  std::filesystem::path data_dir;            // exports/ (access bundles)
  // The id of a legal hold covering the session (stored distinct id given), or "" (none).
  using HeldBy = std::function<std::string(std::string_view token, std::string_view session_id,
                                           std::string_view distinct_id)>;
  HeldBy held_by;
  // When set, the holds active now: called when planning and again for every deletion batch
  // under `holds_gate` (shared), so a hold placed during the purge is never purged under.
  // Replaces `held_by`. `any_hold` (may be null) is set when any hold is active.
  std::function<Result<HeldBy>(bool* any_hold)> resolve_holds;
  std::shared_mutex* holds_gate = nullptr;  // retention::HoldStore::gate; order: before ingest
};

struct PurgeOptions {
  int64_t now_ms = 0;
  bool dry_run = false;
  int64_t request_days = 1095;  // finished subject requests (their records) are kept this long
  int64_t bundle_days = 30;     // access bundles (exports/<id>.zip) are kept this long
  size_t batch = 200;           // sessions per deletion transaction (and ingest pause)
  bool clock_given = false;     // now_ms came from --now / the API, not the clock (audited)
};

// One session purge removed (or, in a dry run, would remove), or kept under a hold.
struct PurgeEntry {
  std::string token, session_id;
  std::string rule;  // the retention rule that applied ("default": retention.days)
  int64_t days = 0, last_ts = 0, expires_ms = 0;
  std::string hold;         // kept: the covering hold's id
  std::string distinct_id;  // stored form, for the hold check (not reported)
};

struct PurgeReport {
  bool dry_run = false;
  int64_t now_ms = 0;
  std::vector<PurgeEntry> removed;  // in expiry order
  std::vector<PurgeEntry> held;     // expired, kept under a hold
  sink::EraseCounts counts;         // store rows and files removed (dom_state, dead included)
  uint64_t newer = 0;               // expired when planned, then got newer data: kept
  uint64_t loose_events = 0;        // sessionless events rows removed
  uint64_t requests = 0;            // finished subject requests removed
  uint64_t bundles = 0;             // access bundles removed
  uint64_t resumed = 0;             // files of an interrupted purge removed first
  uint64_t errors = 0;              // sessions whose days could not be told: kept
  uint64_t no_policy = 0;           // expired sessions of a token no policy covers: kept
  uint64_t uncertain = 0;           // sessions decided on incomplete facts (shortest outcome)
  uint64_t dead_kept = 0;           // expired dead letters kept while a hold is active
  bool clock_given = false;
  std::vector<std::string> policy_versions;  // "name sha256" of every policy applied

  std::string ToJson() const;
  std::string ToText() const;     // one line per session, then the totals
  std::string AuditJson() const;  // counts and policy versions only
};

// Runs the purge at `options.now_ms`. A dry run changes nothing and writes no audit entry.
Result<PurgeReport> RunPurge(const PurgeDeps& deps, const PurgeOptions& options);

}  // namespace scrubd::retention
