// Retention rule evaluation: which of a policy's `retention.rules` sets a session's days, from
// what the store keeps of it (page URLs, event names) and, only for property rules, its stored
// events. Pure functions over the given view; any thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"

namespace scrubd::retention {

// One session (or one event without a session) as the rules see it.
struct SessionView {
  std::string_view token;
  std::vector<std::string> urls;    // page URLs it visited
  std::vector<std::string> events;  // event names seen
  // False when the store could not keep every URL or event name (a cap, a cut value): a url or
  // event condition that fails may then be a miss of the store, not of the session.
  bool facts_complete = true;
  // Its stored (cleaned) events, parsed; called at most once, and only when a property rule is
  // reached. Empty function: no events.
  std::function<Result<std::vector<boost::json::object>>()> load_events;
};

struct Verdict {
  int64_t days = 0;
  std::string rule;        // the matching rule's name, or "default" (retention.days)
  bool uncertain = false;  // facts were incomplete: the shortest outcome they allow was taken
};

// The first rule whose every condition holds, else the default. With incomplete facts, every
// rule before the first certain match whose only failing conditions are url / event ones
// might have matched: the outcome with the fewest days among them and that match is taken
// (the store keeps nothing longer than the policy could mean). An error loading the events is
// returned as is: the caller keeps the session (it cannot tell its days) and counts it.
Result<Verdict> Evaluate(const policies::RetentionPolicy& policy, const SessionView& view);

// A property's value as rules match it: strings as they are, other JSON as its text.
std::string PropertyText(const boost::json::value& v);

}  // namespace scrubd::retention
