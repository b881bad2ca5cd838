// The embedded SQLite SubjectStore (layout: SUBJECTS_FORMAT.md). Only the subjects module and
// its tests include this; everyone else holds a SubjectStore. Thread-safe: one connection
// behind a mutex, the tombstone cache behind a shared_mutex (IsTombstoned never touches SQL).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

#include "subjects/subject_store.h"

namespace scrubd::subjects {

struct SqliteSubjectStoreOptions {
  // Resolve fails (kTooLarge) when one token's component grows past this many nodes.
  size_t max_component_nodes = 1'000'000;
};

// As OpenSqliteSubjectStore (subject_store.h), with options.
Result<std::unique_ptr<SubjectStore>> OpenSqliteSubjectStore(
    const std::filesystem::path& data_dir, Env* env, const SqliteSubjectStoreOptions& options);

}  // namespace scrubd::subjects
