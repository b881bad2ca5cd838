// PageGate: `blocking.urls` for the whole page. It tracks, per (token, session, window),
// whether the page the window shows is blocked (dom::PageState, persisted with the window's
// DOM state) and drops everything the window produces while it is (docs/blocking.md).
// Thread-safe: each call takes the window's StateStore::Lease for its duration.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"

namespace scrubd::dom {
class StateStore;
}

namespace scrubd::admit {

// Whether `url` (a full URL, a path or anything else) matches one of `blocking.urls`: the URL
// as sent or its canonical form (percent-decoded, dot segments resolved, slashes collapsed,
// lower-cased: admit/url_canon.h). The policy compiles the patterns case-insensitively.
bool UrlBlocked(const policies::BlockingPolicy& b, std::string_view url);

class PageGate {
 public:
  // `state` may be null (then nothing carries over between batches); it must outlive the gate.
  explicit PageGate(dom::StateStore* state) : state_(state) {}

  // Updates the window's page from `ev` (Meta href, $url_changed / $pageview custom events,
  // $current_url / $pathname of analytics events), then drops what a blocked page produced:
  // a recording's rrweb events one by one, an analytics event whole. A page that is unknown
  // follows `blocking.unknown_url`. Counts drops into `dropped` ("blocked_page") and
  // `events_in`. Returns false when nothing of `ev` is left. No-op without `blocking.urls`.
  bool Apply(ingest::Event& ev, const policies::Policy& policy,
             std::map<std::string, uint64_t>* dropped, uint64_t* events_in) const;

 private:
  dom::StateStore* state_;
};

}  // namespace scrubd::admit
