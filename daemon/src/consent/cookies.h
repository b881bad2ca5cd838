// Consent-platform cookie readers: the Cookie request header, %-decoding, OneTrust
// `OptanonConsent` and Cookiebot `CookieConsent` (formats: docs/consent-cookies.md).
// Pure functions of their input, no shared state: safe from any thread. Results keep consent
// facts only (ids, URLs, locations are read past); errors name a field or offset, never input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::consent {

inline constexpr size_t kMaxCookies = 200;              // cookie-pairs read from one header
inline constexpr size_t kMaxConsentCookieBytes = 8192;  // a consent cookie value, raw
inline constexpr size_t kMaxConsentListEntries = 512;   // entries of one groups/hosts list

// The cookie-pairs of a Cookie request header (RFC 6265 §5.4 as browsers send it; lenient:
// stray spaces, missing '=' (name ""), quoted values unquoted). Bounded: at most kMaxCookies
// pairs are read; views into `header`, which must outlive the result.
std::vector<std::pair<std::string_view, std::string_view>> ParseCookieHeader(
    std::string_view header);

// The value of the first cookie named `name` (exact, case-sensitive) among the first
// kMaxCookies pairs, nullopt when absent. A view into `header`.
std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name);

// %XX decoding (and '+' as space when `plus_is_space`); kInvalidInput on a bad escape.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space);

// OneTrust OptanonConsent: key=value&... (URL-encoded). Only non-personal consent facts.
struct OneTrustConsent {
  std::vector<std::pair<std::string, bool>> groups;           // `groups`, cookie order
  std::vector<std::pair<std::string, bool>> hosts;            // `hosts` (often empty)
  std::vector<std::pair<std::string, bool>> general_vendors;  // `genVendors`
  std::optional<bool> is_gpc_enabled;                         // `isGpcEnabled` 0/1
  std::optional<bool> browser_gpc_flag;                       // `browserGpcFlag` 0/1
  std::optional<int> interaction_count;    // `interactionCount`; 0: banner never answered
  std::optional<bool> awaiting_reconsent;  // `AwaitingReconsent` true/false
  std::string version;                     // `version` (SDK), "" when absent or not [0-9.]
  std::optional<int64_t> datestamp_unix;   // `datestamp` as UTC seconds; nullopt if unreadable
  // The flag of group `id`, nullopt when the cookie does not list it.
  std::optional<bool> Group(std::string_view id) const;
};
// No groups field, an empty one, a malformed list or flag, a duplicated field this parser reads
// or a duplicated group id -> kInvalidInput; over kMaxConsentCookieBytes -> kTooLarge.
Result<OneTrustConsent> ParseOptanonConsent(std::string_view cookie_value);

// Cookiebot CookieConsent: URL-encoded JS-object-like {stamp:'..',necessary:true,...}; also
// the special values "-1" (the visitor is outside a region that requires consent: not_required,
// no flag stated) and "0" (declined: necessary only). A stamp of '-1' also sets not_required.
struct CookiebotConsent {
  bool necessary = false, preferences = false, statistics = false, marketing = false;
  bool not_required = false;
  std::string method;             // "explicit" / "implied" (letters only), "" when absent
  std::optional<int> version;     // `ver`
  std::optional<int64_t> utc_ms;  // `utc`: when the choice was saved, ms since the epoch
};
// Missing preferences/statistics/marketing, non-boolean flags, unterminated quotes, duplicate
// keys, bad escapes -> kInvalidInput; over kMaxConsentCookieBytes -> kTooLarge.
Result<CookiebotConsent> ParseCookiebotConsent(std::string_view cookie_value);

}  // namespace scrubd::consent
