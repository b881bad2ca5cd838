// POST /admin/purge, socket-free: parses {"dry_run", "now"}, runs the purge through the
// caller's runner (the daemon's work queue, so a purge never overlaps an erasure) and renders
// the report as JSON or text. Roles are checked by the caller (admin only). Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "retention/holds.h"
#include "retention/purge.h"
#include "subjects/api.h"
#include "subjects/erasure.h"

namespace scrubd::retention {

// A purge over the components `stores` names (store, DOM state, spool, subject index, audit
// log, ingest lock, data dir), `policies`, and the holds active now (resolved at the call, so a
// hold placed a moment ago counts). Pointers must outlive the purge.
Result<PurgeReport> PurgeWith(const subjects::Stores& stores, HoldStore* holds,
                              std::shared_ptr<const policies::PolicySet> policies,
                              const PurgeOptions& options);

// Runs one purge with these options (the daemon fills in its stores, policies and holds).
using PurgeRunner = std::function<Result<PurgeReport>(const PurgeOptions&)>;

// Body: {"dry_run": bool, "now": RFC 3339 (default: the server clock), "format": "json" |
// "text"}; every key optional, nothing else accepted. 200 with the report; 400 for a bad
// body, 405 for another method, 413 over 4 KiB, 503 when the purge failed (the next run
// finishes it).
subjects::ApiReply HandleAdminPurge(const PurgeRunner& run, const subjects::ApiRequest& req,
                                    int64_t server_now_ms);

// The same body, parsed; `options` keeps its other fields. `*text` for "format": "text".
Status ParsePurgeBody(const std::string& body, int64_t server_now_ms, PurgeOptions* options,
                      bool* text);

}  // namespace scrubd::retention
