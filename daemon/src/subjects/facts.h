// Subject facts: the graph nodes of one decoded posthog event (FactsOf, called by ingest
// before the scrubber rewrites the identifiers) and of a request's identity (SeedNodes).
// Pure functions of their inputs; thread-safe. Raw identifier values are read here and leave
// only as keyed pseudonyms (scrub::IdentifierPseudonym); session ids and uuids as they are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ingest/decode.h"
#include "subjects/subject_store.h"

namespace scrubd::subjects {

// The nodes of one event: for every identifier value (distinct_id, $anon_distinct_id,
// $device_id, $user_id at the top level and in properties; `alias` of $create_alias and
// $merge_dangerously; string values of email-named keys (/e-?mail/i) of $set / $set_once at
// the top level and in properties) an "i:" node and its "h:" node (pseudonym of the sha256
// hex); an identifier that looks like an email also yields the "i:"/"h:" nodes of its
// normalised form (trimmed, lower-cased), kind email. The session as "s:<id>". Values
// PostHog refuses as ids ("anonymous", "null", "undefined", ... see IsIllegalIdentifier) make
// no node. master_key empty: no nodes (token, session_id, uuid are still filled in).
EventFacts FactsOf(const ingest::Event& event, std::string_view master_key);

// The seed nodes of a request identity. identity_type: distinct_id (or
// controller_customer_id), email, session; format: raw or sha256 (64 hex digits, either case:
// the "h:" node of that hex). email raw: the normalised value (and the value as given when it
// differs). session: "s:<id>" (raw only). Empty when the input is unusable (unknown type or
// format, bad hex, no key, invalid session id).
std::vector<NodeFact> SeedNodes(std::string_view master_key, std::string_view token,
                                std::string_view identity_type, std::string_view value,
                                std::string_view format);

// The nodes IsTombstoned should be asked about before an event is admitted: every node of
// the facts except device ids (a shared device must not suppress the next person on it).
bool IsSuppressed(const SubjectStore& store, const EventFacts& facts);

// Trimmed (ASCII whitespace) and ASCII lower-cased: how emails are compared.
std::string NormaliseEmail(std::string_view raw);
// Lowercase hex of SHA-256(data); "" on an OpenSSL failure.
std::string Sha256Hex(std::string_view data);
// The values PostHog's ingestion refuses to merge persons on (case-insensitive, trimmed):
// empty, "anonymous", "guest", "null", "undefined", "none", "nil", "0", "true", "false",
// "[object object]", "nan", "distinct_id", "distinctid", "id", "not_authenticated", "email",
// "-1", "''", "\"\"" and the like.
bool IsIllegalIdentifier(std::string_view raw);

}  // namespace scrubd::subjects
