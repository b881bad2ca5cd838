// The data dir opened by a CLI command that runs without the daemon (`forget`, `export
// --distinct-id`, `hold`): audit log (its lock is the data dir's lock), store, DOM state,
// spool, subject index, legal holds and keys, wired as subjects::Stores. One process at a
// time per data dir (the lock); not thread-safe beyond what each component promises.
#pragma once

#include <filesystem>
#include <memory>

#include "consent/ledger.h"
#include "dom/state_store.h"
#include "retention/holds.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/status.h"
#include "sink/local_store.h"
#include "sink/spool.h"
#include "subjects/erasure.h"
#include "subjects/subject_store.h"

namespace scrubd::cli {

struct LocalStack {
  std::unique_ptr<audit::Log> log;
  std::unique_ptr<sink::LocalStore> store;
  std::unique_ptr<dom::StateStore> state;
  std::unique_ptr<sink::Spool> spool;
  std::unique_ptr<subjects::SubjectStore> index;
  std::unique_ptr<retention::HoldStore> holds;
  std::unique_ptr<consent::Ledger> ledger;  // null when the data dir has none yet
  subjects::Stores stores;                  // points into the members above; held_by asks `holds`
};

// Opens `data` (which must already be a data dir: audit/ exists, kInvalidInput otherwise,
// nothing is created). `*held` is set when the audit log is locked by another process (the
// daemon serving `data`): the caller then goes through the daemon.
Result<std::unique_ptr<LocalStack>> OpenLocal(const std::filesystem::path& data, bool* held);

// After LocalStore::Open by any command: a store that was given its lifecycle rows at this
// open (sink::LocalStore::migrated_sessions) is logged and audited as `store_migrated` (a
// count only). Fail closed: the caller stops when the entry cannot be written.
Status AuditStoreMigration(const sink::LocalStore& store, audit::Log& log);

}  // namespace scrubd::cli
