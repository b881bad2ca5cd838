// URL rewriting under `masking.urls` (policies/url_policy.h): query parameters removed by an
// allow or deny list, path ids replaced by template placeholders, fragments removed. Pure
// functions of (string, policy); thread-safe. Called by the scrub stage before the detectors.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "scrubd/policies/url_policy.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::scrub {

// Rewrites one absolute or relative URL (or a bare path, query or "?query") in place. Never
// fails: any string is split as a URL as far as it goes, so a denied parameter never survives.
// `data:` URLs are opaque and left alone. Returns true when `url` changed.
bool RewriteUrl(std::string& url, const policies::UrlPolicy& p, rules::RedactionCounts* counts);

// An `srcset` value: every candidate URL is rewritten, descriptors kept.
bool RewriteSrcset(std::string& srcset, const policies::UrlPolicy& p,
                   rules::RedactionCounts* counts);

// Whether a string under JSON key `key` holds a URL (href, src, action, $current_url, ...).
bool IsUrlKey(std::string_view key);

// Rewrites every URL-bearing string under `value` (keyed by name: page and Meta hrefs,
// $current_url / $referrer / $pathname and their $initial_ / $session_entry_ forms, element
// attributes href / src / srcset / action / formaction / poster, network request `name`s,
// autocapture `attr__href` forms in $elements and $elements_chain). No-op on an empty policy.
void RewriteUrls(boost::json::value& value, std::string_view key, const policies::UrlPolicy& p,
                 rules::RedactionCounts* counts);

}  // namespace scrubd::scrub
