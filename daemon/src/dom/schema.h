// The integer schema of rrweb events: every field rrweb reads as an integer (event `type`,
// `data.source`, node `type` and `id`, mutation ids, input ids) must be one, in range. Decode
// already turned exact integral numbers (2.0, 2E0) into integers, so anything else (a string,
// a fraction, a huge or missing value) is an event whose meaning the masker cannot trust.
// Called by MaskEvent before any masking. Pure, thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace scrubd::dom {

// True when `event` satisfies the schema. Nodes deeper than `max_depth` are not checked (the
// masker drops them); trees of more than `max_nodes` nodes are rejected.
bool HasValidIntegers(const boost::json::object& event, int max_depth = 1000,
                      size_t max_nodes = size_t(1) << 24);

// The fields rrweb 2.x writes (as posthog-js records it), per serialized node type (0..5) and
// per incremental source (`data` of a type-3 event); anything else is an unknown field, which
// the masker masks inside masked and unknown regions, and drops when it is not a string,
// number or bool (counted `dom.unknown_field`). Unknown node types / sources know no field.
bool KnownNodeField(int64_t node_type, std::string_view key);
bool KnownIncrementalField(int64_t source, std::string_view key);

// The items of a Mutation's lists.
enum class MutationList { kTexts, kAttributes, kRemoves, kAdds };
bool KnownMutationItemField(MutationList list, std::string_view key);

}  // namespace scrubd::dom
