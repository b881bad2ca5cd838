// The rrweb-compatible text and input masks (MaskTextValue, MaskInputValue; declared in
// dom_masker.h), split from dom_masker.cc.
#include <cstdint>
#include <string>
#include <string_view>

#include "dom/dom_masker.h"

namespace scrubd::dom {
namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length (1 for invalid bytes) and the code
// point (U+FFFD for invalid).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t& cp) {
  unsigned char c = s[i];
  auto cont = [&](size_t k) { return i + k < s.size() && (uint8_t(s[i + k]) & 0xC0) == 0x80; };
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0 && cont(1)) {
    cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    return 2;
  }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    return 3;
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
         (s[i + 3] & 0x3F);
    return 4;
  }
  cp = 0xFFFD;
  return 1;
}

// JavaScript's \s set (ECMA-262 WhiteSpace + LineTerminator).
bool IsJsSpace(uint32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF: return true;
    default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

size_t Utf16Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t len = DecodeUtf8(s, i, cp);
    n += len == 4 ? 2 : 1;
    i += len;
  }
  return n;
}

}  // namespace

std::string MaskTextValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t len = DecodeUtf8(text, i, cp);
    if (IsJsSpace(cp)) {
      out.append(text.substr(i, len));
    } else {
      out.append(len == 4 ? 2 : 1, '*');
    }
    i += len;
  }
  return out;
}

std::string MaskInputValue(std::string_view text) { return std::string(Utf16Length(text), '*'); }

}  // namespace scrubd::dom
