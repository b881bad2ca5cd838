// Ingest decoding: raw posthog-js request bodies -> a Batch of JSON events, with the nested
// gzip `cv` fields of rrweb snapshot events expanded in place. Pure functions of their inputs;
// thread-safe. Every failure is a Status value: bad traffic is kInvalidInput / kTooLarge.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/gzip.h"
#include "scrubd/common/status.h"

namespace scrubd::ingest {

enum class Endpoint { kRecording, kEvents, kFlags, kRemoteConfig, kUnknown };

struct DecodeLimits {
  InflateLimits inflate;                  // shared by the body and every nested cv field
  int max_depth = 512;                    // JSON nesting; rrweb trees nest 2 levels per DOM level
  size_t max_events = 50000;              // events per batch
  bool events_require_session_id = true;  // /e/ events must carry $session_id
};

// One decoded posthog event. `json` owns the event object. The ids are copied out for
// routing and admission decisions only: nothing is ever written from them (the sinks derive
// every stored id and index column from the scrubbed `json`). DecodeBatch has validated each
// routing field (properties `token`, `$session_id`, `$window_id`; event `uuid`, `api_key`,
// `token`; batch `api_key`, `token`): a string of the expected shape or absent.
struct Event {
  boost::json::object json;
  std::string name;
  std::string token;
  std::string session_id;
  std::string window_id;
  std::string distinct_id;
  bool is_snapshot = false;
  uint64_t undecodable = 0;  // nested rrweb events dropped because a cv field did not decode
};

struct Batch {
  Endpoint endpoint = Endpoint::kUnknown;
  std::vector<Event> events;
  size_t wire_bytes = 0;
  size_t decoded_bytes = 0;
};

struct RequestView {
  std::string_view body;
  std::string_view content_type;
  std::string_view query;  // raw query string without '?'
};

// Maps a request path (no query) to the endpoint posthog-js uses.
Endpoint ClassifyPath(std::string_view path);

// Undoes the transport encodings (gzip by magic or compression=gzip-js, base64, data= form
// bodies) and returns JSON text.
Result<std::string> DecodeBodyText(const RequestView& req, const DecodeLimits& limits);

// Full decode: transport encodings, JSON parse with depth and UTF-8 checks, batch shapes
// (array, single event, {batch:[...]}), id extraction and validation, nested cv expansion.
// Every number with an exact integer value is normalised to an int64 (body and cv fields).
// The inflate caps apply to the request as a whole (RequestInflateCap).
Result<Batch> DecodeBatch(Endpoint endpoint, const RequestView& req, const DecodeLimits& limits);

// Expands the cv-compressed fields of one rrweb event in place and drops its `cv` marker.
// `budget` is the remaining decompressed-byte allowance and is decremented.
Status ExpandNested(boost::json::object& rrweb_event, const DecodeLimits& limits, size_t* budget);

// The inverse of ExpandNested, for upstreams that expect posthog-js's encoding: compresses
// FullSnapshot `data`, Mutation `texts/attributes/removes/adds` and StyleSheetRule
// `adds/removes` into latin-1 gzip strings and marks the event `cv: "2024-10"`. All or nothing
// per event; events already marked `cv` and events of other types are left as they are.
Status CompressNested(boost::json::object& rrweb_event);

// The rrweb events of a `$snapshot` event: `properties.$snapshot_data`, or `$snapshot_items`
// as PostHog's capture rewrites it. After DecodeBatch it is always an array; nullptr when the
// event has neither.
boost::json::array* SnapshotItems(boost::json::object& event);
const boost::json::array* SnapshotItems(const boost::json::object& event);

// A latin-1 JSON string (one code point per byte, U+0000..U+00FF) back to bytes.
Result<std::string> Latin1ToBytes(std::string_view utf8);
// Bytes -> latin-1 string encoded as UTF-8 (the reverse, for re-encoding cv fields).
std::string BytesToLatin1(std::string_view bytes);

bool ValidSessionId(std::string_view id);
bool ValidToken(std::string_view token);
bool ValidUuid(std::string_view id);  // 8-4-4-4-12 hex digits, either case

// Percent-decodes application/x-www-form-urlencoded text ('+' is a space).
std::string FormUrlDecode(std::string_view in);
// Looks up `key` in a form or query string and returns its decoded value.
std::optional<std::string> FormValue(std::string_view form, std::string_view key);
Result<std::string> Base64Decode(std::string_view in);

}  // namespace scrubd::ingest
