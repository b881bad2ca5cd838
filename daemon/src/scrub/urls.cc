// URL rewriting. A URL is split as the WHATWG parser would (fragment at the first '#', query
// at the first '?' before it, then scheme and authority); comparisons run on percent-decoded,
// lower-case text so that an encoded or re-cased name still matches (fail closed).
#include "scrub/urls.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <vector>

#include "scrubd/common/url_text.h"

namespace scrubd::scrub {
namespace {

namespace json = boost::json;
using policies::UrlPolicy;

char LowerChar(char c) { return AsciiLower(c); }
int HexValue(char c) { return HexDigitValue(c); }
bool IsHex(char c) { return HexValue(c) >= 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string DecodeLower(std::string_view s, bool plus_is_space) {
  return PercentDecodeLower(s, plus_is_space);
}

void Count(rules::RedactionCounts* counts, const char* rule, const char* method) {
  if (!counts) return;
  counts->by_rule[rule]++;
  counts->by_method[method]++;
}

bool Listed(const UrlPolicy& p, std::string_view name) {
  if (std::binary_search(p.params.begin(), p.params.end(), name)) return true;
  size_t bracket = name.find('[');  // user[email]=... and ids[]=... name the same parameter
  return bracket != std::string_view::npos && bracket > 0 &&
         std::binary_search(p.params.begin(), p.params.end(), name.substr(0, bracket));
}

// A denied name inside a value that is itself a URL (?next=https%3A%2F%2Fx%2F%3Ftoken%3D...),
// up to three rounds of encoding deep.
bool NestedDenied(std::string_view value, const UrlPolicy& p) {
  std::string v(value);
  for (int round = 0; round < 3; ++round) {
    std::string d = DecodeLower(v, true);
    for (const std::string& name : p.params) {
      for (size_t at = d.find(name); at != std::string::npos; at = d.find(name, at + 1)) {
        bool starts = at == 0 || std::string_view("?&;#").find(d[at - 1]) != std::string::npos;
        size_t end = at + name.size();
        while (end < d.size() && d[end] == ' ') ++end;
        if (starts && end < d.size() && (d[end] == '=' || d[end] == '[')) return true;
      }
    }
    if (d == v) break;
    v = std::move(d);
  }
  return false;
}

bool KeepParam(std::string_view part, const UrlPolicy& p) {
  size_t eq = part.find('=');
  std::string name = DecodeLower(part.substr(0, eq), true);
  name.resize(std::min(name.size(), name.find('=')));  // an encoded '=' ends it too
  while (!name.empty() && name.back() == ' ') name.pop_back();
  // "??token=", "##token=": stray delimiters before a name do not hide it (fail closed).
  while (!name.empty() && std::string_view(" ?#&;").find(name.front()) != std::string::npos)
    name.erase(0, 1);
  if (p.query_mode == UrlPolicy::QueryMode::kAllow) return Listed(p, name);
  if (Listed(p, name)) return false;
  return !NestedDenied(part, p);  // encoded in the name or the value
}

// A query string without its '?'. '&' and ';' both separate parameters (servers differ).
std::string RewriteQuery(std::string_view q, const UrlPolicy& p, rules::RedactionCounts* counts,
                         bool* changed) {
  if (p.query_mode == UrlPolicy::QueryMode::kKeepAll) return std::string(q);
  std::string out;
  size_t i = 0;
  while (i <= q.size()) {
    size_t j = q.find_first_of("&;", i);
    if (j == std::string_view::npos) j = q.size();
    std::string_view part = q.substr(i, j - i);
    if (!part.empty() && KeepParam(part, p)) {
      if (!out.empty()) out.push_back(i > 0 ? q[i - 1] : '&');
      out.append(part);
    } else if (!part.empty()) {
      *changed = true;
      Count(counts, "url.param", "remove");
    }
    i = j + 1;
  }
  return out;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

bool IsIdSegment(std::string_view s) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), IsDigit)) return true;
  if (IsUuid(s)) return true;
  return s.size() >= 16 && std::all_of(s.begin(), s.end(), IsHex) &&
         std::any_of(s.begin(), s.end(), IsDigit);
}

