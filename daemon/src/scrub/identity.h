// The identity pass: pseudonymises identifiers (distinct_id, $anon_distinct_id, $device_id,
// $user_id, alias ids), applies the person_properties policy to $set / $set_once and the
// client_ip policy to $ip, before the string pass (docs/identifiers.md). Pure functions of
// (event, policy); thread-safe. Called by Scrubber::ScrubEvent and the /flags/ proxy.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::scrub {

// "pid_" + 32 letters a-p: the first 16 bytes of HMAC-SHA256(project key, raw id), one letter
// per nibble ('a' = 0 ... 'p' = 15). Letters only, so no detector of the rules catalog matches
// it and the string pass leaves it as it is. The project key is
// HMAC-SHA256(master key, "scrubd/identifiers/v1" "\0" token). The raw id is taken byte for
// byte (no case folding: PostHog treats "A" and "a" as two persons). Subject requests call
// this to find a subject's pseudonym from (token, raw id). "" if `master_key` is empty or
// OpenSSL fails.
std::string IdentifierPseudonym(std::string_view master_key, std::string_view token,
                                std::string_view raw_id);
// True when `s` has the exact shape IdentifierPseudonym returns.
bool IsIdentifierPseudonym(std::string_view s);

// What replaces an identifier under `identifiers: redact`, and a redacted person property.
inline constexpr const char* kRedactedIdentifier = "[REDACTED]";

// Applies `policy.identity` to one posthog event in place (identifiers, $set / $set_once,
// $set in properties, $ip). Also rewrites `event.distinct_id` (cleared under `keep`, where the
// detectors still have to run: read it from the scrubbed event). Returns false when the event
// must be dropped (fail closed): a value needed pseudonymising and the policy has no key.
bool ApplyIdentity(ingest::Event& event, const policies::Policy& policy,
                   rules::RedactionCounts* counts);

// The same for a /flags/ or /decide/ body of project `token`: top-level identifiers,
// `person_properties` and `$ip`. False when it cannot be done (no key).
bool ApplyIdentityToFlags(boost::json::object& body, std::string_view token,
                          const policies::Policy& policy, rules::RedactionCounts* counts);

// The client address a request is forwarded with, under `mode`. The address is the TCP peer;
// when the peer is loopback or private (a reverse proxy in front of scrubd), the rightmost
// valid entry of `x_forwarded_for` (the one that proxy appended), else `x_real_ip`. Returns
// "" for kDrop or when no valid address is found; a /24 (IPv4) or /48 (IPv6) network address
// for kTruncate; the canonical address for kPass.
std::string ForwardedClientAddress(policies::ClientIpMode mode, std::string_view peer,
                                   std::string_view x_forwarded_for, std::string_view x_real_ip);

// IPv4 -> a.b.c.0, IPv6 -> its /48 ("2001:db8:1::"), IPv4-mapped IPv6 as IPv4. "" when `ip`
// is not an address.
std::string TruncateIp(std::string_view ip);

}  // namespace scrubd::scrub
