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

// Letters, digits and non-ASCII bytes of `s`: what a piece can reveal.
size_t AlnumCount(std::string_view s);
// How many of piece `p`'s letters and digits piece `q` reveals: position by position when
// their lengths agree and `q` differs only by non-alphanumeric mask characters, else a common
// prefix and suffix of at least kMinPartialReveal letters and digits (fewer is chance).
inline constexpr size_t kMinPartialReveal = 3;
size_t Revealed(std::string_view p, std::string_view q);

// Beyond this many (open piece, side piece) pairs per value, partial matching is undecided.
inline constexpr size_t kMaxPartialComparisons = 1u << 18;

// For each piece of `captured`, how many of its letters and digits `side` (null: the side lacks
// the value) reveals: all when a piece of `side` equals it (each side piece vouches for one
// captured piece), else the best partial match among `side`'s pieces. When a value is too big
// to match in part, the open pieces count as all shown if `undecided_shows` (the new side: a
// doubt is reported as exposed), else as hidden.
// `full` holds each piece's AlnumCount.
std::vector<size_t> RevealedPieces(std::string_view captured,
                                   const std::vector<std::pair<size_t, size_t>>& pieces,
                                   const std::vector<size_t>& full, const std::string* side,
                                   bool undecided_shows);

class Attributor {
 public:
  // The captured session the next leaves belong to (its DOM is rebuilt for selector matching).
  void BeginSession(const StoredSession& captured, const policies::PolicySet* before,
                    const policies::PolicySet* after);
  // The analytics events come next (no DOM).
  void BeginEvents(const policies::PolicySet* before, const policies::PolicySet* after);
  // What hid (part of) `captured` at `leaf` on one side, whose text there is `side` (null:
  // the side lacks the value).
  Hider Hide(const Leaf& leaf, const std::string& captured, const std::string* side, bool before);

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