bool TemplateMatches(const policies::PathTemplate& t, const std::vector<std::string>& segs) {
  bool tail = !t.segments.empty() && t.segments.back() == "**";
  size_t fixed = t.segments.size() - (tail ? 1 : 0);
  if (tail ? segs.size() < fixed : segs.size() != fixed) return false;
  for (size_t i = 0; i < fixed; ++i) {
    const std::string& ts = t.segments[i];
    if (ts == "*" || ts[0] == ':') continue;
    if (ts != segs[i]) return false;
  }
  return true;
}

// Replaces id segments of a path (no query, no fragment). Empty segments are skipped when
// matching, so `//users//12` and `/users/12/` match `/users/:id`; '\' separates like '/'.
bool RewritePath(std::string& path, const UrlPolicy& p, rules::RedactionCounts* counts) {
  if (p.path_templates.empty() && !p.id_segments) return false;
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<std::string> segs;
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find_first_of("/\\", i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      spans.emplace_back(i, j - i);
      segs.push_back(DecodeLower(std::string_view(path).substr(i, j - i), false));
    }
    i = j + 1;
  }
  std::vector<std::string_view> repl(segs.size());
  for (const auto& t : p.path_templates) {
    if (!TemplateMatches(t, segs)) continue;
    for (size_t i = 0; i < segs.size() && i < t.segments.size(); ++i)
      if (t.segments[i][0] == ':') repl[i] = t.segments[i];
    break;
  }
  if (p.id_segments)
    for (size_t i = 0; i < segs.size(); ++i)
      if (repl[i].empty() && IsIdSegment(segs[i])) repl[i] = ":id";
  bool changed = false;
  for (size_t i = segs.size(); i-- > 0;) {
    if (repl[i].empty()) continue;
    if (std::string_view(path).substr(spans[i].first, spans[i].second) == repl[i]) continue;
    path.replace(spans[i].first, spans[i].second, repl[i]);
    Count(counts, "url.path", "replace");
    changed = true;
  }
  return changed;
}

// Path parameters (`/a;jsessionid=X/b`): each segment's `;...` tail gets the query rules. In
// deny mode a segment that decodes to a denied parameter (`%3Ftoken%3Dx`) becomes ":redacted".
bool RewritePathParams(std::string& path, const UrlPolicy& p, rules::RedactionCounts* counts) {
  if (p.query_mode == UrlPolicy::QueryMode::kKeepAll ||
      path.find_first_of(";%") == std::string::npos)
    return false;
  bool changed = false;
  std::string out;
  for (size_t i = 0; i <= path.size();) {
    size_t j = path.find_first_of("/\\", i);
    if (j == std::string::npos) j = path.size();
    std::string_view seg = std::string_view(path).substr(i, j - i);
    size_t semi = seg.find(';');
    if (p.query_mode == UrlPolicy::QueryMode::kDeny && seg.find('%') != std::string_view::npos &&
        NestedDenied(seg, p)) {
      out += ":redacted";
      changed = true;
      Count(counts, "url.param", "remove");
    } else if (semi == std::string_view::npos) {
      out.append(seg);
    } else {
      out.append(seg.substr(0, semi));
      std::string params = RewriteQuery(seg.substr(semi + 1), p, counts, &changed);
      if (!params.empty() || semi + 1 == seg.size()) out += ";" + params;
    }
    if (j < path.size()) out.push_back(path[j]);
    i = j + 1;
  }
  if (changed) path = std::move(out);
  return changed;
}

// Where the path starts: after "scheme:" and a "//authority" (either slash may be '\').
size_t PathStart(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) <= 0x20) ++i;
  size_t j = i;
  if (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) {
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '+' ||
                            s[j] == '-' || s[j] == '.'))
      ++j;
    if (j < s.size() && s[j] == ':') i = j + 1;
  }
  auto slash = [&](size_t k) { return k < s.size() && (s[k] == '/' || s[k] == '\\'); };
  if (slash(i) && slash(i + 1)) {
    size_t k = s.find_first_of("/\\", i + 2);
    return k == std::string_view::npos ? s.size() : k;
  }
  return i;
}

