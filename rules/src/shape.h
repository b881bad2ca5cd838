// The shape pass: one walk over a string records its digit runs, a few separator counts and
// which literal anchors occur, so sound per-pattern feature bits can replace the RE2::Set.
// Internal to scrubd_rules; pure functions, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace scrubd::rules::internal {

// Feature bits: what a string may hold, each a sound necessary condition for one or a few
// catalog patterns (FeatureFor). Literal features are set during the shape pass itself.
enum Feature : uint32_t {
  kFeatAlways = 1u << 0,      // email (its locator is memchr('@'); the prefilter wants an '@')
  kFeatCard = 1u << 1,        // 12+ digits in runs joined by single ' ' or '-'
  kFeatIban = 1u << 2,        // a 2+ digit run right after two capitals
  kFeatE164 = 1u << 3,        // a run right after '+'
  kFeatNanp = 1u << 4,        // area code, then a 3-digit exchange run, [ .-], a 4+ run
  kFeatRun9 = 1u << 5,        // a run of 9+ digits
  kFeatRun10 = 1u << 6,       // ... 10+
  kFeatRun11 = 1u << 7,       // ... 11+
  kFeatTrunk = 1u << 8,       // '0', a non-zero digit, two more digits (trunk-prefix phone)
  kFeatSsnDash = 1u << 9,     // runs 3+ - 2 - 4+
  kFeatSsnSpace = 1u << 10,   // runs 3+ ' ' 2 ' ' 4+
  kFeatTaxSpaced = 1u << 11,  // runs 2+ ' ' 3 ' ' 3 ' ' 3+
  kFeatIpv4 = 1u << 12,       // four runs joined by '.', the middle two of at most 3 digits
  kFeatNino = 1u << 13,       // two NINO prefix letters, an optional space, a 2+ digit run
  kFeatIpv6 = 1u << 14,       // two ':'
  kFeatMacColon = 1u << 15,   // five bytes of ':' or '-'
  kFeatMacDot = 1u << 16,     // HHHH.HHHH.HHHH
  kFeatAws = 1u << 17,        // AKIA ASIA AGPA AIDA AROA ANPA ANVA AIPA
  kFeatGoogle = 1u << 18,     // AIza
  kFeatBearer = 1u << 19,     // "bearer" (any case) then a space
  kFeatGithub = 1u << 20,     // gh[pousr]_ or github_
  kFeatStripe = 1u << 21,     // sk_ or rk_
  kFeatJwt = 1u << 22,        // eyJ
  kFeatPem = 1u << 23,        // "-----BEGIN "
  kFeatSlack = 1u << 24,      // xox[abposr]- , xapp- , hooks.
  kFeatScheme = 1u << 25,     // ://
  kFeatQuery = 1u << 26,      // one of ?&;# somewhere before a '='
};

struct Shape {
  static constexpr int kMaxRuns = 48;
  struct Run {
    uint32_t b, e;  // [b, e): a maximal run of ASCII digits
  };
  Run runs[kMaxRuns];
  int nruns = 0;
  bool overflow = false;  // more than kMaxRuns digit runs: Features cannot answer
  uint32_t colons = 0, dashes = 0;
  uint32_t literals = 0;  // the literal Feature bits
};

// Fills `s` from `text` in one pass.
void ComputeShape(std::string_view text, Shape* s);

// Every Feature bit that holds for `text` (shape `s`, not overflowed): one loop over its runs.
uint32_t Features(std::string_view text, const Shape& s);

// The Feature whose absence proves that the catalog pattern `re` matches nowhere, or 0 when
// there is none. By exact catalog text like the fast locators, so an edited pattern gets none
// (and the scanner uses the RE2::Set).
uint32_t FeatureFor(std::string_view re);

}  // namespace scrubd::rules::internal
