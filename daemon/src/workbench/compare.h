// The preview's comparison (`scrubd policy preview` / `diff`): one captured input as captured,
// under a baseline and under a new policy, aligned value by value, and what each side shows.
// Pure functions over RunResults (workbench/runner.h); thread-compatible, no I/O, no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/policies/policy.h"
#include "workbench/runner.h"

namespace scrubd::workbench {

// One stored value whose visible pieces differ between the two sides. A "piece" is a run of
// the captured value between separators (whitespace and URL / JSON punctuation) that holds a
// letter or digit; a side shows a piece when its value holds it (masks and labels never do).
struct Change {
  std::string where;        // "recording 1 window 1 rrweb event 12 (Mutation)", "analytics event 3"
  std::string session;      // "token/session id" for recordings, "" for analytics events
  std::string event_type;   // "FullSnapshot", "Mutation", "Input", "$pageview", ...
  int64_t node = -1;        // rrweb node id when the value belongs to a node
  std::string field;        // JSON path inside the event: data.node.childNodes[3].textContent
  size_t offset = 0;        // of the first changed piece in the captured value (bytes)
  size_t length = 0;        // from the first changed piece's start to the last one's end
  size_t value_length = 0;  // of the captured value
  size_t pieces = 0;        // changed pieces
  std::string rule;         // what hid it, on the side that hides: "mask_text .ph-mask",
                            // "block [data-ph-no-capture]", "mask_all_inputs", "detector email",
                            // "event not stored", ...
  std::string method;       // mask | replace | hash | remove | drop | block
  // The values themselves (ClipValue): personal data. Printed only with --show-values.
  std::string captured, before, after;  // "" for a side that does not hold the value
};

// Values hidden relative to the captured input, counted by what hid them.
struct AttributionRow {
  std::string rule, method;
  uint64_t before = 0, after = 0;  // values (not pieces) hidden on each side
};

// What one side's run stored and counted, for the report's tables.
struct SideSummary {
  rules::RedactionCounts counts;            // the audit log's counts of the run
  std::map<std::string, uint64_t> dropped;  // events dropped, by reason
  uint64_t events_stored = 0;
  size_t recordings = 0;
  size_t rejected = 0;  // requests answered with an error
  static SideSummary Of(const RunResult& r);
};

struct Comparison {
  bool has_baseline = false;                // false: "before" is the input as captured
  std::vector<Change> newly_exposed;        // the new policy shows what the baseline hid
  std::vector<Change> newly_hidden;         // the new policy hides what the baseline showed
  std::vector<AttributionRow> attribution;  // sorted by rule
  SideSummary before, after;
  uint64_t events_in = 0;
  size_t recordings_in = 0;
};

// One side of the comparison: a run and the policies it ran under (nullptr: as captured).
struct Side {
  const RunResult* run = nullptr;
  const policies::PolicySet* policies = nullptr;
};

// Compares `before` and `after` over `captured` (DecodeOnly of the same input). Recordings
// align by token, session id and window, events in groups of equal (timestamp, type, source,
// tag, plugin), nodes by rrweb id, analytics events in groups of equal uuid (else timestamp);
// docs/preview.md. A value or event a side does not hold is hidden on that side.
Comparison Compare(const RunResult& captured, Side before, Side after);

// At most this many bytes of a value are kept in a Change and shown (cut on a UTF-8
// boundary, "..." appended): memory stays bounded whatever the input holds.
inline constexpr size_t kMaxShownValueBytes = 400;
std::string ClipValue(std::string_view v);

// The separators of pieces, for tests and docs.
inline constexpr std::string_view kPieceSeparators = " \t\r\n\f\v&?=/#,;:\"'<>()[]{}|\\";

// The byte ranges [start, end) of `text`'s pieces, in order.
std::vector<std::pair<size_t, size_t>> Pieces(std::string_view text);

}  // namespace scrubd::workbench
