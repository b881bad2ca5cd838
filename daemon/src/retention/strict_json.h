// Strict JSON for the admin bodies of this module (/admin/purge, /admin/holds): a parse that
// refuses duplicate keys at any depth (Boost.JSON keeps the last, so {"dry_run": true,
// "dry_run": false} would mean the second). Pure function; any thread.
#pragma once

#include <boost/json/value.hpp>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd::retention {

// kInvalidInput (the message never quotes the body) for malformed JSON, nesting deeper than
// `max_depth`, or an object with a key given twice.
Result<boost::json::value> ParseStrict(std::string_view body, unsigned max_depth);

}  // namespace scrubd::retention
