// Internal to the preview's comparison (compare.cc, attribute.cc): where a compared value sits,
// which pieces of it a side shows, and what on the hiding side's policy hid it. Not thread-safe
// (the attributor caches parsed selectors); one comparison at a time per instance.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/policies/policy.h"
#include "workbench/replay_dom.h"
#include "workbench/runner.h"

namespace scrubd::workbench::compare_internal {

// The position of one compared value.
struct Leaf {
  std::string where, session, token, window, event_type, field, key;
  int64_t node = -1, timestamp = 0;
  bool event_before = false, event_after = false;  // each side holds the event
};

// What hid a value on one side: a rule name and its method (compare.h, Change::rule).
struct Hider {
  std::string rule, method;
};

// For each piece of `captured`, whether `side` (null: the side lacks the value) holds it; each
// piece of `side` vouches for one piece of `captured` at most.
std::vector<bool> ShownPieces(std::string_view captured,
                              const std::vector<std::pair<size_t, size_t>>& pieces,
                              const std::string* side);

class Attributor {
 public:
  // The captured session the next leaves belong to (its DOM is rebuilt for selector matching).
  void BeginSession(const StoredSession& captured, const policies::PolicySet* before,
                    const policies::PolicySet* after);
  // The analytics events come next (no DOM).
  void BeginEvents(const policies::PolicySet* before, const policies::PolicySet* after);
  // What hid (part of) `captured` at `leaf` on one side, whose value there is `side`.
  Hider Hide(const Leaf& leaf, const std::string& captured, const boost::json::value* side,
             bool before);

 private:
  struct Selectors {
    std::vector<std::pair<std::string, policies::SelectorList>> block, mask;
  };
  const Selectors& SelectorsOf(const policies::Policy& p);
  const DomNode* FindNode(const Leaf& leaf) const;

  std::optional<ReplayDom> dom_;
  std::string token_;
  const policies::PolicySet *before_ = nullptr, *after_ = nullptr;
  std::map<const policies::Policy*, Selectors> selectors_;
};

}  // namespace scrubd::workbench::compare_internal