// A fragment: hash routes (#/users/12?x=1) get path and query rules; a fragment that looks
// like a query (#access_token=...) gets the query rules.
std::string RewriteFragment(std::string_view f, const UrlPolicy& p, rules::RedactionCounts* counts,
                            bool* changed) {
  size_t q = f.find('?');
  std::string path(f.substr(0, q));
  if (!path.empty() && (path[0] == '/' || path[0] == '!')) {
    *changed |= RewritePathParams(path, p, counts);
    *changed |= RewritePath(path, p, counts);
  } else if (path.find('=') != std::string::npos ||
             (p.query_mode == UrlPolicy::QueryMode::kDeny && path.find('%') != std::string::npos)) {
    path = RewriteQuery(path, p, counts, changed);  // a query-like fragment, maybe encoded
  }
  if (q == std::string_view::npos) return path;
  std::string query = RewriteQuery(f.substr(q + 1), p, counts, changed);
  return query.empty() && q + 1 < f.size() ? path : path + "?" + query;
}

bool StartsWithDataScheme(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) <= 0x20) ++i;
  if (s.size() - i < 5) return false;
  std::string head = DecodeLower(s.substr(i, 5), false);
  return head == "data:";
}

}  // namespace

bool RewriteUrl(std::string& url, const UrlPolicy& p, rules::RedactionCounts* counts) {
  if (p.empty() || StartsWithDataScheme(url)) return false;
  bool changed = false;
  std::string_view u(url);
  size_t hash = u.find('#');
  std::string_view before = u.substr(0, hash);
  size_t q = before.find('?');
  std::string_view head = before.substr(0, q);
  size_t path_start = PathStart(head);
  std::string out(head.substr(0, path_start));
  std::string path(head.substr(path_start));
  // A bare query component ("a=1&token=x", e.g. location.search without its '?'):
  // Its first segment holds a '=' (values may hold '/': "token=a/b").
  size_t lead = 0;  // leading spaces and controls, which browsers strip
  while (lead < head.size() && static_cast<unsigned char>(head[lead]) <= 0x20) ++lead;
  bool bare_query = path_start == lead && head.find('=') < head.find_first_of("/\\");
  if (bare_query) {
    path = RewriteQuery(head.substr(path_start), p, counts, &changed);
  } else {
    changed |= RewritePathParams(path, p, counts);
    changed |= RewritePath(path, p, counts);
  }
  out += path;
  if (q != std::string_view::npos) {
    std::string_view query = before.substr(q + 1);
    std::string rewritten = RewriteQuery(query, p, counts, &changed);
    if (!rewritten.empty() || query.empty()) out += "?" + rewritten;
  }
  if (hash != std::string_view::npos) {
    if (p.strip_fragment) {
      changed = true;
      Count(counts, "url.fragment", "remove");
    } else {
      out += "#" + RewriteFragment(u.substr(hash + 1), p, counts, &changed);
    }
  }
  if (!changed) return false;
  url = std::move(out);
  return true;
}

bool RewriteSrcset(std::string& srcset, const UrlPolicy& p, rules::RedactionCounts* counts) {
  if (p.empty()) return false;
  std::string out;
  bool changed = false;
  size_t i = 0;
  while (i < srcset.size()) {
    size_t comma = srcset.find(',', i);
    if (comma == std::string::npos) comma = srcset.size();
    std::string cand = srcset.substr(i, comma - i);
    size_t a = cand.find_first_not_of(" \t\n\r\f");
    if (a != std::string::npos) {
      size_t b = cand.find_first_of(" \t\n\r\f", a);
      if (b == std::string::npos) b = cand.size();
      std::string one = cand.substr(a, b - a);
      if (RewriteUrl(one, p, counts)) {
        cand = cand.substr(0, a) + one + cand.substr(b);
        changed = true;
      }
    }
    out += cand;
    if (comma < srcset.size()) out.push_back(',');
    i = comma + 1;
  }
  if (changed) srcset = std::move(out);
  return changed;
}

