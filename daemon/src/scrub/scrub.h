// The scrub stage: DOM-aware masking of rrweb recordings (per-window state) followed by the
// policy's PII detectors over every remaining string. Stateless apart from the DOM state
// store it is given; ScrubEvent may run concurrently for different windows.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ingest/decode.h"
#include "scrubd/common/deadline.h"
#include "scrubd/policies/policy.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::dom {
class StateStore;
}

namespace scrubd::scrub {

struct Report {
  rules::RedactionCounts counts;            // redactions by rule and method
  std::map<std::string, uint64_t> dropped;  // rrweb / posthog events dropped, by reason
  uint64_t events_in = 0;
  uint64_t events_out = 0;
  bool deadline_exceeded = false;  // the request's CPU deadline expired: reject the batch
  void Add(const Report& o);
};

// Applies `scanner` to every string and every object key under `value`; CSS fields
// (style/link `_cssText`, isStyle text, rule text of CSS events) get the CSS-aware pass of
// scrub/css.h. A detected key is renamed to its redaction (kept distinct: "[EMAIL]",
// "[EMAIL]#2"); a value of any type under a sensitive key is redacted whole. ScrubEvent
// additionally skips the routing ids DecodeBatch validated (event `uuid`, `api_key`, `token`;
// properties `token`, `$session_id`, `$window_id`) at the level posthog puts them, and drops
// rrweb Input events whose `text` is not a string (docs/ingest.md).
// `key` is the object key `value` sits under. `deadline` (optional, the request's) is polled
// once per node of the walk; returns false when it expired, with `value` partly scrubbed: the
// caller must then discard it (never store or forward it).
[[nodiscard]] bool ScrubStrings(boost::json::value& value, std::string_view key,
                                const rules::Scanner& scanner, rules::RedactionCounts* counts,
                                Deadline* deadline = nullptr);

// True when a detector of `scanner` would rewrite one of the event's routing ids (the
// decoded token, session id and window id, and the `uuid`/`api_key`/`token` and
// properties `token`/`$session_id`/`$window_id` strings the string pass skips). Such an id is
// stored and logged as is, so the caller rejects the request. Detectors only, no key context
// (`token` is itself a sensitive key name).
bool RoutingIdLooksPersonal(const ingest::Event& ev, const rules::Scanner& scanner);

// True for rrweb StyleSheetRule / StyleDeclaration / AdoptedStyleSheet events: CSS rule text
// that the string pass leaves alone.
bool IsCssEvent(const boost::json::value& rrweb_event);

class Scrubber {
 public:
  // `state` may be null only in tests of the string pass; it must outlive the Scrubber.
  explicit Scrubber(dom::StateStore* state) : state_(state) {}
  // Scrubs one admitted event in place. Returns false when the whole event must be dropped.
  bool ScrubEvent(ingest::Event& event, const policies::Policy& policy, Report* report) const;
  // The request's CPU deadline (must outlive the Scrubber's use). It is polled inside every
  // walk (DOM pass, string pass, key pass), not only between events: once it expires
  // ScrubEvent stops, returns false and sets report->deadline_exceeded; the batch must not be
  // stored.
  void set_deadline(Deadline* deadline) { deadline_ = deadline; }

 private:
  bool OutOfTime(Report* report) const;

  dom::StateStore* state_;
  Deadline* deadline_ = nullptr;
};

}  // namespace scrubd::scrub
