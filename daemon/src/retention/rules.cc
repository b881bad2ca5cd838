// Retention rules: first match wins; conditions of one rule are ANDed, list entries ORed.
#include "retention/rules.h"

#include <boost/json.hpp>
#include <optional>

namespace scrubd::retention {
namespace json = boost::json;

namespace {

bool AnyOf(const std::vector<std::string>& wanted, const std::vector<std::string>& seen) {
  for (const std::string& w : wanted)
    for (const std::string& s : seen)
      if (w == s) return true;
  return false;
}

bool ValueMatches(const policies::RetentionRule::Property& p, const json::value* v) {
  if (!v) return false;
  if (!p.value) return true;
  return RE2::PartialMatch(PropertyText(*v), *p.value);
}

bool PropertyHolds(const policies::RetentionRule::Property& p,
                   const std::vector<json::object>& events) {
  for (const json::object& ev : events) {
    const json::value* props = ev.if_contains("properties");
    if (!props || !props->is_object()) continue;
    const json::object& o = props->get_object();
    if (!p.person) {
      if (ValueMatches(p, o.if_contains(p.name))) return true;
      continue;
    }
    for (const char* set : {"$set", "$set_once"}) {
      const json::value* s = o.if_contains(set);
      if (s && s->is_object() && ValueMatches(p, s->get_object().if_contains(p.name))) return true;
    }
  }
  return false;
}

}  // namespace

std::string PropertyText(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

namespace {

enum class Match { kNo, kMaybe, kYes };

// A url / event condition: kMaybe instead of kNo when the facts are incomplete.
Match FactCondition(bool hit, bool complete) {
  return hit ? Match::kYes : complete ? Match::kNo : Match::kMaybe;
}

}  // namespace

Result<Verdict> Evaluate(const policies::RetentionPolicy& policy, const SessionView& view) {
  std::optional<std::vector<json::object>> events;  // loaded on first need
  std::optional<Verdict> shortest_maybe;            // incomplete facts: a rule that might match
  for (const policies::RetentionRule& r : policy.rules) {
    if (!r.tokens.empty() && !AnyOf(r.tokens, {std::string(view.token)})) continue;
    Match m = Match::kYes;
    if (!r.events.empty()) m = FactCondition(AnyOf(r.events, view.events), view.facts_complete);
    if (m != Match::kNo && r.url) {
      bool hit = false;
      for (const std::string& u : view.urls) hit = hit || RE2::PartialMatch(u, *r.url);
      Match u = FactCondition(hit, view.facts_complete);
      if (u != Match::kYes) m = u;
    }
    if (m == Match::kNo) continue;
    if (!r.properties.empty() && !events) {
      if (!view.load_events) {
        events.emplace();
      } else {
        Result<std::vector<json::object>> loaded = view.load_events();
        if (!loaded.ok()) return loaded.status();
        events = std::move(loaded).value();
      }
    }
    bool props_hold = true;
    for (const auto& p : r.properties) props_hold = props_hold && PropertyHolds(p, *events);
    if (!props_hold) continue;
    Verdict v{r.days, r.name, false};
    if (m == Match::kMaybe) {
      if (!shortest_maybe || v.days < shortest_maybe->days) shortest_maybe = v;
      continue;
    }
    if (shortest_maybe && shortest_maybe->days < v.days)
      return Verdict{shortest_maybe->days, shortest_maybe->rule, true};
    return v;
  }
  Verdict fallback{policy.days, "default", false};
  if (shortest_maybe && shortest_maybe->days < fallback.days)
    return Verdict{shortest_maybe->days, shortest_maybe->rule, true};
  return fallback;
}

}  // namespace scrubd::retention