bool IsUrlKey(std::string_view key) {
  static constexpr std::array<std::string_view, 27> kKeys = {"href",
                                                             "src",
                                                             "action",
                                                             "formaction",
                                                             "poster",
                                                             "cite",
                                                             "background",
                                                             "xlink:href",
                                                             "url",
                                                             "$current_url",
                                                             "$referrer",
                                                             "$initial_referrer",
                                                             "$initial_current_url",
                                                             "$session_entry_url",
                                                             "$session_entry_referrer",
                                                             "$external_click_url",
                                                             "$prev_pageview_url",
                                                             "$pathname",
                                                             "$initial_pathname",
                                                             "$session_entry_pathname",
                                                             "$prev_pageview_pathname",
                                                             "$pageview_url",
                                                             "attr__href",
                                                             "attr__src",
                                                             "attr__action",
                                                             "attr__formaction",
                                                             "attr__poster"};
  if (key.empty() || key.size() > 24) return false;
  char buf[24];
  for (size_t i = 0; i < key.size(); ++i) buf[i] = LowerChar(key[i]);
  std::string_view lower(buf, key.size());
  return std::find(kKeys.begin(), kKeys.end(), lower) != kKeys.end();
}

namespace {

bool IsSrcsetKey(std::string_view key) {
  if (key.size() < 6 || key.size() > 12) return false;
  char buf[12];
  for (size_t i = 0; i < key.size(); ++i) buf[i] = LowerChar(key[i]);
  std::string_view lower(buf, key.size());
  return lower == "srcset" || lower == "imagesrcset" || lower == "attr__srcset";
}

// $elements_chain: `a:attr__href="/users/12?token=x"...`; values end at an unescaped quote.
bool RewriteChain(std::string& chain, const UrlPolicy& p, rules::RedactionCounts* counts) {
  bool changed = false;
  for (std::string_view attr : {"attr__href=\"", "attr__src=\"", "attr__action=\"",
                                "attr__formaction=\"", "attr__poster=\""}) {
    for (size_t at = chain.find(attr); at != std::string::npos; at = chain.find(attr, at + 1)) {
      size_t start = at + attr.size();
      size_t end = start;
      while (end < chain.size() && !(chain[end] == '"' && chain[end - 1] != '\\')) ++end;
      std::string value = chain.substr(start, end - start);
      if (RewriteUrl(value, p, counts)) {
        chain.replace(start, end - start, value);
        changed = true;
      }
    }
  }
  return changed;
}

void Walk(json::value& v, std::string_view key, const UrlPolicy& p,
          rules::RedactionCounts* counts) {
  switch (v.kind()) {
    case json::kind::string: {
      int what = IsSrcsetKey(key) ? 1 : IsUrlKey(key) ? 2 : key == "$elements_chain" ? 3 : 0;
      if (what == 0) break;
      std::string s(v.get_string());
      bool changed = what == 1   ? RewriteSrcset(s, p, counts)
                     : what == 2 ? RewriteUrl(s, p, counts)
                                 : RewriteChain(s, p, counts);
      if (changed) v = json::string(s);
      break;
    }
    case json::kind::array:
      for (json::value& e : v.get_array()) Walk(e, key, p, counts);
      break;
    case json::kind::object:
      for (auto& kv : v.get_object()) {
        // rrweb/network@1: {requests: [{name: <url>, ...}]}
        if (key == "requests" && kv.key() == "name" && kv.value().is_string()) {
          std::string s(kv.value().get_string());
          if (RewriteUrl(s, p, counts)) kv.value() = json::string(s);
          continue;
        }
        Walk(kv.value(), kv.key(), p, counts);
      }
      break;
    default: break;
  }
}

}  // namespace

void RewriteUrls(json::value& value, std::string_view key, const UrlPolicy& p,
                 rules::RedactionCounts* counts) {
  if (p.empty()) return;
  Walk(value, key, p, counts);
}

}  // namespace scrubd::scrub
