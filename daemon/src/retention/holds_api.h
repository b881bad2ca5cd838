// Placing and releasing legal holds, shared by `scrubd hold` (direct path) and the admin
// routes /admin/holds (socket-free handler): validation, pseudonymising the distinct id,
// the `hold_added` / `hold_released` audit entries, and the hold's JSON. Thread-safe; placing
// and releasing are serialised. Raw ids live in locals only; the reason is never logged.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "retention/holds.h"
#include "subjects/api.h"
#include "subjects/erasure.h"

namespace scrubd::retention {

// Everything pointed to outlives the context. `stores` gives the subject index, the keys
// (identity pseudonyms, audit pseudonyms) and the audit log, which is required.
struct HoldsContext {
  HoldStore* holds = nullptr;
  const subjects::Stores* stores = nullptr;
  // Called after a release (Service::ResumeDeferred: held erasures run again). May be empty.
  std::function<void()> on_release;
};

// What an operator asks for, raw: exactly one of distinct_id / session_id; token only with a
// session (empty: the session under any token).
struct HoldRequest {
  std::string distinct_id, session_id, token, reason;
};

// Validates, pseudonymises the distinct id over every project the index has seen (the raw id
// is never stored), stores the hold and audits `hold_added` {hold_id, kind, subject or
// session pseudonym, caller}. kInvalidInput names the field, never its value. When the audit
// entry fails the hold stays in place (keeping data is the safe side) and the error is
// returned.
Result<Hold> PlaceHold(const HoldsContext& ctx, const HoldRequest& req, std::string_view caller);

// Audits `hold_released` {hold_id, caller} first (an unaudited release does not happen), then
// releases and calls on_release. kInvalidInput for a malformed id or a hold already released,
// kNotFound for an unknown one.
Result<Hold> ReleaseHold(const HoldsContext& ctx, const std::string& id, std::string_view caller);

// {"hold_id", "kind", "status": active|released, "token" and "session_id" (session holds) or
// "subject" (subjects::SubjectId of the seeds), "reason", "created_time", "released_time"}.
std::string HoldJson(const Hold& h, const subjects::Stores& stores);
// {"holds": [HoldJson...]}
std::string HoldsJson(const std::vector<Hold>& holds, const subjects::Stores& stores);

// GET /admin/holds[?all=1] -> 200 {"holds": [...]} (active ones; all=1|true: released too);
// POST /admin/holds {"distinct_id" | "session", "token"?, "reason"} -> 201 hold;
// POST /admin/holds/<id>/release -> 200 hold. Errors: JSON {"error", "message"} with 400, 404,
// 405, 413 or 503. `req.path` is the target with its query. Roles are checked by the caller.
subjects::ApiReply HandleAdminHolds(const HoldsContext& ctx, const subjects::ApiRequest& req,
                                    std::string_view caller);

}  // namespace scrubd::retention
