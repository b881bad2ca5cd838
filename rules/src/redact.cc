#include "redact.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "ascii.h"
#include "validators.h"

namespace scrubd::rules::internal {

namespace {

// Where the kept tail starts: at the keep_last-th letter/digit from the end (the value's end
// when keep_last is 0).
size_t KeepFrom(std::string_view v, int keep_last) {
  size_t keep_from = v.size();
  int seen = 0;
  for (size_t i = v.size(); keep_last > 0 && i-- > 0;) {
    if (IsAlnum(v[i])) {
      keep_from = i;
      if (++seen == keep_last) break;
    }
  }
  return keep_from;
}

// Per byte: the output byte (itself, or '*' for a letter/digit/UTF-8 lead byte) and whether
// it is written (a UTF-8 continuation byte is dropped: one '*' per code point).
struct MaskTable {
  std::array<char, 256> out;
  std::array<uint8_t, 256> keep;
};
const MaskTable& Mask() {
  static const MaskTable kMask = [] {
    MaskTable t{};
    for (unsigned c = 0; c < 256; ++c) {
      const bool mask = c >= 0x80 || IsAlnum(static_cast<char>(c));
      t.out[c] = mask ? '*' : static_cast<char>(c);
      t.keep[c] = (c & 0xC0) == 0x80 ? 0 : 1;
    }
    return t;
  }();
  return kMask;
}

}  // namespace

bool MaskAsciiInPlace(char* v, size_t n, int keep_last) {
  uint64_t high = 0;  // any byte >= 0x80, eight at a time
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, v + i, 8);
    high |= w;
  }
  for (; i < n; ++i) high |= static_cast<unsigned char>(v[i]);
  if (high & 0x8080808080808080ull) return false;
  const size_t keep_from = KeepFrom(std::string_view(v, n), keep_last);
  const MaskTable& mask = Mask();
  for (size_t j = 0; j < keep_from; ++j) v[j] = mask.out[static_cast<unsigned char>(v[j])];
  return true;
}

void AppendMask(std::string* out, std::string_view v, int keep_last) {
  const size_t masked = KeepFrom(v, keep_last);
  // Append, then rewrite in place (the result is never longer than the value).
  const size_t base = out->size();
  out->append(v);
  char* w = out->data() + base;
  const MaskTable& mask = Mask();
  for (size_t i = 0; i < masked; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    *w = mask.out[c];
    w += mask.keep[c];
  }
  // The kept tail is already in place unless a continuation byte was dropped.
  if (w != out->data() + base + masked) {
    for (size_t i = masked; i < v.size(); ++i) *w++ = v[i];
    out->resize(static_cast<size_t>(w - out->data()));
  }
}

void AppendHash(std::string* out, std::string_view value, std::string_view id,
                std::string_view prefix, std::string_view key) {
  std::string msg;
  msg.reserve(id.size() + 1 + value.size());
  msg.append(id);
  msg.push_back('\0');
  for (char c : value) {
    if (c == ' ' || c == '-' || c == '(' || c == ')') continue;
    msg.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  out->append(prefix);
  for (int i = 0; i < 8; ++i) {
    out->push_back(kHex[mac[i] >> 4]);
    out->push_back(kHex[mac[i] & 15]);
  }
}

bool AppendTruncatedIp(std::string* out, std::string_view value) {
  uint8_t v4[4];
  if (ParseIpv4(value, v4)) {
    char buf[20];
    int n = std::snprintf(buf, sizeof(buf), "%u.%u.%u.0", v4[0], v4[1], v4[2]);
    out->append(buf, static_cast<size_t>(n));
    return true;
  }
  uint16_t v6[8];
  if (ParseIpv6(value, v6)) {
    char buf[32];
    int n = std::snprintf(buf, sizeof(buf), "%x:%x:%x::", v6[0], v6[1], v6[2]);
    out->append(buf, static_cast<size_t>(n));
    return true;
  }
  return false;
}

}  // namespace scrubd::rules::internal
