// Test and benchmark helper: decodes captured posthog-js request bodies the way the ingest
// stage does (outer gzip, nested `cv: "2024-10"` latin-1 gzip fields) and re-encodes them.
// Not used on the data plane. Pure functions; thread-safe.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::dom::testing {

Result<std::string> Gunzip(std::string_view bytes);
std::string Gzip(std::string_view bytes);
Result<std::string> ReadFile(const std::string& path);

// Decodes every `cv` field of one rrweb event in place (drops nothing, keeps `cv`).
Status DecodeCvEvent(boost::json::value& event);
// Re-encodes the fields DecodeCvEvent decoded (events carrying `cv`).
void EncodeCvEvent(boost::json::value& event);

// Reads a fixture body, gunzips it if needed and returns the rrweb events of every
// `$snapshot` event with `cv` fields decoded.
Result<std::vector<boost::json::value>> LoadSnapshotEvents(const std::string& body_path);

}  // namespace scrubd::dom::testing
