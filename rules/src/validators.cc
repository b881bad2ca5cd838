#include "validators.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "ascii.h"
#include "pattern_texts.h"

namespace scrubd::rules::internal {
namespace {

// Copies the digits of `s` into `buf` (at most cap); returns the count, or cap+1 on overflow.
size_t Digits(std::string_view s, char* buf, size_t cap) {
  size_t n = 0;
  for (char c : s)
    if (IsDigit(c)) {
      if (n == cap) return cap + 1;
      buf[n++] = c;
    }
  return n;
}

// True when the lower-cased window before `pos` (at most `width` bytes) contains `word`.
bool PrecededBy(std::string_view text, size_t pos, size_t width, std::string_view word) {
  size_t start = pos > width ? pos - width : 0;
  std::string_view w = text.substr(start, pos - start);
  if (w.size() < word.size()) return false;
  for (size_t i = 0; i + word.size() <= w.size(); ++i) {
    size_t j = 0;
    while (j < word.size() && LowerAscii(w[i + j]) == word[j]) ++j;
    if (j == word.size()) return true;
  }
  return false;
}

// ---- email -----------------------------------------------------------------------------
bool ValidateEmail(std::string_view text, size_t* b, size_t* e) {
  std::string_view v = text.substr(*b, *e - *b);
  size_t at = v.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view local = v.substr(0, at), domain = v.substr(at + 1);
  // A suffix of a rejected candidate (restart inside the local part) is never an address.
  if (*b > 0) {
    char p = text[*b - 1];
    if (IsAlnum(p) || p == '.' || p == '_' || p == '%' || p == '+' || p == '-') return false;
    if (IsEmailSpecial(p) && *b >= 2) {
      const char q = text[*b - 2];
      if (IsAlnum(q) || q == '.' || q == '_' || q == '%' || q == '+' || q == '-') return false;
    }
  }
  // Inside a URL authority (scheme://user@host, scheme://user:pass@host) it is a login, and
  // url_credentials owns the user:pass form.
  if (*b >= 2 && text[*b - 1] == '/' && text[*b - 2] == '/') return false;
  if (*b > 0 && text[*b - 1] == ':') {
    for (size_t i = *b - 1; i-- > 0;) {
      char c = text[i];
      if (c == '/' && i > 0 && text[i - 1] == '/') return false;
      if (c == '/' || c == '@' || c == ' ' || c == '"' || c == '\n') break;
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos) return false;
  size_t dot = domain.rfind('.');
  if (dot == domain.npos) return false;
  std::string tld;
  for (char c : domain.substr(dot + 1)) tld.push_back(LowerAscii(c));
  static constexpr std::string_view kAssetExt[] = {
      "png",  "jpg",  "jpeg",  "gif", "svg", "webp", "avif", "ico", "css", "js",  "mjs",  "map",
      "json", "woff", "woff2", "ttf", "otf", "bmp",  "tsx",  "jsx", "ts",  "min", "html", "txt"};
  for (auto x : kAssetExt)
    if (tld == x) return false;
  // Retina asset names: icon@2x.xyz, logo@3x
  if (domain.size() >= 2 && IsDigit(domain[0]) && (domain[1] == 'x' || domain[1] == 'X') &&
      (domain.size() == 2 || domain[2] == '.'))
    return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      std::string_view label = domain.substr(label_start, i - label_start);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      label_start = i + 1;
    }
  }
  return true;
}

// ---- card ------------------------------------------------------------------------------
struct Group {
  size_t begin, end;  // digit run
};

bool ValidateCard(std::string_view text, size_t* b, size_t* e) {
  std::array<Group, 24> groups;
  size_t ng = 0;
  // All digits of the span back to back, gathered in the same walk (groups i..j are one slice
  // from off[i]); `flat` when they fit.
  char all[64];
  std::array<size_t, 25> off;
  size_t total = 0;
  for (size_t i = *b; i < *e;) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    if (ng == groups.size()) return false;
    off[ng] = total;
    size_t j = i;
    for (; j < *e && IsDigit(text[j]); ++j, ++total)
      if (total < sizeof(all)) all[total] = text[j];
    groups[ng++] = {i, j};
    i = j;
  }
  const bool flat = total <= sizeof(all);
  // Fast path: the whole span as one chain (adjacent groups, one separator kind, not touching
  // a digit outside) holds the most digits of any candidate, so when it is valid it is what
  // the search below returns (longest first); true cards take this path.
  if (ng > 0 && !(groups[0].begin > 0 && IsDigit(text[groups[0].begin - 1])) &&
      !(groups[ng - 1].end < text.size() && IsDigit(text[groups[ng - 1].end]))) {
    bool chain = total <= 19;
    const char sep = ng > 1 ? text[groups[0].end] : 0;
    for (size_t g = 1; g < ng && chain; ++g)
      chain = groups[g].begin - groups[g - 1].end == 1 && text[groups[g - 1].end] == sep;
    const size_t nd = total;
    if (chain && nd >= 12) {
      std::string_view d(all, nd);
      if (((CardIssuerLengths(d) >> nd) & 1) && LuhnValid(d)) {
        *b = groups[0].begin;
        *e = groups[ng - 1].end;
        return true;
      }
    }
  }
  // Digits from group i to the last group: a start whose tail cannot reach 12 digits, or
  // cannot beat the best length so far (ranges hold at most 19), is skipped.
  std::array<size_t, 25> tail;
  tail[ng] = 0;
  for (size_t i = ng; i-- > 0;) tail[i] = tail[i + 1] + (groups[i].end - groups[i].begin);
  // Longest first, then leftmost: the first valid (i..j) group range wins.
  size_t best_b = 0, best_e = 0, best_len = 0;
  for (size_t i = 0; i < ng; ++i) {
    const size_t reach = std::min<size_t>(tail[i], 19);
    if (reach < 12 || reach <= best_len) continue;
    // A group whose start touches a digit outside the span continues a run: never a start.
    if (groups[i].begin > 0 && IsDigit(text[groups[i].begin - 1])) continue;
    char digits[20];
    size_t nd = 0;
    char sep = 0;
    bool sep_ok = true;
    uint32_t issuer_lengths = 0;  // CardIssuerValid for every length, from the first 6 digits
    bool have_issuer = false;
    if (flat) {
      // Every candidate from group i starts with the same 6 digits: a start whose issuer
      // allows no length in 12..reach yields none (most IBAN / phone digit runs).
      issuer_lengths = CardIssuerLengths(std::string_view(all + off[i], 6));
      have_issuer = true;
      const uint32_t window = ((uint32_t{1} << (reach + 1)) - 1) & ~((uint32_t{1} << 12) - 1);
      if ((issuer_lengths & window) == 0) continue;
    }
    for (size_t j = i; j < ng; ++j) {
      if (j > i) {
        char s = text[groups[j - 1].end];
        if (groups[j].begin - groups[j - 1].end != 1) break;
        if (sep == 0)
          sep = s;
        else if (s != sep)
          sep_ok = false;
      }
      if (!sep_ok) break;
      size_t len = groups[j].end - groups[j].begin;
      if (nd + len > 19) break;
      if (!flat) std::memcpy(digits + nd, text.data() + groups[j].begin, len);
      nd += len;
      if (groups[j].end < text.size() && IsDigit(text[groups[j].end])) continue;
      if (nd < 12) continue;
      std::string_view d(flat ? all + off[i] : digits, nd);
      if (nd <= best_len) continue;
      if (!have_issuer) {
        issuer_lengths = CardIssuerLengths(d);
        have_issuer = true;
      }
      if (((issuer_lengths >> nd) & 1) && LuhnValid(d)) {
        best_len = nd;
        best_b = groups[i].begin;
        best_e = groups[j].end;
      }
    }
  }
  if (best_len == 0) return false;
  *b = best_b;
  *e = best_e;
  return true;
}

