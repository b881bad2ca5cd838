// Byte-class prefilter derived from the catalog's RE2 patterns at Build time: for each pattern,
// a lower bound on the match length and up to kMaxSets byte sets that every match must touch
// (one byte from each). A string whose bytes miss a required set, or that is shorter than the
// bound, cannot match the pattern, so the scanner skips RE2 entirely for it. The analysis is
// conservative: syntax it does not understand yields "no requirement" (always a candidate),
// so it can only save work, never lose a match. Internal to scrubd_rules; pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace scrubd::rules::internal {

struct ByteSet {
  std::array<uint64_t, 4> w{};
  void Add(unsigned c) { w[c >> 6] |= uint64_t{1} << (c & 63); }
  bool Has(unsigned c) const { return (w[c >> 6] >> (c & 63)) & 1; }
  bool Empty() const { return (w[0] | w[1] | w[2] | w[3]) == 0; }
  int Count() const;
  ByteSet& operator|=(const ByteSet& o) {
    for (int i = 0; i < 4; ++i) w[i] |= o.w[i];
    return *this;
  }
  bool operator==(const ByteSet& o) const { return w == o.w; }
};

struct PatternRequirement {
  bool analyzed = false;      // false: syntax not understood; no requirement (sound)
  size_t min_len = 0;         // every match is at least this many bytes
  std::vector<ByteSet> sets;  // every match contains a byte of each set (rarest first)
};

inline constexpr size_t kMaxSets = 3;

// Analyzes one RE2 pattern (Latin-1 semantics, the subset the catalog uses).
PatternRequirement AnalyzePattern(std::string_view re);

}  // namespace scrubd::rules::internal

namespace scrubd::rules::internal {

// Exact hand-written equivalents of a few hot catalog patterns: the leftmost-first match that
// starts at or after `pos` (what RE2::Match(text, pos, size, UNANCHORED) returns for group 0).
// Each is chosen only when the catalog pattern text is byte-identical to the one it implements,
// so an edited pattern falls back to RE2; rules_test checks each against RE2 on random text.
// Bounded lookahead per start position: linear time.
using FastLocateFn = bool (*)(std::string_view text, size_t pos, size_t* begin, size_t* end);
FastLocateFn FindFastLocator(std::string_view re);
FastLocateFn CardLocator();  // the one for "[0-9](?:[ -]?[0-9]){11,18}"

// The pattern texts the fast locators implement (for the differential test).
std::vector<std::string_view> FastLocatorPatterns();

// The RE2::Set only asks whether a pattern occurs somewhere (after a start-boundary prefix or a
// context word, before "(?s:.*)\z"). For that question a counted repetition at the end of a
// pattern can be cut to its minimum (a longer match has the shorter one as a prefix, at the
// same start), and for an unprefixed pattern one at the start too (a suffix of the match).
// Fewer counter positions mean far fewer DFA states inside digit and hex runs. By exact catalog
// text; an edited pattern keeps its own text. `start_kept`: the occurrence form's matches start
// where the pattern's do (required with a boundary prefix or a context word before it).
struct OccurrenceForm {
  std::string_view re;  // the catalog pattern
  std::string_view occurs;
  bool start_kept;
};
const std::vector<OccurrenceForm>& OccurrenceForms();

}  // namespace scrubd::rules::internal
