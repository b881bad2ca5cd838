// The shape pass and the per-pattern "may occur" checks (shape.h). Every check is a necessary
// condition read off the pattern: it may say "may occur" for text where the pattern has no
// match (the exact locator then finds nothing), never the reverse. shape_test checks each
// against RE2 on random text.
#include "shape.h"

#include <array>
#include <cstring>

#include "pattern_texts.h"

namespace scrubd::rules::internal {
namespace {

bool Dig(char c) { return c >= '0' && c <= '9'; }
bool Up(char c) { return c >= 'A' && c <= 'Z'; }
char Lower(char c) { return Up(c) ? static_cast<char>(c + 32) : c; }

// What the shape pass does at a byte.
enum Kind : uint8_t {
  kNone = 0,
  kDigit,
  kColon,   // ':' count, "://"
  kDash,    // '-' count, "-----BEGIN "
  kDot,     // '.' count, "hooks."
  kUpperA,  // AWS prefixes, AIza
  kUnder,   // gh?_, github_, sk_, rk_
  kJ,       // eyJ
  kX,       // xox?-, xapp-
  kB,       // "bearer" (any case) then a space
  kDelim,   // ? & ; #
  kEquals,  // '=' after a delimiter
};

constexpr std::array<uint8_t, 256> MakeKinds() {
  std::array<uint8_t, 256> k{};
  for (int c = '0'; c <= '9'; ++c) k[c] = kDigit;
  k[':'] = kColon;
  k['-'] = kDash;
  k['.'] = kDot;
  k['A'] = kUpperA;
  k['_'] = kUnder;
  k['J'] = kJ;
  k['x'] = kX;
  k['b'] = kB;
  k['B'] = kB;
  k['?'] = kDelim;
  k['&'] = kDelim;
  k[';'] = kDelim;
  k['#'] = kDelim;
  k['='] = kEquals;
  return k;
}
constexpr std::array<uint8_t, 256> kKinds = MakeKinds();

bool Hex(char c) { return Dig(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool Hex4(std::string_view t, size_t i) {
  return Hex(t[i]) && Hex(t[i + 1]) && Hex(t[i + 2]) && Hex(t[i + 3]);
}

bool At(std::string_view t, size_t i, std::string_view lit) {
  return i <= t.size() && t.size() - i >= lit.size() &&
         std::memcmp(t.data() + i, lit.data(), lit.size()) == 0;
}

uint32_t AwsOrGoogle(std::string_view t, size_t i) {
  if (t.size() - i < 4) return 0;
  const char a = t[i + 1], b = t[i + 2], c = t[i + 3];
  if (a == 'I' && b == 'z' && c == 'a') return kLitGoogle;
  const bool aws = (a == 'K' && b == 'I' && c == 'A') || (a == 'S' && b == 'I' && c == 'A') ||
                   (a == 'G' && b == 'P' && c == 'A') || (a == 'I' && b == 'D' && c == 'A') ||
                   (a == 'R' && b == 'O' && c == 'A') || (a == 'N' && b == 'P' && c == 'A') ||
                   (a == 'N' && b == 'V' && c == 'A') || (a == 'I' && b == 'P' && c == 'A');
  return aws ? uint32_t{kLitAws} : 0;
}

uint32_t Underscore(std::string_view t, size_t i) {
  uint32_t lit = 0;
  if (i >= 3 && t[i - 3] == 'g' && t[i - 2] == 'h' && std::strchr("pousr", t[i - 1]) != nullptr &&
      t[i - 1] != '\0')
    lit |= kLitGithub;
  if (i >= 6 && std::memcmp(t.data() + i - 6, "github", 6) == 0) lit |= kLitGithub;
  if (i >= 2 && (t[i - 2] == 's' || t[i - 2] == 'r') && t[i - 1] == 'k') lit |= kLitStripe;
  return lit;
}

uint32_t SlackX(std::string_view t, size_t i) {
  if (At(t, i, "xapp-")) return kLitSlack;
  if (At(t, i, "xox") && t.size() - i >= 5 && std::strchr("abposr", t[i + 3]) != nullptr &&
      t[i + 3] != '\0' && t[i + 4] == '-')
    return kLitSlack;
  return 0;
}

// (?i:bearer)[ ]+ at the 'b' or 'B' at i.
bool BearerAt(std::string_view t, size_t i) {
  if (t.size() - i < 7 || t[i + 6] != ' ') return false;
  static constexpr char kWord[] = "bearer";
  for (size_t k = 1; k < 6; ++k)
    if (Lower(t[i + k]) != kWord[k]) return false;
  return true;
}

// --- Checks over digit runs. Runs are maximal, so a gap is at least one non-digit byte. ---

size_t Len(const Shape::Run& r) { return r.e - r.b; }
// The single byte between runs i and i+1, or 0 when the gap is longer.
char Gap(std::string_view t, const Shape& s, int i) {
  return s.runs[i + 1].b - s.runs[i].e == 1 ? t[s.runs[i].e] : '\0';
}
bool LongRun(const Shape& s, size_t n) {
  for (int i = 0; i < s.nruns; ++i)
    if (Len(s.runs[i]) >= n) return true;
  return false;
}

// [0-9](?:[ -]?[0-9]){11,18}: 12+ digits in runs joined by single ' ' or '-'.
bool MayCard(std::string_view t, const Shape& s) {
  size_t chain = 0;
  for (int i = 0; i < s.nruns; ++i) {
    chain += Len(s.runs[i]);
    if (chain >= 12) return true;
    const char g = i + 1 < s.nruns ? Gap(t, s, i) : '\0';
    if (g != ' ' && g != '-') chain = 0;
  }
  return false;
}
// [A-Z]{2}[0-9]{2}...: a run of 2+ digits right after two capitals.
bool MayIban(std::string_view t, const Shape& s) {
  for (int i = 0; i < s.nruns; ++i) {
    const size_t b = s.runs[i].b;
    if (Len(s.runs[i]) >= 2 && b >= 2 && Up(t[b - 1]) && Up(t[b - 2])) return true;
  }
  return false;
}
// \+[0-9]{1,3}...: a run right after '+'.
bool MayE164(std::string_view t, const Shape& s) {
  for (int i = 0; i < s.nruns; ++i)
    if (s.runs[i].b > 0 && t[s.runs[i].b - 1] == '+') return true;
  return false;
}
bool Sep3(char c) { return c == ' ' || c == '.' || c == '-'; }
// Every NANP match ends in an area code, then [2-9][0-9]{2}[ .-][0-9]{4}. The exchange follows
// a separator or ')', so it is a whole run of exactly 3 digits starting with 2-9; the area code
// before it is a 3+ run one separator away, or a run closed by ')' (and maybe a separator).
bool MayNanp(std::string_view t, const Shape& s) {
  for (int i = 1; i + 1 < s.nruns; ++i) {
    const Shape::Run& x = s.runs[i];
    if (Len(x) != 3 || t[x.b] < '2' || !Sep3(Gap(t, s, i)) || Len(s.runs[i + 1]) < 4) continue;
    const Shape::Run& a = s.runs[i - 1];
    if (Len(a) < 3) continue;
    const size_t gap = x.b - a.e;
    if ((gap == 1 && Sep3(t[a.e])) ||
        (t[a.e] == ')' && (gap == 1 || (gap == 2 && Sep3(t[a.e + 1])))))
      return true;
  }
  return false;
}
bool MayRun9(std::string_view, const Shape& s) { return LongRun(s, 9); }
bool MayRun10(std::string_view, const Shape& s) { return LongRun(s, 10); }
bool MayRun11(std::string_view, const Shape& s) { return LongRun(s, 11); }
// \(?0[1-9][0-9]{0,4}\)?(?:[ ./-]?[0-9]{2,4}){1,5}: a '0' then a non-zero digit in one run,
// then two more digits: in the same run, or in the next run at most ")" and a separator away.
bool MayTrunk(std::string_view t, const Shape& s) {
  for (int i = 0; i < s.nruns; ++i) {
    const Shape::Run& r = s.runs[i];
    const bool next = i + 1 < s.nruns && s.runs[i + 1].b - r.e <= 2 && Len(s.runs[i + 1]) >= 2;
    for (size_t k = r.b; k + 1 < r.e; ++k)
      if (t[k] == '0' && t[k + 1] != '0' && (r.e - k >= 4 || next)) return true;
  }
  return false;
}
// Runs a, b, c (and d) joined by single `sep` bytes, with lengths >= la, == lb, == lc, >= ld.
bool Joined(std::string_view t, const Shape& s, char sep, size_t la, size_t lb, size_t lc,
            size_t ld, int nparts) {
  for (int i = 0; i + nparts - 1 < s.nruns; ++i) {
    bool ok = Len(s.runs[i]) >= la;
    for (int k = 0; k + 1 < nparts && ok; ++k) ok = Gap(t, s, i + k) == sep;
    if (!ok) continue;
    if (nparts == 3) {
      if (Len(s.runs[i + 1]) == lb && Len(s.runs[i + 2]) >= lc) return true;
    } else if (Len(s.runs[i + 1]) == lb && Len(s.runs[i + 2]) == lc && Len(s.runs[i + 3]) >= ld) {
      return true;
    }
  }
  return false;
}
bool MaySsnDash(std::string_view t, const Shape& s) { return Joined(t, s, '-', 3, 2, 4, 0, 3); }
bool MaySsnSpace(std::string_view t, const Shape& s) { return Joined(t, s, ' ', 3, 2, 4, 0, 3); }
bool MayTaxSpaced(std::string_view t, const Shape& s) { return Joined(t, s, ' ', 2, 3, 3, 3, 4); }
// Four runs joined by '.', the middle two at most 3 digits.
bool MayIpv4(std::string_view t, const Shape& s) {
  for (int i = 0; i + 3 < s.nruns; ++i) {
    if (Gap(t, s, i) == '.' && Gap(t, s, i + 1) == '.' && Gap(t, s, i + 2) == '.' &&
        Len(s.runs[i + 1]) <= 3 && Len(s.runs[i + 2]) <= 3)
      return true;
  }
  return false;
}
bool NinoFirst(char c) {
  return Up(c) && c != 'D' && c != 'F' && c != 'I' && c != 'Q' && c != 'U' && c != 'V';
}
// The two NINO prefix letters, an optional space, then a run of 2+ digits.
bool MayNino(std::string_view t, const Shape& s) {
  for (int i = 0; i < s.nruns; ++i) {
    size_t b = s.runs[i].b;
    if (Len(s.runs[i]) < 2) continue;
    if (b > 0 && t[b - 1] == ' ') --b;
    if (b >= 2 && NinoFirst(t[b - 2]) && NinoFirst(t[b - 1]) && t[b - 1] != 'O') return true;
  }
  return false;
}

// --- Checks over counts and literal anchors. ---
bool MayIpv6(std::string_view, const Shape& s) { return s.colons >= 2; }
bool MayMacColon(std::string_view, const Shape& s) { return s.colons + s.dashes >= 5; }
bool MayMacDot(std::string_view, const Shape& s) { return (s.literals & kLitMacDot) != 0; }
bool Always(std::string_view, const Shape&) { return true; }  // email: its locator is memchr('@')
template <uint32_t kBit>
bool HasLiteral(std::string_view, const Shape& s) {
  return (s.literals & kBit) != 0;
}

}  // namespace

void ComputeShape(std::string_view t, Shape* s) {
  s->nruns = 0;
  s->overflow = false;
  s->colons = s->dashes = s->dots = 0;
  s->literals = 0;
  bool delim = false;
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    while (i < n && kKinds[static_cast<unsigned char>(t[i])] == kNone) ++i;
    if (i == n) break;
    switch (kKinds[static_cast<unsigned char>(t[i])]) {
      case kNone: break;
      case kDigit: {
        size_t j = i + 1;
        while (j < n && Dig(t[j])) ++j;
        if (s->nruns == Shape::kMaxRuns) {
          s->overflow = true;
        } else {
          s->runs[s->nruns++] = {static_cast<uint32_t>(i), static_cast<uint32_t>(j)};
        }
        i = j - 1;
        break;
      }
      case kColon:
        ++s->colons;
        if (i + 2 < n && t[i + 1] == '/' && t[i + 2] == '/') s->literals |= kLitScheme;
        break;
      case kDash:
        ++s->dashes;
        if (t[i + 1 < n ? i + 1 : i] == '-' && At(t, i, "-----BEGIN ")) s->literals |= kLitPem;
        break;
      case kDot:
        ++s->dots;
        if (i >= 4 && i + 10 <= n && t[i + 5] == '.' && Hex4(t, i - 4) && Hex4(t, i + 1) &&
            Hex4(t, i + 6))
          s->literals |= kLitMacDot;
        if (i >= 5 && std::memcmp(t.data() + i - 5, "hooks", 5) == 0) s->literals |= kLitSlack;
        break;
      case kUpperA: s->literals |= AwsOrGoogle(t, i); break;
      case kUnder: s->literals |= Underscore(t, i); break;
      case kJ:
        if (i >= 2 && t[i - 2] == 'e' && t[i - 1] == 'y') s->literals |= kLitJwt;
        break;
      case kX: s->literals |= SlackX(t, i); break;
      case kB:
        if (BearerAt(t, i)) s->literals |= kLitBearer;
        break;
      case kDelim: delim = true; break;
      case kEquals:
        if (delim) s->literals |= kLitQuery;
        break;
    }
  }
}

MayOccurFn FindMayOccur(std::string_view re) {
  struct Entry {
    std::string_view re;
    MayOccurFn fn;
  };
  static constexpr Entry kChecks[] = {
      {kCardRe, &MayCard},
      {kIbanRe, &MayIban},
      {kEmailRe, &Always},
      {kPhoneE164Re, &MayE164},
      {kPhoneNanpRe, &MayNanp},
      {kPhonePlainRe, &MayRun10},
      {kPhoneTrunkRe, &MayTrunk},
      {kIpv6Re, &MayIpv6},
      {kIpv4Re, &MayIpv4},
      {kSsnDashRe, &MaySsnDash},
      {kSsnSpaceRe, &MaySsnSpace},
      {kSsnPlainRe, &MayRun9},
      {kTaxSpacedRe, &MayTaxSpaced},
      {kTaxPlainRe, &MayRun11},
      {kMacColonRe, &MayMacColon},
      {kMacDotRe, &MayMacDot},
      {kNinoRe, &MayNino},
      {kAwsRe, &HasLiteral<kLitAws>},
      {kGoogleRe, &HasLiteral<kLitGoogle>},
      {kBearerRe, &HasLiteral<kLitBearer>},
      {kGithubRe, &HasLiteral<kLitGithub>},
      {kGithubPatRe, &HasLiteral<kLitGithub>},
      {kStripeRe, &HasLiteral<kLitStripe>},
      {kJwtRe, &HasLiteral<kLitJwt>},
      {kPemBlockRe, &HasLiteral<kLitPem>},
      {kPemOpenRe, &HasLiteral<kLitPem>},
      {kSlackRe, &HasLiteral<kLitSlack>},
      {kSlackAppRe, &HasLiteral<kLitSlack>},
      {kSlackHookRe, &HasLiteral<kLitSlack>},
      {kUrlCredentialsRe, &HasLiteral<kLitScheme>},
      {kUrlQueryRe, &HasLiteral<kLitQuery>},
  };
  for (const auto& e : kChecks)
    if (e.re == re) return e.fn;
  return nullptr;
}

}  // namespace scrubd::rules::internal