// ---- IBAN ------------------------------------------------------------------------------
bool ValidateIban(std::string_view text, size_t* b, size_t* e) {
  if (*e - *b < 4) return false;
  int want = IbanLength(text.substr(*b, 2));
  if (want == 0) return false;
  char buf[40];
  size_t n = 0, i = *b;
  char sep = 0;
  for (; i < *e && n < static_cast<size_t>(want); ++i) {
    char c = text[i];
    if (c == ' ' || c == '-') {
      if (sep == 0)
        sep = c;
      else if (c != sep)
        return false;
      continue;
    }
    buf[n++] = c;
  }
  if (n != static_cast<size_t>(want)) return false;
  if (i < text.size() && IsAlnum(text[i])) return false;
  if (!IbanValid(std::string_view(buf, n))) return false;
  *e = i;
  return true;
}

// ---- SSN -------------------------------------------------------------------------------
bool ValidateSsn(std::string_view text, size_t* b, size_t* e) {
  char d[10];
  if (Digits(text.substr(*b, *e - *b), d, 9) != 9) return false;
  return SsnValid(std::string_view(d, 9));
}

// ---- IP --------------------------------------------------------------------------------
bool VersionContext(std::string_view text, size_t b) {
  // Chrome/120.0.0.0 style product tokens, and "version 1.2.3.4" / "build 1.2.3.4".
  if (b >= 2 && text[b - 1] == '/' && IsAlnum(text[b - 2])) return true;
  for (std::string_view w : {"version", "ver.", "ver ", "build", "release", "firmware"})
    if (PrecededBy(text, b, 16, w)) return true;
  return false;
}

