// The shape pass and its features (shape.h). Every feature is a necessary condition read off
// the patterns it stands for: it may hold for text where the pattern has no match (the exact
// locator then finds nothing), never the reverse. shape_test checks each against RE2 on
// random text.
#include "shape.h"

#include <array>
#include <cstring>

#include "ascii.h"
#include "pattern_texts.h"

namespace scrubd::rules::internal {
namespace {

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

bool Hex4(std::string_view t, size_t i) {
  return IsHex(t[i]) && IsHex(t[i + 1]) && IsHex(t[i + 2]) && IsHex(t[i + 3]);
}

bool At(std::string_view t, size_t i, std::string_view lit) {
  return i <= t.size() && t.size() - i >= lit.size() &&
         std::memcmp(t.data() + i, lit.data(), lit.size()) == 0;
}

uint32_t AwsOrGoogle(std::string_view t, size_t i) {
  if (t.size() - i < 4) return 0;
  const char a = t[i + 1], b = t[i + 2], c = t[i + 3];
  if (a == 'I' && b == 'z' && c == 'a') return kFeatGoogle;
  const bool aws = (a == 'K' && b == 'I' && c == 'A') || (a == 'S' && b == 'I' && c == 'A') ||
                   (a == 'G' && b == 'P' && c == 'A') || (a == 'I' && b == 'D' && c == 'A') ||
                   (a == 'R' && b == 'O' && c == 'A') || (a == 'N' && b == 'P' && c == 'A') ||
                   (a == 'N' && b == 'V' && c == 'A') || (a == 'I' && b == 'P' && c == 'A');
  return aws ? uint32_t{kFeatAws} : 0;
}

uint32_t Underscore(std::string_view t, size_t i) {
  uint32_t lit = 0;
  if (i >= 3 && t[i - 3] == 'g' && t[i - 2] == 'h' && std::strchr("pousr", t[i - 1]) != nullptr &&
      t[i - 1] != '\0')
    lit |= kFeatGithub;
  if (i >= 6 && std::memcmp(t.data() + i - 6, "github", 6) == 0) lit |= kFeatGithub;
  if (i >= 2 && (t[i - 2] == 's' || t[i - 2] == 'r') && t[i - 1] == 'k') lit |= kFeatStripe;
  return lit;
}

uint32_t SlackX(std::string_view t, size_t i) {
  if (At(t, i, "xapp-")) return kFeatSlack;
  if (At(t, i, "xox") && t.size() - i >= 5 && std::strchr("abposr", t[i + 3]) != nullptr &&
      t[i + 3] != '\0' && t[i + 4] == '-')
    return kFeatSlack;
  return 0;
}

// (?i:bearer)[ ]+ at the 'b' or 'B' at i.
bool BearerAt(std::string_view t, size_t i) {
  if (t.size() - i < 7 || t[i + 6] != ' ') return false;
  static constexpr char kWord[] = "bearer";
  for (size_t k = 1; k < 6; ++k)
    if (LowerAscii(t[i + k]) != kWord[k]) return false;
  return true;
}

size_t Len(const Shape::Run& r) { return r.e - r.b; }
// The single byte between runs i and i+1, or 0 when the gap is longer (runs are maximal, so a
// gap holds at least one non-digit byte).
char Gap(std::string_view t, const Shape& s, int i) {
  return s.runs[i + 1].b - s.runs[i].e == 1 ? t[s.runs[i].e] : '\0';
}

}  // namespace

void ComputeShape(std::string_view t, Shape* s) {
  s->nruns = 0;
  s->overflow = false;
  s->colons = s->dashes = 0;
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
        while (j < n && IsDigit(t[j])) ++j;
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
        if (i + 2 < n && t[i + 1] == '/' && t[i + 2] == '/') s->literals |= kFeatScheme;
        break;
      case kDash:
        ++s->dashes;
        if (t[i + 1 < n ? i + 1 : i] == '-' && At(t, i, "-----BEGIN ")) s->literals |= kFeatPem;
        break;
      case kDot:
        if (i >= 4 && i + 10 <= n && t[i + 5] == '.' && Hex4(t, i - 4) && Hex4(t, i + 1) &&
            Hex4(t, i + 6))
          s->literals |= kFeatMacDot;
        if (i >= 5 && std::memcmp(t.data() + i - 5, "hooks", 5) == 0) s->literals |= kFeatSlack;
        break;
      case kUpperA: s->literals |= AwsOrGoogle(t, i); break;
      case kUnder: s->literals |= Underscore(t, i); break;
      case kJ:
        if (i >= 2 && t[i - 2] == 'e' && t[i - 1] == 'y') s->literals |= kFeatJwt;
        break;
      case kX: s->literals |= SlackX(t, i); break;
      case kB:
        if (BearerAt(t, i)) s->literals |= kFeatBearer;
        break;
      case kDelim: delim = true; break;
      case kEquals:
        if (delim) s->literals |= kFeatQuery;
        break;
    }
  }
}

