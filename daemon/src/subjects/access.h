// Access and portability (GDPR Art. 15 / 20): the subject's bundle, a zip holding
// manifest.json, sessions/<session>.json (plain rrweb event arrays, as stored and cleaned) and
// events.json (docs/subjects.md "Access bundle"). Called by the service and `scrubd export`.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"
#include "subjects/erasure.h"

namespace scrubd::subjects {

struct AccessOutcome {
  std::filesystem::path bundle;
  uint64_t sessions = 0, events = 0;
  std::string summary_json;  // {"request_id", "bundle", "sessions", "events", "subject"}
};

// DATA_DIR/exports/<request id>.zip.
std::filesystem::path BundlePath(const Stores& stores, const std::string& request_id);

// Resolves the seeds ("token\tnode") and writes the bundle to `out` (0600, durably).
Result<AccessOutcome> WriteBundle(const Stores& stores, const std::vector<std::string>& seeds,
                                  const std::filesystem::path& out);

// The service's access / portability step: WriteBundle to BundlePath, audited as
// `access_completed` (counts only).
Result<AccessOutcome> RunAccess(const Stores& stores, const RequestRecord& request);

}  // namespace scrubd::subjects