// The host of a URL (scheme://1.2.3.4, //1.2.3.4, scheme://user:pass@1.2.3.4, //[::1]) is a
// server's address, not a visitor's: the IP rules leave it, so the URL keeps working.
bool IsUrlHost(std::string_view text, size_t b) {
  size_t i = b;
  if (i > 0 && text[i - 1] == '[') --i;
  if (i > 0 && text[i - 1] == '@') {
    --i;
    static constexpr std::string_view kUserinfo = "-._~!$&'()*+,;=:%";
    while (i > 0 && (IsAlnum(text[i - 1]) || kUserinfo.find(text[i - 1]) != kUserinfo.npos)) --i;
  }
  return i >= 2 && text[i - 1] == '/' && text[i - 2] == '/';
}

bool ValidateIpv4(std::string_view text, size_t* b, size_t* e) {
  if (IsUrlHost(text, *b)) return false;
  if (*b > 0 && (text[*b - 1] == '.' || IsAlnum(text[*b - 1]))) return false;
  if (*e < text.size() &&
      (IsAlnum(text[*e]) || (text[*e] == '.' && *e + 1 < text.size() && IsDigit(text[*e + 1]))))
    return false;
  uint8_t ip[4];
  if (!ParseIpv4(text.substr(*b, *e - *b), ip)) return false;
  if (VersionContext(text, *b)) return false;
  if (ip[0] == 0) return false;  // 0.x.y.z: never a host address
  return true;
}

bool ValidateIpv6(std::string_view text, size_t* b, size_t* e) {
  if (IsUrlHost(text, *b)) return false;
  // Trim one trailing ':' that is not part of '::'.
  if (*e - *b >= 2 && text[*e - 1] == ':' && text[*e - 2] != ':') --*e;
  if (*b > 0 && (IsAlnum(text[*b - 1]) || text[*b - 1] == ':' || text[*b - 1] == '.')) return false;
  if (*e < text.size() && (IsAlnum(text[*e]) || text[*e] == ':')) return false;
  uint16_t g[8];
  std::string_view v = text.substr(*b, *e - *b);
  if (!ParseIpv6(v, g)) return false;
  int nonzero = 0;
  for (uint16_t x : g) nonzero += x != 0;
  if (nonzero == 0) return false;
  // Require a real address shape: at least three groups written out.
  int colons = 0;
  for (char c : v) colons += c == ':';
  return colons >= 2;
}

// ---- MAC -------------------------------------------------------------------------------
bool ValidateMac(std::string_view text, size_t* b, size_t* e) {
  std::string_view v = text.substr(*b, *e - *b);
  char sep = 0;
  int hex = 0, nonzero = 0, ff = 0;
  for (char c : v) {
    if (IsHex(c)) {
      ++hex;
      nonzero += c != '0';
      ff += (c == 'f' || c == 'F');
    } else if (sep == 0) {
      sep = c;
    } else if (c != sep) {
      return false;
    }
  }
  if (hex != 12 || nonzero == 0 || ff == 12) return false;
  if (*b > 0 && (IsAlnum(text[*b - 1]) || text[*b - 1] == sep)) return false;
  if (*e < text.size() && (IsAlnum(text[*e]) || text[*e] == sep)) return false;
  return true;
}

// ---- JWT / bearer ----------------------------------------------------------------------
bool ValidateJwt(std::string_view text, size_t* b, size_t* e) {
  return JwtHeaderHasAlg(text.substr(*b, *e - *b));
}

bool ValidateBearer(std::string_view text, size_t* b, size_t* e) {
  std::string_view v = text.substr(*b, *e - *b);
  if (v.size() < 16) return false;
  bool digit = false, alpha = false;
  for (char c : v) {
    digit |= IsDigit(c);
    alpha |= IsAlpha(c);
  }
  if (!digit || !alpha) return false;
  // A JWT after "Bearer" is reported by the more specific jwt detector.
  if (v.substr(0, 3) == "eyJ" && v.find('.') != v.npos && JwtHeaderHasAlg(v)) return false;
  return true;
}

