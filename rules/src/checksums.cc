// Checksum and structure checks of the located values (Luhn and the issuer table, IBAN
// mod-97, plain ISO 7064 mod-97, SSA rules, IPv4/IPv6 parsing, JWT header decoding, UK NINO, DE
// Steuer-ID), declared in validators.h; validators.cc holds the span validators that call them.
// Pure functions.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string>

#include "ascii.h"
#include "validators.h"

namespace scrubd::rules::internal {

bool LuhnValid(std::string_view digits) {
  if (digits.empty()) return false;
  // Digit sum of 2d for d = 0..9, for every second digit from the right.
  static constexpr int kDoubled[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
  int sum = 0;
  const size_t n = digits.size();
  for (size_t k = 0; k < n; ++k) {
    const unsigned d = static_cast<unsigned char>(digits[n - 1 - k]) - '0';
    if (d > 9) return false;
    sum += (k & 1) ? kDoubled[d] : static_cast<int>(d);
  }
  return sum % 10 == 0;
}

bool Mod97Valid(std::string_view s) {
  unsigned rem = 0, chars = 0;
  for (char c : s) {
    if (IsDigit(c)) {
      rem = (rem * 10 + static_cast<unsigned>(c - '0')) % 97;
    } else if (IsAlpha(c)) {
      rem = (rem * 100 + static_cast<unsigned>(LowerAscii(c) - 'a') + 10) % 97;
    } else {
      continue;
    }
    ++chars;
  }
  return chars >= 3 && rem == 1;
}

uint32_t CardIssuerLengths(std::string_view d) {
  // prefix[k]: the number formed by the first min(k, size) digits, for k = 1..6.
  int prefix[7];
  int v = 0;
  for (size_t i = 0; i < 6; ++i) {
    if (i < d.size()) v = v * 10 + (d[i] - '0');
    prefix[i + 1] = v;
  }
  auto lens = [](unsigned lo, unsigned hi) {
    return (uint32_t{1} << (hi + 1)) - (uint32_t{1} << lo);  // bits lo..hi
  };
  const int p1 = prefix[1], p2 = prefix[2], p3 = prefix[3], p4 = prefix[4], p6 = prefix[6];
  if (p1 == 4) return lens(13, 13) | lens(16, 16) | lens(19, 19);                 // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return lens(16, 16);  // Mastercard
  if (p2 == 34 || p2 == 37) return lens(15, 15);                                  // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
    return lens(16, 19);                              // Discover
  if (p4 >= 3528 && p4 <= 3589) return lens(16, 19);  // JCB
  if (p2 == 62) return lens(16, 19);                  // UnionPay
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39) return lens(14, 19);  // Diners
  if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
      p4 == 6761 || p4 == 6762 || p4 == 6763)
    return lens(12, 19);  // Maestro
  return 0;
}

