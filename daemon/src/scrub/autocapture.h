// Autocapture's copy of the page: `$elements_chain` (posthog-js's string encoding of the
// clicked element and its ancestors), `$elements` (the same as objects) and `$el_text`. The
// policy's block / mask_text / unmask_text selectors and input rules are applied to that
// element chain as the DOM pass applies them to the recording. Called by the scrub stage
// for every non-recording event, before the string pass. Pure apart from `counts`.
#pragma once

#include <boost/json/fwd.hpp>

#include "scrubd/policies/masking.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::scrub {

// Masks, in the event's `properties`, the text of elements that are (or contain, along the
// chain) a masked or blocked element, the attribute values of blocked elements (class and id
// kept), `mask_attributes` of masked ones and input values (`attr__value`) per the input
// rules. A chain that does not parse fails closed: every text field of the three properties
// is masked (counted `autocapture.unparseable`). Counts `autocapture.*`; no text.
void ScrubAutocapture(boost::json::object& event, const policies::MaskingPolicy& policy,
                      rules::RedactionCounts* counts);

}  // namespace scrubd::scrub
