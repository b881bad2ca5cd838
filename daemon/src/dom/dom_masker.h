// The DOM pass: server-side rrweb masking per policies::MaskingPolicy, held across batches in
// a per-window WindowState, plus the thread-safe StateStore that owns, bounds and persists
// those states. Called by the daemon's scrub stage (include "dom/dom_masker.h"). MaskEvent is
// a pure function of (event, policy, state); callers serialise access with a Lease.
#pragma once

#include <boost/json/object.hpp>

#include "dom/state_store.h"
#include "dom/window_state.h"
#include "scrubd/common/deadline.h"
#include "scrubd/policies/masking.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::dom {

// kInvalid: the event breaks rrweb's integer schema (dom/schema.h), e.g. `type: "2"` or
// `2.5`; it is dropped like kDrop and counted by the caller as `bad_type`.
enum class Verdict { kKeep, kDrop, kInvalid };

// Masks one decoded rrweb event (an element of `$snapshot_data`, with nested `cv` fields
// already decoded to JSON) in place per `policy`, updating `state`. Never throws on hostile
// input. Fail closed: ids the state does not know mean mask (text, input and attribute
// values), counted as `dom.unknown_id`; still-encoded `cv` fields make the event kDrop.
// Counts (rule ids `dom.*`, methods mask/remove/drop) go to `counts` when non-null; no text.
// Returns kDrop when the whole event must be removed from the batch (dropped plugins,
// CanvasMutation under block_media, Input events of nodes inside blocked elements).
// `deadline` (optional, per request) is polled per node and per re-evaluated node; once it
// has expired the pass stops early and returns kDrop, with the state possibly half-updated:
// the caller must then reject the whole batch (see docs/masking.md, "CPU deadline").
Verdict MaskEvent(boost::json::object& event, const policies::MaskingPolicy& policy,
                  WindowState& state, rules::RedactionCounts* counts, Deadline* deadline = nullptr);

// Length-preserving text mask: every non-whitespace UTF-16 code unit becomes '*' (so a
// surrogate pair becomes "**", as rrweb's JS /\S/g does); JS whitespace is kept.
std::string MaskTextValue(std::string_view text);
// Input mask: '*' repeated to the value's length in UTF-16 code units (rrweb maskInputValue).
std::string MaskInputValue(std::string_view text);

}  // namespace scrubd::dom
