// The shape pass: one walk over a string records its digit runs, a few separator counts and
// which literal anchors occur, so sound per-pattern "may occur" checks can replace the RE2::Set.
// Internal to scrubd_rules; pure functions, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace scrubd::rules::internal {

// Literal anchors (bits of Shape::literals), one per catalog pattern family without digits.
enum Literal : uint32_t {
  kLitAws = 1u << 0,      // AKIA ASIA AGPA AIDA AROA ANPA ANVA AIPA
  kLitGoogle = 1u << 1,   // AIza
  kLitBearer = 1u << 2,   // "bearer" (any case) then a space
  kLitGithub = 1u << 3,   // gh[pousr]_ or github_
  kLitStripe = 1u << 4,   // sk_ or rk_
  kLitJwt = 1u << 5,      // eyJ
  kLitPem = 1u << 6,      // "-----BEGIN "
  kLitSlack = 1u << 7,    // xox[abposr]- , xapp- , hooks.
  kLitScheme = 1u << 8,   // ://
  kLitQuery = 1u << 9,    // one of ?&;# somewhere before a '='
  kLitMacDot = 1u << 10,  // HHHH.HHHH.HHHH
};

struct Shape {
  static constexpr int kMaxRuns = 48;
  struct Run {
    uint32_t b, e;  // [b, e): a maximal run of ASCII digits
  };
  Run runs[kMaxRuns];
  int nruns = 0;
  bool overflow = false;  // more than kMaxRuns digit runs: the checks cannot answer
  uint32_t colons = 0, dashes = 0, dots = 0;
  uint32_t literals = 0;
};

// Fills `s` from `text` in one pass.
void ComputeShape(std::string_view text, Shape* s);

// A sound necessary condition for one catalog pattern: false only when the pattern cannot
// match anywhere in `text` (whose shape is `s`, not overflowed). Chosen by exact catalog text
// like the fast locators, so an edited pattern gets none (and the scanner uses the RE2::Set).
using MayOccurFn = bool (*)(std::string_view text, const Shape& s);
MayOccurFn FindMayOccur(std::string_view re);

}  // namespace scrubd::rules::internal
