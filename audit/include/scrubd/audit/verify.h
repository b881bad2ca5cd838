// Verification of an audit log directory (chain, Merkle roots, checkpoint signatures and key
// schedule, sealing policy, trusted checkpoint) and RFC 9162 inclusion proofs (erasure
// receipts). Needs only the log files and a public key; never writes. Any caller; stateless
// and thread-safe (each call reads the files itself).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/audit/merkle.h"
#include "scrubd/common/status.h"

namespace scrubd::audit {

struct VerifyReport {
  bool ok = false;
  uint64_t entries = 0;      // entries that verified (up to the first bad one)
  uint64_t checkpoints = 0;  // checkpoints that verified
  std::optional<uint64_t> first_bad_seq;
  std::optional<uint64_t> first_bad_offset;  // byte offset in first_bad_segment
  std::string first_bad_segment;             // file name, e.g. "seg-...log" or "checkpoints.log"
  std::string reason;
  // Extra detail (not part of the daemon contract).
  uint64_t keys = 0;                      // keys in the log's chain
  uint64_t sealed_entries = 0;            // entries covered by the newest valid checkpoint
  std::vector<std::string> warnings;      // e.g. an unrecovered torn tail
  std::map<std::string, uint64_t> types;  // verified entries by type (retention_purge, ...)
};

// Verifies DIR/audit (`audit_dir`) against `public_key_pem` (a key of the log's chain; pin
// the oldest you hold). With `trusted_checkpoint`, also proves the log still contains the
// tree that checkpoint signed (detects tail truncation).
VerifyReport Verify(const std::filesystem::path& audit_dir,
                    const std::filesystem::path& public_key_pem,
                    std::optional<std::filesystem::path> trusted_checkpoint);

// Human-readable rendering: "OK: ..." or "FAILED: first bad entry seq=... offset=... in ...".
std::string FormatReport(const VerifyReport& report);

// An inclusion proof of one entry against a signed checkpoint (FORMAT.md section 8).
struct InclusionProof {
  uint64_t seq = 0;
  std::string entry_body;  // the leaf data
  uint64_t tree_size = 0;
  std::vector<Hash> path;
  std::string checkpoint_note;  // signed note, verbatim
  std::string ToText() const;
  static Result<InclusionProof> Parse(std::string_view text);
};

// Verifies the whole log first, then proves entry `seq` against the newest checkpoint.
Result<InclusionProof> Prove(const std::filesystem::path& audit_dir,
                             const std::filesystem::path& public_key_pem, uint64_t seq);

// Checks the path against the note's root and the note's signature by `public_key_pem_text`.
Status VerifyInclusionProof(const InclusionProof& proof, std::string_view public_key_pem_text);

// A readable one-line rendering of an entry body: "seq=.. time=.. type=.. payload=..".
std::string DescribeEntry(std::string_view entry_body);

}  // namespace scrubd::audit
