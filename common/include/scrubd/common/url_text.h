// Percent-decoding of URL text as browsers read it, shared by the URL policy pass (scrub) and
// URL blocking (admit), so both see the same characters. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace scrubd {

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = AsciiLower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// One round of %XX decoding, lower-cased (ASCII). Browsers drop tab, CR and LF inside URLs:
// so are they here, and their encoded forms too (fail closed). With `plus_is_space`, '+'
// becomes ' ' (query components).
inline std::string PercentDecodeLower(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '%' && i + 2 < s.size() && HexDigitValue(s[i + 1]) >= 0 &&
        HexDigitValue(s[i + 2]) >= 0) {
      c = static_cast<char>(HexDigitValue(s[i + 1]) * 16 + HexDigitValue(s[i + 2]));
      i += 2;
      if (c == '\t' || c == '\r' || c == '\n') continue;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    out.push_back(AsciiLower(c));
  }
  return out;
}

}  // namespace scrubd
