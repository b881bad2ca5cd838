// The integer schema of rrweb events: every field rrweb reads as an integer (event `type`,
// `data.source`, node `type` and `id`, mutation ids, input ids) must be one, in range. Decode
// already turned exact integral numbers (2.0, 2E0) into integers, so anything else (a string,
// a fraction, a huge or missing value) is an event whose meaning the masker cannot trust.
// Called by MaskEvent before any masking. Pure, thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>

namespace scrubd::dom {

// True when `event` satisfies the schema. Nodes deeper than `max_depth` are not checked (the
// masker drops them); trees of more than `max_nodes` nodes are rejected.
bool HasValidIntegers(const boost::json::object& event, int max_depth = 1000,
                      size_t max_nodes = size_t(1) << 24);

}  // namespace scrubd::dom