bool CardIssuerValid(std::string_view d) {
  const size_t n = d.size();
  if (n < 12 || n > 19) return false;
  auto prefix = [&](size_t k) {
    int v = 0;
    for (size_t i = 0; i < k && i < n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  const int p1 = prefix(1), p2 = prefix(2), p3 = prefix(3), p4 = prefix(4), p6 = prefix(6);
  if (p1 == 4) return n == 13 || n == 16 || n == 19;                         // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n == 16;  // Mastercard
  if (p2 == 34 || p2 == 37) return n == 15;                                  // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
    return n >= 16 && n <= 19;                              // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;  // JCB
  if (p2 == 62) return n >= 16 && n <= 19;                  // UnionPay
  if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
    return n >= 14 && n <= 19;  // Diners
  if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
      p4 == 6761 || p4 == 6762 || p4 == 6763)
    return n >= 12 && n <= 19;  // Maestro
  return false;
}

int IbanLength(std::string_view cc) {
  struct Row {
    const char* cc;
    int len;
  };
  static constexpr Row kTable[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
      {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
      {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
      {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
      {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
      {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
      {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
      {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}};
  if (cc.size() != 2) return 0;
  for (const auto& r : kTable)
    if (cc[0] == r.cc[0] && cc[1] == r.cc[1]) return r.len;
  return 0;
}

bool IbanValid(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  if (IbanLength(s.substr(0, 2)) != static_cast<int>(s.size())) return false;
  if (!IsDigit(s[2]) || !IsDigit(s[3])) return false;
  // mod 97 of the digits of s[4..] then s[0..4), letters as two digits (A = 10), reduced every
  // 14 digits (the value stays below 97 * 10^15 < 2^63); the rotation needs no division.
  uint64_t acc = 0;  // below 10^16: reduced mod 97 whenever 14 digits have been added
  int added = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i < s.size() - 4 ? i + 4 : i - (s.size() - 4)];
    if (IsDigit(c)) {
      acc = acc * 10 + static_cast<uint64_t>(c - '0');
      added += 1;
    } else if (c >= 'A' && c <= 'Z') {
      acc = acc * 100 + static_cast<uint64_t>(c - 'A' + 10);
      added += 2;
    } else {
      return false;
    }
    if (added >= 14) {
      acc %= 97;
      added = 0;
    }
  }
  return acc % 97 == 1;
}

bool SsnValid(std::string_view d) {
  if (d.size() != 9) return false;
  for (char c : d)
    if (!IsDigit(c)) return false;
  std::string_view area = d.substr(0, 3), group = d.substr(3, 2), serial = d.substr(5, 4);
  if (area == "000" || area == "666" || area[0] == '9') return false;
  if (group == "00" || serial == "0000") return false;
  // Publicly used sample numbers (Woolworth wallet card, SSA advertising).
  for (std::string_view bad : {"078051120", "219099999", "123456789", "457555462"})
    if (d == bad) return false;
  // All one digit (111-11-1111 ...) are placeholders.
  bool same = true;
  for (char c : d) same &= c == d[0];
  return !same;
}

bool ParseIpv4(std::string_view s, uint8_t out[4]) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t start = i;
    int v = 0;
    while (i < s.size() && IsDigit(s[i]) && i - start < 3) v = v * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return false;
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

bool ParseIpv6(std::string_view s, uint16_t out[8]) {
  if (s.size() < 2 || s.size() > 39) return false;
  uint16_t head[8], tail[8];
  int nh = 0, nt = 0;
  bool gap = false;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    gap = true;
    i = 2;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t start = i;
    uint32_t v = 0;
    while (i < s.size() && IsHex(s[i]) && i - start < 4) {
      char c = s[i++];
      v = v * 16 + (IsDigit(c) ? c - '0' : (LowerAscii(c) - 'a' + 10));
    }
    if (i == start) return false;
    if (gap) {
      if (nt == 8) return false;
      tail[nt++] = static_cast<uint16_t>(v);
    } else {
      if (nh == 8) return false;
      head[nh++] = static_cast<uint16_t>(v);
    }
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (gap) return false;
      gap = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;
    }
  }
  if (gap) {
    if (nh + nt > 7) return false;
  } else if (nh != 8) {
    return false;
  }
  int k = 0;
  for (int j = 0; j < nh; ++j) out[k++] = head[j];
  for (int j = 0; j < 8 - nh - nt; ++j) out[k++] = 0;
  for (int j = 0; j < nt; ++j) out[k++] = tail[j];
  return true;
}

bool JwtHeaderHasAlg(std::string_view token) {
  size_t dot = token.find('.');
  if (dot == token.npos || dot < 4) return false;
  std::string_view h = token.substr(0, dot);
  if (h.size() > 2048) return false;
  std::string decoded;
  decoded.reserve(h.size());
  uint32_t acc = 0;
  int bits = 0;
  for (char c : h) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (IsDigit(c))
      v = c - '0' + 52;
    else if (c == '-' || c == '+')
      v = 62;
    else if (c == '_' || c == '/')
      v = 63;
    else if (c == '=')
      break;
    else
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  size_t first = decoded.find_first_not_of(" \t\r\n");
  size_t last = decoded.find_last_not_of(" \t\r\n");
  if (first == decoded.npos || decoded[first] != '{' || decoded[last] != '}') return false;
  size_t alg = decoded.find("\"alg\"");
  if (alg == decoded.npos) return false;
  size_t colon = decoded.find_first_not_of(" \t\r\n", alg + 5);
  return colon != decoded.npos && decoded[colon] == ':';
}

bool NinoValid(std::string_view s) {
  std::string c;
  for (char ch : s)
    if (ch != ' ') c.push_back(ch);
  if (c.size() != 9) return false;
  static constexpr std::string_view kBadPrefix[] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
  for (auto p : kBadPrefix)
    if (c.substr(0, 2) == p) return false;
  const std::string_view first_ok = "ABCEGHJKLMNOPRSTWXYZ", second_ok = "ABCEGHJKLMNPRSTWXYZ";
  if (first_ok.find(c[0]) == first_ok.npos || second_ok.find(c[1]) == second_ok.npos) return false;
  for (int i = 2; i < 8; ++i)
    if (!IsDigit(c[i])) return false;
  if (c[8] < 'A' || c[8] > 'D') return false;
  // Spacing: none, or the printed "AB 12 34 56 C" form.
  if (s.size() != 9 &&
      s != std::string_view(std::string(c.substr(0, 2)) + " " + c.substr(2, 2) + " " +
                            c.substr(4, 2) + " " + c.substr(6, 2) + " " + c.substr(8, 1)))
    return false;
  return true;
}

bool DeTaxIdValid(std::string_view d) {
  if (d.size() != 11 || d[0] == '0') return false;
  int count[10] = {};
  for (char c : d) {
    if (!IsDigit(c)) return false;
  }
  for (int i = 0; i < 10; ++i) ++count[d[i] - '0'];
  int multi = 0;
  for (int c : count) {
    if (c > 3) return false;
    if (c >= 2) ++multi;
  }
  if (multi != 1) return false;
  for (int i = 0; i + 2 < 10; ++i)
    if (d[i] == d[i + 1] && d[i + 1] == d[i + 2]) return false;
  int product = 10;
  for (int i = 0; i < 10; ++i) {
    int sum = (d[i] - '0' + product) % 10;
    if (sum == 0) sum = 10;
    product = (sum * 2) % 11;
  }
  int check = 11 - product;
  if (check == 10) check = 0;
  return check == d[10] - '0';
}

}  // namespace scrubd::rules::internal
