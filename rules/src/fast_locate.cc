// Fast locators: hand-written scanners that find the candidates of the catalog's most common
// shapes (cards, IBANs, emails, phones, IPs, MACs, NINOs, SSNs, tax ids) without RE2, picked
// per pattern by FindFastLocator (prefilter.h). prefilter.cc holds the byte-class analysis.
// Pure functions; thread-safe.
#include <algorithm>
#include <cstring>
#include <limits>

#include "ascii.h"
#include "pattern_texts.h"
#include "prefilter.h"

namespace scrubd::rules::internal {
namespace {

// Greedy `(?:[ -]?UNIT){0,max_reps}` from `i`: returns the end and sets `reps`. The separator
// class and UNIT are disjoint, so each repetition has at most one viable choice.
template <typename Unit>
inline size_t SeparatedRun(std::string_view t, size_t i, int max_reps, Unit unit, int* reps) {
  const size_t n = t.size();
  *reps = 0;
  while (*reps < max_reps) {
    if (i < n && unit(t[i])) {
      i += 1;
    } else if (i + 1 < n && (t[i] == ' ' || t[i] == '-') && unit(t[i + 1])) {
      i += 2;
    } else {
      break;
    }
    ++*reps;
  }
  return i;
}

// [0-9](?:[ -]?[0-9]){11,18}: the separator class and the digit class are disjoint, so each
// repetition has at most one viable choice and the greedy chain is the leftmost-first match.
bool LocateCard(std::string_view t, size_t pos, size_t* b, size_t* e) {
  const size_t n = t.size();
  for (size_t s = pos; s < n; ++s) {
    if (!IsDigit(t[s])) continue;
    int reps = 0;
    size_t i = SeparatedRun(t, s + 1, 18, IsDigit, &reps);
    if (reps >= 11) {
      *b = s;
      *e = i;
      return true;
    }
    // Every later digit of this chain starts a suffix of it: shorter, so no match either.
    s = i - 1;
  }
  return false;
}

bool IbanUnit(char c) { return IsUpper(c) || IsDigit(c); }

// [A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}: same disjoint-choice argument as the card.
bool LocateIban(std::string_view t, size_t pos, size_t* b, size_t* e) {
  const size_t n = t.size();
  for (size_t s = pos; s + 4 <= n; ++s) {
    if (!IsUpper(t[s]) || !IsUpper(t[s + 1]) || !IsDigit(t[s + 2]) || !IsDigit(t[s + 3])) continue;
    int reps = 0;
    size_t i = SeparatedRun(t, s + 4, 30, IbanUnit, &reps);
    if (reps >= 11) {
      *b = s;
      *e = i;
      return true;
    }
  }
  return false;
}

bool EmailLocal(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool EmailLabel(char c) { return IsAlpha(c) || IsDigit(c) || c == '-'; }

// The local part cannot contain '@', so a match's '@' is the first one after its start and the
// leftmost start is the beginning of the local-character runs before it (runs joined by single
// atext specials). The domain is
// (?:label\.)+ then 2-24 letters: greedy labels, backing off one label at a time.
bool LocateEmail(std::string_view t, size_t pos, size_t* b, size_t* e) {
  const size_t n = t.size();
  size_t a = pos;
  while (a < n) {
    const void* hit = std::memchr(t.data() + a, '@', n - a);
    if (!hit) return false;
    a = static_cast<size_t>(static_cast<const char*>(hit) - t.data());
    size_t r = a;
    // One special may end the local part ([special]?@) when a plain byte comes before it.
    if (r >= pos + 2 && IsEmailSpecial(t[r - 1]) && EmailLocal(t[r - 2])) --r;
    const size_t plain_end = r;
    while (r > pos && EmailLocal(t[r - 1])) --r;
    if (r < plain_end) {
      // (?:local+special)*: a special with a plain local byte before it joins the runs.
      while (r >= pos + 2 && IsEmailSpecial(t[r - 1]) && EmailLocal(t[r - 2])) {
        --r;
        while (r > pos && EmailLocal(t[r - 1])) --r;
      }
      // Ends of successive "label." groups after the '@' (greedy), then back off one at a time.
      thread_local std::vector<size_t> ends;
      ends.clear();
      size_t i = a + 1;
      while (true) {
        size_t j = i;
        while (j < n && EmailLabel(t[j])) ++j;
        if (j == i || j >= n || t[j] != '.') break;
        i = j + 1;
        ends.push_back(i);
      }
      for (size_t q = ends.size(); q-- > 0;) {
        size_t l = ends[q];
        while (l < n && l - ends[q] < 24 && IsAlpha(t[l])) ++l;
        if (l - ends[q] >= 2) {
          *b = r;
          *e = l;
          return true;
        }
      }
    }
    a += 1;
  }
  return false;
}

bool D29(char c) { return c >= '2' && c <= '9'; }

// One (?:[ .-]?\(?[0-9]{1,5}\)?) repetition at x, options in priority order; npos if none.
size_t E164Rep(std::string_view t, size_t x) {
  const size_t n = t.size();
  for (int sep = 1; sep >= 0; --sep) {
    if (sep && !(x < n && IsNanpSeparator(t[x]))) continue;
    const size_t y = x + static_cast<size_t>(sep);
    for (int par = 1; par >= 0; --par) {
      if (par && !(y < n && t[y] == '(')) continue;
      const size_t z = y + static_cast<size_t>(par);
      size_t w = z;
      while (w < n && w - z < 5 && IsDigit(t[w])) ++w;
      if (w == z) continue;
      if (w < n && t[w] == ')') ++w;
      return w;
    }
  }
  return std::string_view::npos;
}

// \+[0-9]{1,3}(?:...){1,7}: nothing follows the loop, so once one repetition matched every
// later choice is the first that matches locally; only the first repetition can force the
// country-code digits to back off.
bool LocatePhoneE164(std::string_view t, size_t pos, size_t* b, size_t* e) {
  const size_t n = t.size();
  size_t s = pos;
  while (s < n) {
    const void* hit = std::memchr(t.data() + s, '+', n - s);
    if (!hit) return false;
    s = static_cast<size_t>(static_cast<const char*>(hit) - t.data());
    size_t d = 0;
    while (s + 1 + d < n && d < 3 && IsDigit(t[s + 1 + d])) ++d;
    for (size_t k = d; k >= 1; --k) {
      size_t x = E164Rep(t, s + 1 + k);
      if (x == std::string_view::npos) continue;
      for (int reps = 1; reps < 7; ++reps) {
        const size_t nx = E164Rep(t, x);
        if (nx == std::string_view::npos) break;
        x = nx;
      }
      *b = s;
      *e = x;
      return true;
    }
    ++s;
  }
  return false;
}

// [2-9][0-9]{2}[ .-][0-9]{4} at r.
bool NanpTail(std::string_view t, size_t r) {
  return r + 8 <= t.size() && D29(t[r]) && IsDigit(t[r + 1]) && IsDigit(t[r + 2]) &&
         IsNanpSeparator(t[r + 3]) && IsDigit(t[r + 4]) && IsDigit(t[r + 5]) && IsDigit(t[r + 6]) &&
         IsDigit(t[r + 7]);
}

// Anchored at s: every alternative path in RE2's priority order; the first that completes.
size_t NanpAt(std::string_view t, size_t s) {
  const size_t n = t.size();
  size_t prefixes[3];
  int np = 0;
  if (s < n && t[s] == '1') {
    if (s + 1 < n && IsNanpSeparator(t[s + 1])) prefixes[np++] = s + 2;
    prefixes[np++] = s + 1;
  }
  prefixes[np++] = s;
  for (int i = 0; i < np; ++i) {
    const size_t q = prefixes[i];
    if (q + 5 <= n && t[q] == '(' && D29(t[q + 1]) && IsDigit(t[q + 2]) && IsDigit(t[q + 3]) &&
        t[q + 4] == ')') {
      if (q + 5 < n && IsNanpSeparator(t[q + 5]) && NanpTail(t, q + 6)) return q + 14;
      if (NanpTail(t, q + 5)) return q + 13;
    }
    if (q + 4 <= n && D29(t[q]) && IsDigit(t[q + 1]) && IsDigit(t[q + 2]) &&
        IsNanpSeparator(t[q + 3]) && NanpTail(t, q + 4))
      return q + 12;
  }
  return std::string_view::npos;
}

bool LocatePhoneNanp(std::string_view t, size_t pos, size_t* b, size_t* e) {
  for (size_t s = pos; s < t.size(); ++s) {
    const char c = t[s];
    if (c != '1' && c != '(' && !D29(c)) continue;
    const size_t end = NanpAt(t, s);
    if (end != std::string_view::npos) {
      *b = s;
      *e = end;
      return true;
    }
  }
  return false;
}

// [0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}: ':' is not a hex digit, so taking fewer hex
// digits anywhere leaves a hex digit where ':' is needed; the greedy path is the only one.
size_t Ipv6At(std::string_view t, size_t s) {
  const size_t n = t.size();
  size_t i = s;
  while (i < n && i - s < 4 && IsHex(t[i])) ++i;
  int reps = 0;
  while (reps < 7 && i < n && t[i] == ':') {
    size_t j = i + 1;
    while (j < n && j - (i + 1) < 4 && IsHex(t[j])) ++j;
    i = j;
    ++reps;
  }
  return reps >= 2 ? i : std::string_view::npos;
}

bool LocateIpv6(std::string_view t, size_t pos, size_t* b, size_t* e) {
  for (size_t s = pos; s < t.size(); ++s) {
    const char c = t[s];
    if (c != ':' && !IsHex(c)) continue;
    const size_t end = Ipv6At(t, s);
    if (end != std::string_view::npos) {
      *b = s;
      *e = end;
      return true;
    }
  }
  return false;
}

bool Sep4(char c) { return c == ' ' || c == '.' || c == '/' || c == '-'; }

size_t DigitRun(std::string_view t, size_t i, size_t cap) {
  size_t k = 0;
  while (i + k < t.size() && k < cap && IsDigit(t[i + k])) ++k;
  return k;
}

// One (?:[ ./-]?[0-9]{2,4}) repetition at x (a separator, if present, must be taken: the
// no-separator path would need a digit where the separator is); npos if none.
size_t TrunkRep(std::string_view t, size_t x) {
  if (x < t.size() && Sep4(t[x])) {
    const size_t d = DigitRun(t, x + 1, 4);
    return d >= 2 ? x + 1 + d : std::string_view::npos;
  }
  const size_t d = DigitRun(t, x, 4);
  return d >= 2 ? x + d : std::string_view::npos;
}

// \(?0[1-9][0-9]{0,4}\)?(?:...){1,5}: only the first repetition can force the optional parts
// before it to back off (fewer digits, no ')'), tried in RE2's priority order; later
// repetitions are greedy because nothing follows the loop.
size_t TrunkAt(std::string_view t, size_t s) {
  const size_t n = t.size();
  size_t i = s;
  if (i < n && t[i] == '(') ++i;
  if (!(i + 1 < n && t[i] == '0' && t[i + 1] >= '1' && t[i + 1] <= '9'))
    return std::string_view::npos;
  const size_t j = i + 2;
  const size_t r = DigitRun(t, j, 4);
  for (size_t k = r + 1; k-- > 0;) {
    const size_t q = j + k;
    size_t starts[2];
    int ns = 0;
    if (q < n && t[q] == ')') starts[ns++] = q + 1;
    starts[ns++] = q;
    for (int a = 0; a < ns; ++a) {
      size_t x = TrunkRep(t, starts[a]);
      if (x == std::string_view::npos) continue;
      for (int reps = 1; reps < 5; ++reps) {
        const size_t nx = TrunkRep(t, x);
        if (nx == std::string_view::npos) break;
        x = nx;
      }
      return x;
    }
  }
  return std::string_view::npos;
}

bool LocatePhoneTrunk(std::string_view t, size_t pos, size_t* b, size_t* e) {
  for (size_t s = pos; s < t.size(); ++s) {
    if (t[s] != '(' && t[s] != '0') continue;
    const size_t end = TrunkAt(t, s);
    if (end != std::string_view::npos) {
      *b = s;
      *e = end;
      return true;
    }
  }
  return false;
}

// Fixed-length patterns without alternation (SSN, German tax id): the leftmost-first match is
// the first start where every byte fits its template slot. 'D' = [0-9], 'N' = [1-9], any other
// 'T' = [2-9], 'H' = [0-9A-Fa-f], 'S' = [:-]; any other template byte is itself.
bool LocateTemplate(std::string_view t, size_t pos, std::string_view tpl, size_t* b, size_t* e) {
  const size_t n = tpl.size();
  for (size_t i = pos; i + n <= t.size(); ++i) {
    size_t j = 0;
    for (; j < n; ++j) {
      const char c = t[i + j], k = tpl[j];
      const bool ok = k == 'D'   ? (c >= '0' && c <= '9')
                      : k == 'N' ? (c >= '1' && c <= '9')
                      : k == 'T' ? (c >= '2' && c <= '9')
                      : k == 'H'
                          ? ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'))
                      : k == 'S' ? (c == ':' || c == '-')
                                 : c == k;
      if (!ok) break;
    }
    if (j == n) {
      *b = i;
      *e = i + n;
      return true;
    }
  }
  return false;
}

bool LocatePhonePlain(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "TDDDDDDDDD", b, e);
}
bool LocateMacColon(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "HHSHHSHHSHHSHHSHH", b, e);
}
bool LocateMacDot(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "HHHH.HHHH.HHHH", b, e);
}
// [0-9]{1,3}(\.[0-9]{1,3}){3}, leftmost-first: at each start the greedy choices are tried
// longest first with backtracking (a shorter octet can only help when the longer one is not
// followed by '.', so the first success in that order is RE2's).
bool Ipv4From(std::string_view t, size_t i, int octet, size_t* e) {
  size_t n = 0;
  while (n < 3 && i + n < t.size() && t[i + n] >= '0' && t[i + n] <= '9') ++n;
  for (size_t k = n; k >= 1; --k) {
    if (octet == 3) {
      *e = i + k;
      return true;
    }
    if (i + k < t.size() && t[i + k] == '.' && Ipv4From(t, i + k + 1, octet + 1, e)) return true;
  }
  return false;
}
bool LocateIpv4(std::string_view t, size_t pos, size_t* b, size_t* e) {
  for (size_t i = pos; i < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') continue;
    if (Ipv4From(t, i, 0, e)) {
      *b = i;
      return true;
    }
  }
  return false;
}
// The UK NINO: each " ?" takes the space when there is one (without it the next byte would
// have to be a digit or A-D, not a space), so there is one candidate per start.
bool LocateNino(std::string_view t, size_t pos, size_t* b, size_t* e) {
  const size_t n = t.size();
  for (size_t i = pos; i + 9 <= n; ++i) {
    if (!NinoFirstLetter(t[i]) || !NinoSecondLetter(t[i + 1])) continue;
    size_t j = i + 2;
    bool ok = true;
    for (int g = 0; g < 3 && ok; ++g) {
      if (j < n && t[j] == ' ') ++j;
      ok = j + 2 <= n && t[j] >= '0' && t[j] <= '9' && t[j + 1] >= '0' && t[j + 1] <= '9';
      j += 2;
    }
    if (!ok) continue;
    if (j < n && t[j] == ' ') ++j;
    if (j < n && t[j] >= 'A' && t[j] <= 'D') {
      *b = i;
      *e = j + 1;
      return true;
    }
  }
  return false;
}
bool LocateSsnDash(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "DDD-DD-DDDD", b, e);
}
bool LocateSsnSpace(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "DDD DD DDDD", b, e);
}
bool LocateSsnPlain(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "DDDDDDDDD", b, e);
}
bool LocateTaxSpaced(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "ND DDD DDD DDD", b, e);
}
bool LocateTaxPlain(std::string_view t, size_t pos, size_t* b, size_t* e) {
  return LocateTemplate(t, pos, "NDDDDDDDDDD", b, e);
}

}  // namespace