// ---- secrets by shape ------------------------------------------------------------------
bool ValidateSecret(std::string_view text, size_t* b, size_t* e) {
  // The value after a known prefix must not be a placeholder like xxxx or all one char.
  std::string_view v = text.substr(*b, *e - *b);
  if (v.size() > 16) v = v.substr(v.size() - 16);
  int distinct = 0;
  bool seen[256] = {};
  for (unsigned char c : v)
    if (!seen[c]) {
      seen[c] = true;
      ++distinct;
    }
  return distinct >= 6;
}

bool ValidateQueryValue(std::string_view text, size_t* b, size_t* e) {
  std::string_view v = text.substr(*b, *e - *b);
  if (v.size() < 3) return false;
  std::string low;
  for (char c : v.substr(0, 12)) low.push_back(LowerAscii(c));
  for (std::string_view w : {"true", "false", "null", "undefined", "none", "[redacted]"})
    if (low == w) return false;
  return true;
}

bool ValidateUrlCredentials(std::string_view text, size_t* b, size_t* e) {
  std::string_view v = text.substr(*b, *e - *b);
  size_t colon = v.find(':');
  return colon != v.npos && colon > 0 && colon + 1 < v.size();
}

bool ValidateNino(std::string_view text, size_t* b, size_t* e) {
  return NinoValid(text.substr(*b, *e - *b));
}

bool ValidateDeTaxId(std::string_view text, size_t* b, size_t* e) {
  char d[12];
  if (Digits(text.substr(*b, *e - *b), d, 11) != 11) return false;
  return DeTaxIdValid(std::string_view(d, 11));
}

bool ValidatePhone(std::string_view text, size_t* b, size_t* e) {
  // Trim a trailing separator the pattern may have taken.
  while (*e > *b && !IsDigit(text[*e - 1]) && text[*e - 1] != ')') --*e;
  if (*b > 0) {
    char p = text[*b - 1];
    if (IsAlnum(p) || p == '+' || p == '.' || p == '/' || p == '-' || p == '_') return false;
  }
  if (*e < text.size()) {
    char n = text[*e];
    if (IsAlnum(n) || n == '_' || n == '/') return false;
    if ((n == '-' || n == '.' || n == '/' || n == ':') && *e + 1 < text.size() &&
        IsDigit(text[*e + 1]))
      return false;
  }
  return PhoneValid(text.substr(*b, *e - *b));
}

// ---- generic checksums (custom detectors) ----------------------------------------------
// The digits of the value, separators ignored, carry a Luhn check digit.
bool ValidateLuhn(std::string_view text, size_t* b, size_t* e) {
  char d[65];
  const size_t n = Digits(text.substr(*b, *e - *b), d, 64);
  return n >= 2 && n <= 64 && LuhnValid(std::string_view(d, n));
}

bool ValidateMod97(std::string_view text, size_t* b, size_t* e) {
  return Mod97Valid(text.substr(*b, *e - *b));
}

struct Entry {
  std::string_view name;
  ValidatorFn fn;
};
constexpr Entry kValidators[] = {
    {"email", ValidateEmail},
    {"card", ValidateCard},
    {"iban", ValidateIban},
    {"ssn", ValidateSsn},
    {"ipv4", ValidateIpv4},
    {"ipv6", ValidateIpv6},
    {"mac", ValidateMac},
    {"jwt", ValidateJwt},
    {"bearer", ValidateBearer},
    {"secret", ValidateSecret},
    {"query_value", ValidateQueryValue},
    {"url_credentials", ValidateUrlCredentials},
    {"nino", ValidateNino},
    {"de_tax_id", ValidateDeTaxId},
    {"phone", ValidatePhone},
    {"luhn", ValidateLuhn},
    {"mod97", ValidateMod97},
};

