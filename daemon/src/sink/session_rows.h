// Internal to the local store (local_store*.cc): the sessions row's columns and their reading,
// and the by-rule redaction counts' JSON column (STORE_FORMAT.md "Redaction counts"). Never
// include elsewhere. Stateless; the callers hold the store's mutex around the statement.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sink/local_store.h"
#include "sink/sqlite_stmt.h"

namespace scrubd::sink {

// "token,session_id,distinct_id,first_ts,last_ts,first_url,bytes,events,redactions,
// redactions_by_rule", the order ReadSession reads.
extern const char kSessionColumns[];
SessionInfo ReadSession(sqlite::Stmt& q);

// The by-rule JSON object text ({"email":3,...}); anything that is not an object of
// non-negative integers reads as empty (the column is written only by MergeRuleCounts).
std::map<std::string, int64_t> ParseRuleCounts(std::string_view text);
// `into` plus `add`, bounded: at most kMaxRulesPerSession ids (plus kOtherRules), each at
// most kMaxRuleIdBytes; the rest adds to kOtherRules.
void MergeRuleCounts(std::map<std::string, int64_t>* into,
                     const std::map<std::string, uint64_t>& add);
std::string RuleCountsJson(const std::map<std::string, int64_t>& counts);
// The sum of `by_rule` (0 for null), as RedactionCounts::Total counts.
int64_t RedactionTotal(const std::map<std::string, uint64_t>* by_rule);

}  // namespace scrubd::sink