uint32_t Features(std::string_view t, const Shape& s) {
  uint32_t f = s.literals | kFeatAlways;
  if (s.colons >= 2) f |= kFeatIpv6;
  if (s.colons + s.dashes >= 5) f |= kFeatMacColon;
  size_t chain = 0, longest = 0;
  const int n = s.nruns;
  for (int i = 0; i < n; ++i) {
    const Shape::Run& r = s.runs[i];
    const size_t len = Len(r);
    const char g = i + 1 < n ? Gap(t, s, i) : '\0';
    if (len > longest) longest = len;
    // Card: every digit of a match sits in one chain of runs joined by single ' ' or '-'.
    chain += len;
    if (chain >= 12) f |= kFeatCard;
    if (g != ' ' && g != '-') chain = 0;
    // What precedes the run: E.164 '+', IBAN capitals, NINO prefix letters.
    if (r.b > 0) {
      const char c = t[r.b - 1];
      if (c == '+') f |= kFeatE164;
      if (len >= 2) {
        if (r.b >= 2 && IsUpper(c) && IsUpper(t[r.b - 2])) f |= kFeatIban;
        const size_t b = c == ' ' ? r.b - 1 : r.b;
        if (b >= 2 && NinoFirstLetter(t[b - 2]) && NinoSecondLetter(t[b - 1])) f |= kFeatNino;
      }
    }
    // Trunk-prefix phone: '0' then a non-zero digit in this run, then two more digits in it, or
    // in the next run at most ")" and a separator away. The first such '0' leaves the most.
    for (size_t k = r.b; k + 1 < r.e; ++k) {
      if (t[k] != '0' || t[k + 1] == '0') continue;
      if (r.e - k >= 4 || (i + 1 < n && s.runs[i + 1].b - r.e <= 2 && Len(s.runs[i + 1]) >= 2))
        f |= kFeatTrunk;
      break;
    }
    // NANP: this run is the exchange. It follows a separator or ')', so it is a whole run of
    // exactly 3 digits from 2-9, then [ .-] and the 4+ digit line run; before it the area code
    // is a 3+ run one separator away, or a run closed by ')' and maybe a separator.
    if (i >= 1 && i + 1 < n && len == 3 && t[r.b] >= '2' && IsNanpSeparator(g) &&
        Len(s.runs[i + 1]) >= 4) {
      const Shape::Run& a = s.runs[i - 1];
      const size_t gap = r.b - a.e;
      if (Len(a) >= 3 &&
          ((gap == 1 && IsNanpSeparator(t[a.e])) ||
           (t[a.e] == ')' && (gap == 1 || (gap == 2 && IsNanpSeparator(t[a.e + 1]))))))
        f |= kFeatNanp;
    }
    // SSN with separators: this run is the 2-digit middle group.
    if (i >= 1 && i + 1 < n && len == 2 && Len(s.runs[i - 1]) >= 3 && Len(s.runs[i + 1]) >= 4) {
      const char before = Gap(t, s, i - 1);
      if (before == g && before == '-') f |= kFeatSsnDash;
      if (before == g && before == ' ') f |= kFeatSsnSpace;
    }
    // Four runs from this one: the spaced German tax id and IPv4.
    if (i + 3 < n) {
      const char g1 = Gap(t, s, i + 1), g2 = Gap(t, s, i + 2);
      const size_t l1 = Len(s.runs[i + 1]), l2 = Len(s.runs[i + 2]), l3 = Len(s.runs[i + 3]);
      if (g == ' ' && g1 == ' ' && g2 == ' ' && len >= 2 && l1 == 3 && l2 == 3 && l3 >= 3)
        f |= kFeatTaxSpaced;
      if (g == '.' && g1 == '.' && g2 == '.' && l1 <= 3 && l2 <= 3) f |= kFeatIpv4;
    }
  }
  if (longest >= 9) f |= kFeatRun9;
  if (longest >= 10) f |= kFeatRun10;
  if (longest >= 11) f |= kFeatRun11;
  return f;
}

uint32_t FeatureFor(std::string_view re) {
  struct Entry {
    std::string_view re;
    uint32_t feature;
  };
  static constexpr Entry kChecks[] = {
      {kCardRe, kFeatCard},           {kIbanRe, kFeatIban},
      {kEmailRe, kFeatAlways},        {kPhoneE164Re, kFeatE164},
      {kPhoneNanpRe, kFeatNanp},      {kPhonePlainRe, kFeatRun10},
      {kPhoneTrunkRe, kFeatTrunk},    {kIpv6Re, kFeatIpv6},
      {kIpv4Re, kFeatIpv4},           {kSsnDashRe, kFeatSsnDash},
      {kSsnSpaceRe, kFeatSsnSpace},   {kSsnPlainRe, kFeatRun9},
      {kTaxSpacedRe, kFeatTaxSpaced}, {kTaxPlainRe, kFeatRun11},
      {kMacColonRe, kFeatMacColon},   {kMacDotRe, kFeatMacDot},
      {kNinoRe, kFeatNino},           {kAwsRe, kFeatAws},
      {kGoogleRe, kFeatGoogle},       {kBearerRe, kFeatBearer},
      {kGithubRe, kFeatGithub},       {kGithubPatRe, kFeatGithub},
      {kStripeRe, kFeatStripe},       {kJwtRe, kFeatJwt},
      {kPemBlockRe, kFeatPem},        {kPemOpenRe, kFeatPem},
      {kSlackRe, kFeatSlack},         {kSlackAppRe, kFeatSlack},
      {kSlackHookRe, kFeatSlack},     {kUrlCredentialsRe, kFeatScheme},
      {kUrlQueryRe, kFeatQuery},
  };
  for (const auto& e : kChecks)
    if (e.re == re) return e.feature;
  return 0;
}

}  // namespace scrubd::rules::internal