FastLocateFn FindFastLocator(std::string_view re) {
  if (re == kCardRe) return &LocateCard;
  if (re == kIbanRe) return &LocateIban;
  if (re == kEmailRe) return &LocateEmail;
  if (re == kPhoneE164Re) return &LocatePhoneE164;
  if (re == kPhoneNanpRe) return &LocatePhoneNanp;
  if (re == kIpv6Re) return &LocateIpv6;
  if (re == kPhoneTrunkRe) return &LocatePhoneTrunk;
  if (re == kSsnDashRe) return &LocateSsnDash;
  if (re == kSsnSpaceRe) return &LocateSsnSpace;
  if (re == kSsnPlainRe) return &LocateSsnPlain;
  if (re == kTaxSpacedRe) return &LocateTaxSpaced;
  if (re == kTaxPlainRe) return &LocateTaxPlain;
  if (re == kPhonePlainRe) return &LocatePhonePlain;
  if (re == kMacColonRe) return &LocateMacColon;
  if (re == kMacDotRe) return &LocateMacDot;
  if (re == kIpv4Re) return &LocateIpv4;
  if (re == kNinoRe) return &LocateNino;
  return nullptr;
}

FastLocateFn CardLocator() { return &LocateCard; }

const std::vector<OccurrenceForm>& OccurrenceForms() {
  static const std::vector<OccurrenceForm> kForms = {
      {kCardRe, "[0-9](?:[ -]?[0-9]){11}", true},
      {kIbanRe, "[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11}", true},
      {kPhoneE164Re, "\\+[0-9]{1,3}[ .-]?\\(?[0-9]", true},
      {kPhoneTrunkRe, "\\(?0[1-9][0-9]{0,4}\\)?[ ./-]?[0-9]{2}", true},
      {kIpv6Re, ":[0-9A-Fa-f]{0,4}:", false},
      {kIpv4Re, "[0-9]\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]", false},
      {kEmailRe, "[A-Za-z0-9._%+-][!$&'*^`{|}~]?@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2}", false},
      {kGithubRe, "gh[pousr]_[A-Za-z0-9]{36}", true},
      {kGithubPatRe, "github_pat_[A-Za-z0-9_]{22}", true},
      {kSlackRe, "xox[abposr]-[0-9A-Za-z-]{10}", true},
      {kSlackAppRe, "xapp-[0-9]-[0-9A-Za-z-]{10}", true},
      {kStripeRe, "(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16}", true},
      {kJwtRe, "eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.", true},
      {kBearerRe, "(?i:bearer)[ ]+[A-Za-z0-9._~+/-]", true},
  };
  return kForms;
}

std::vector<std::string_view> FastLocatorPatterns() {
  return {kCardRe,       kIbanRe,     kEmailRe,    kPhoneE164Re, kPhoneNanpRe, kIpv6Re,
          kPhoneTrunkRe, kSsnDashRe,  kSsnSpaceRe, kSsnPlainRe,  kTaxSpacedRe, kTaxPlainRe,
          kPhonePlainRe, kMacColonRe, kMacDotRe,   kIpv4Re,      kNinoRe};
}

}  // namespace scrubd::rules::internal
