// Receipts for data-subject requests (FORMAT.md section 9): a JSON document holding the request
// summary, the audit entry that completed it, its RFC 9162 inclusion proof and a signed
// checkpoint covering it, checkable offline with nothing but a public key. MakeReceipt is
// called by the daemon's subjects service with its open Log; VerifyReceipt by the audit CLI and
// anyone else. Both are thread-safe (MakeReceipt takes the Log's own lock only briefly).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "scrubd/audit/log.h"
#include "scrubd/common/status.h"

namespace scrubd::audit {

// Forces a signed checkpoint covering entry `seq` (an `erasure_completed` or `access_completed`
// entry) and returns the receipt JSON. `request_json` is a JSON object summarising the request
// (`request_id`, `type`, `subject`, `counts`, `scan`, `upstream`, ...): every field except
// `type` must equal the same field of the entry's payload, and `type` must match the entry
// type; the receipt is verified before it is returned, so a mismatch is an error here.
// Cost: O(8,192..16,384) hashes from the writer's memory for a recent entry (Log::ProveRecent);
// an older entry falls back to Prove over `audit_dir`, a full verification (O(log size)).
Result<std::string> MakeReceipt(Log& log, const std::filesystem::path& audit_dir, uint64_t seq,
                                std::string_view request_json);

// Checks a receipt against `public_key_pem` (the key's PEM text; never the key the receipt
// embeds, which is informational): the checkpoint's signature, the inclusion path to its root,
// the entry's seq and type, and that the entry payload carries the receipt's request fields.
// kCorruption with a one-line reason on any mismatch; kInvalidInput when it is not a receipt.
Status VerifyReceipt(std::string_view receipt_json, std::string_view public_key_pem);

// What a verified receipt proves, for display (the CLI's OK line).
struct ReceiptSummary {
  uint64_t seq = 0;
  uint64_t tree_size = 0;
  std::string entry_type;
  std::string request_id;
};
// As above; on success fills `summary` (may be null).
Status VerifyReceipt(std::string_view receipt_json, std::string_view public_key_pem,
                     ReceiptSummary* summary);

// The entry types a receipt may prove.
inline constexpr std::string_view kErasureCompleted = "erasure_completed";
inline constexpr std::string_view kAccessCompleted = "access_completed";

}  // namespace scrubd::audit