// E.164 country calling codes (ITU-T), as a membership test over 1-3 digit prefixes.
constexpr std::string_view kCallingCodes[] = {
    "1",   "7",   "20",  "27",  "30",  "31",  "32",  "33",  "34",  "36",  "39",  "40",  "41",
    "43",  "44",  "45",  "46",  "47",  "48",  "49",  "51",  "52",  "53",  "54",  "55",  "56",
    "57",  "58",  "60",  "61",  "62",  "63",  "64",  "65",  "66",  "81",  "82",  "84",  "86",
    "90",  "91",  "92",  "93",  "94",  "95",  "98",  "211", "212", "213", "216", "218", "220",
    "221", "222", "223", "224", "225", "226", "227", "228", "229", "230", "231", "232", "233",
    "234", "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246",
    "248", "249", "250", "251", "252", "253", "254", "255", "256", "257", "258", "260", "261",
    "262", "263", "264", "265", "266", "267", "268", "269", "290", "291", "297", "298", "299",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372",
    "373", "374", "375", "376", "377", "378", "380", "381", "382", "383", "385", "386", "387",
    "389", "420", "421", "423", "500", "501", "502", "503", "504", "505", "506", "507", "508",
    "509", "590", "591", "592", "593", "594", "595", "596", "597", "598", "599", "670", "672",
    "673", "674", "675", "676", "677", "678", "679", "680", "681", "682", "683", "685", "686",
    "687", "688", "689", "690", "691", "692", "850", "852", "853", "855", "856", "880", "886",
    "960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973",
    "974", "975", "976", "977", "992", "993", "994", "995", "996", "998"};

// Membership of every 1-3 digit calling code, indexed by length and numeric value.
struct CallingCodeTable {
  std::array<bool, 10> len1{};
  std::array<bool, 100> len2{};
  std::array<bool, 1000> len3{};
  CallingCodeTable() {
    for (auto cc : kCallingCodes) {
      int v = 0;
      for (char c : cc) v = v * 10 + (c - '0');
      if (cc.size() == 1) len1[v] = true;
      if (cc.size() == 2) len2[v] = true;
      if (cc.size() == 3) len3[v] = true;
    }
  }
};

int CallingCodeLength(std::string_view digits) {
  static const CallingCodeTable table;
  int v = 0;
  for (size_t len = 1; len <= 3 && len <= digits.size(); ++len) {
    if (!IsDigit(digits[len - 1])) return 0;  // codes are digits only: no longer prefix matches
    v = v * 10 + (digits[len - 1] - '0');
    if (len == 1 && table.len1[v]) return 1;
    if (len == 2 && table.len2[v]) return 2;
    if (len == 3 && table.len3[v]) return 3;
  }
  return 0;
}

bool NanpValid(std::string_view d10) {
  if (d10.size() != 10) return false;
  if (d10[0] < '2' || d10[3] < '2') return false;    // NXX-NXX
  if (d10[1] == '1' && d10[2] == '1') return false;  // N11 service codes
  if (d10[1] == '9') return false;                   // N9X: unassigned expansion
  return true;
}

}  // namespace

ValidatorFn FindValidator(std::string_view name) {
  for (const auto& v : kValidators)
    if (v.name == name) return v.fn;
  return nullptr;
}

bool PhoneValid(std::string_view s) {
  char d[24];
  size_t n = Digits(s, d, 20);
  if (n > 20 || n < 7) return false;
  std::string_view digits(d, n);
  // Two or more digit groups (or a parenthesized area code) for the national forms; counted
  // only where needed.
  auto grouped = [s] {
    int groups = 0;
    bool in_digit = false;
    for (char c : s) {
      const bool digit = IsDigit(c);
      groups += digit && !in_digit;
      in_digit = digit;
    }
    return groups >= 2 || s.find('(') != s.npos;
  };
  size_t first = s.find_first_not_of("( ");
  if (first != s.npos && s[first] == '+') {
    if (digits[0] == '0') return false;
    int cc = CallingCodeLength(digits);
    if (cc == 0) return false;
    std::string national(digits.substr(cc));
    // "+49 (0)30 ..." trunk zero in parentheses.
    if (s.find("(0)") != s.npos && !national.empty() && national[0] == '0') national.erase(0, 1);
    if (cc == 1) return NanpValid(national);
    size_t total = cc + national.size();
    if (total < 8 || total > 15 || national.size() < 6) return false;
    // ISO 6709 coordinates (+40.7128-074.0060/) mix '.' and '-'; phone numbers do not.
    if (s.find('.') != s.npos && s.find('-') != s.npos) return false;
    return true;
  }
  if (digits[0] == '0') {
    // National format (context required by the catalog): 9-12 digits with a trunk 0.
    if (n < 9 || n > 12 || digits[1] == '0') return false;
    return grouped();
  }
  if (n == 11 && digits[0] == '1') digits.remove_prefix(1);
  return NanpValid(digits) && (n == 10 || grouped());
}

}  // namespace scrubd::rules::internal
