#include "consent/cookies.h"

#include <array>
#include <string>

namespace scrubd::consent {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigits(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int64_t ToInt(std::string_view digits) {
  int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::pair<std::string_view, std::string_view> SplitPair(std::string_view piece) {
  size_t eq = piece.find('=');
  if (eq == std::string_view::npos) return {std::string_view(), piece};
  std::string_view value = Trim(piece.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  return {Trim(piece.substr(0, eq)), value};
}

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> ParseCookieHeader(
    std::string_view header) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t pos = 0;
  while (pos <= header.size() && out.size() < kMaxCookies) {
    size_t semi = header.find(';', pos);
    if (semi == std::string_view::npos) semi = header.size();
    std::string_view piece = Trim(header.substr(pos, semi - pos));
    if (!piece.empty()) out.push_back(SplitPair(piece));
    pos = semi + 1;
  }
  return out;
}

std::optional<std::string_view> FindCookie(std::string_view header, std::string_view name) {
  for (const auto& [n, v] : ParseCookieHeader(header))
    if (n == name) return v;
  return std::nullopt;
}

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return Status::InvalidInput("bad %-escape at offset " + std::to_string(i));
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

}  // namespace scrubd::consent
