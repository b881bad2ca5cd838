// Redaction operators: mask, replace, remove, hash (keyed HMAC-SHA256) and truncate_ip.
// Internal to scrubd_rules; each appends the replacement for one value to `out`.
// Pure functions (the HMAC key is passed in); safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace scrubd::rules::internal {

// Length-preserving in characters: every letter/digit (and every non-ASCII code point) becomes
// '*', separators stay, and the last `keep_last` letters/digits are kept.
void AppendMask(std::string* out, std::string_view value, int keep_last);

// Masks `v` where it stands, like AppendMask, when every byte is ASCII (then masking keeps the
// length); returns false, changing nothing, otherwise.
bool MaskAsciiInPlace(char* v, size_t n, int keep_last);

// `prefix` + the first 16 hex digits of HMAC-SHA256(key, id "\0" normalized value). The value
// is normalized (ASCII lower case; spaces, '-', '(' and ')' dropped) so formats join.
void AppendHash(std::string* out, std::string_view value, std::string_view id,
                std::string_view prefix, std::string_view key);

// IPv4 -> a.b.c.0 (/24); IPv6 -> first three groups + "::" (/48). False if not an address.
bool AppendTruncatedIp(std::string* out, std::string_view value);

}  // namespace scrubd::rules::internal
