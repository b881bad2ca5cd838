// URL canonicalisation for blocking.urls (docs/blocking.md, "Canonical URL").
#include "admit/url_canon.h"

#include <vector>

#include "scrubd/common/url_text.h"

namespace scrubd::admit {
namespace {

constexpr int kMaxDecodeRounds = 8;  // %25 nested deeper than this is left as it is

// Percent-decoded (and lower-cased) until nothing changes, at most kMaxDecodeRounds times.
void Decode(std::string& s) {
  for (int round = 0; round < kMaxDecodeRounds; ++round) {
    std::string d = PercentDecodeLower(s, false);
    if (d == s) return;
    s = std::move(d);
  }
}

// Browsers drop tab, CR and LF anywhere in a URL and trim C0 controls and spaces around it.
std::string Cleaned(std::string_view url) {
  size_t b = 0, e = url.size();
  while (b < e && static_cast<unsigned char>(url[b]) <= 0x20) ++b;
  while (e > b && static_cast<unsigned char>(url[e - 1]) <= 0x20) --e;
  std::string s;
  for (char c : url.substr(b, e - b))
    if (c != '\t' && c != '\r' && c != '\n') s.push_back(c);
  return s;
}

// Length of a leading `scheme:` (0 when there is none).
size_t SchemeLength(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return i + 1;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.';
    if (!ok) return 0;
  }
  return 0;
}

// `path` (decoded, slashes normalised) with its dot segments resolved and empty segments
// dropped; keeps a leading and a trailing slash.
std::string ResolvePath(const std::string& path) {
  std::vector<std::string_view> segs;
  std::string_view rest = path;
  const bool absolute = !rest.empty() && rest.front() == '/';
  bool trailing = !rest.empty() && rest.back() == '/';
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  if (!path.empty()) {  // a last segment of "." or ".." names a directory
    std::string_view tail = std::string_view(path).substr(path.find_last_of('/') + 1);
    if (tail == "." || tail == "..") trailing = true;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) out.push_back('/');
    out.append(segs[i]);
  }
  if (trailing && !segs.empty()) out.push_back('/');
  return out;
}

}  // namespace

std::string CanonicalUrl(std::string_view url) {
  std::string s = Cleaned(url);
  std::string head;  // scheme and authority, kept apart from the path
  size_t at = SchemeLength(s);
  std::string_view rest = std::string_view(s).substr(at);
  head = s.substr(0, at);
  auto is_slash = [](char c) { return c == '/' || c == '\\'; };
  if (rest.size() >= 2 && is_slash(rest[0]) && is_slash(rest[1])) {  // an authority
    size_t end = rest.find_first_of("/\\?#", 2);
    if (end == std::string_view::npos) end = rest.size();
    head += "//";
    head += rest.substr(2, end - 2);
    rest = rest.substr(end);
  }
  size_t q = rest.find_first_of("?#");
  std::string path(rest.substr(0, q));
  std::string tail(q == std::string_view::npos ? std::string_view() : rest.substr(q));
  Decode(head);
  Decode(path);
  Decode(tail);
  for (char& c : path)
    if (c == '\\') c = '/';
  std::string out = head + ResolvePath(path) + tail;
  return out;  // lower-cased by Decode
}

}  // namespace scrubd::admit
