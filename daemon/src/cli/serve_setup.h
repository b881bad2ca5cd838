// What `scrubd serve` loads before it opens anything: the data dir's keys, the admin tokens,
// the upstream settings and the compiled policy set. `serve` and `serve --check` both go
// through LoadServeInputs, so the check passes exactly when serve gets past this step.
// Thread-compatible; called once at startup by the CLI (main.cc).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/config.h"
#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"
#include "server/app.h"
#include "server/roles.h"

namespace scrubd::cli {

// kCreate: serve's first start writes missing keys and the admin token (and makes the data
// dir 0700). kReadOnly (--check): nothing is written; a missing key is replaced by random
// bytes held in memory, as serve would generate, and listed in `would_create`.
enum class KeyFiles { kCreate, kReadOnly };

struct ServeInputs {
  std::string hash_key, pseudonym_key, identity_key, admin_token;  // secrets: never logged
  std::vector<server::RoleToken> role_tokens;
  policies::LoadOptions policy_options;
  std::shared_ptr<const policies::PolicySet> policies;
  std::vector<std::filesystem::path> would_create;  // kReadOnly only
};

// Errors are serve's refusals to start (kInvalidConfig with the file, or file:line:col for a
// policy); `serve` prints them as "refusing to start: ..." and exits 78.
Result<ServeInputs> LoadServeInputs(const ServeConfig& cfg, KeyFiles mode);

// The App's configuration as `serve` builds it from `cfg` and what LoadServeInputs loaded
// (`in`): limits, deadline, tokens, policy files, keys. The policy workbench builds its App with
// it too (workbench/runner.h), so a policy test runs with serve's limits.
server::AppConfig AppConfigOf(const ServeConfig& cfg, const ServeInputs& in);

// `serve --check`: LoadServeInputs(kReadOnly) plus serve's other pre-bind checks that write
// nothing (upstream URL, upstream erasure settings and key file). Binds no port, takes no lock.
// Returns the one-line summary printed on success.
Result<std::string> CheckServe(const ServeConfig& cfg);

}  // namespace scrubd::cli
