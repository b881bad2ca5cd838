#include "dom/css.h"

#include <boost/json.hpp>
#include <cstdint>

#include "dom/dom_masker.h"

namespace scrubd::dom {
namespace {

bool IsNewline(char c) { return c == '\n' || c == '\r' || c == '\f'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || IsNewline(c); }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsNameChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '\\' || u >= 0x80;
}
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Consumes the escape whose backslash is at s[i] (s[i+1] exists and is not a newline);
// appends the escaped code point and returns the index after it (CSS Syntax 4.3.7).
size_t ConsumeEscape(std::string_view s, size_t i, std::string& out) {
  ++i;
  if (!IsHex(s[i])) {
    out.push_back(s[i]);
    return i + 1;
  }
  uint32_t cp = 0;
  size_t n = 0;
  for (; n < 6 && i < s.size() && IsHex(s[i]); ++n, ++i) cp = cp * 16 + HexValue(s[i]);
  if (i < s.size() && IsSpace(s[i])) {
    i += (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
  }
  AppendUtf8(out, cp);
  return i;
}

void AppendHexEscape(std::string& out, unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('\\');
  if (c >= 16) out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
  out.push_back(' ');
}

// Re-encodes a value as the body of a string token quoted with `quote`.
std::string EncodeString(std::string_view v, char quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7F) {
      AppendHexEscape(out, u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Re-encodes a value as the body of an unquoted url token.
std::string EncodeUrl(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\'' || c == '(' || c == ')' || c == '\\' || u <= 0x20 || u == 0x7F) {
      AppendHexEscape(out, u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

class Rewriter {
 public:
  Rewriter(std::string_view css, const CssRewriter& f) : s_(css), f_(f) {}

  // Returns true and fills `out` when some part changed.
  bool Run(std::string& out) {
    size_t i = 0;
    while (i < s_.size()) {
      char c = s_[i];
      if (c == '/' && i + 1 < s_.size() && s_[i + 1] == '*') {
        i = Comment(i);
      } else if (c == '"' || c == '\'') {
        i = String(i);
      } else if (c == '\\' && i + 1 < s_.size()) {
        i += 2;  // an escaped character outside a string never starts a token of ours
      } else if (IsUrlStart(i)) {
        i = Url(i + 4);
      } else {
        ++i;
      }
    }
    if (!changed_) return false;
    out_.append(s_.substr(copied_));
    out = std::move(out_);
    return true;
  }

 private:
  bool IsUrlStart(size_t i) const {
    if (i + 4 > s_.size() || (i > 0 && IsNameChar(s_[i - 1]))) return false;
    return (s_[i] | 0x20) == 'u' && (s_[i + 1] | 0x20) == 'r' && (s_[i + 2] | 0x20) == 'l' &&
           s_[i + 3] == '(';
  }

  // Replaces s_[begin, end) with `text` in the output.
  void Replace(size_t begin, size_t end, std::string_view text) {
    out_.append(s_.substr(copied_, begin - copied_));
    out_.append(text);
    copied_ = end;
    changed_ = true;
  }

  size_t Comment(size_t i) {
    size_t body = i + 2;
    size_t close = s_.find("*/", body);
    size_t end = close == std::string_view::npos ? s_.size() : close;
    std::string v(s_.substr(body, end - body));
    if (f_(v, CssPart::kComment)) {
      for (size_t p = v.find("*/"); p != std::string::npos; p = v.find("*/", p)) v[p + 1] = ' ';
      Replace(body, end, v);
    }
    return close == std::string_view::npos ? s_.size() : close + 2;
  }

  size_t String(size_t i) {
    const char quote = s_[i];
    size_t body = ++i;
    std::string v;
    while (i < s_.size() && s_[i] != quote && !IsNewline(s_[i])) {
      if (s_[i] == '\\') {
        if (i + 1 >= s_.size()) {
          ++i;
        } else if (IsNewline(s_[i + 1])) {  // line continuation
          i += (s_[i + 1] == '\r' && i + 2 < s_.size() && s_[i + 2] == '\n') ? 3 : 2;
        } else {
          i = ConsumeEscape(s_, i, v);
        }
      } else {
        v.push_back(s_[i++]);
      }
    }
    if (f_(v, CssPart::kString)) Replace(body, i, EncodeString(v, quote));
    return i < s_.size() && s_[i] == quote ? i + 1 : i;  // a bad string ends at the newline
  }

  // `i` is just after "url(". A quoted argument is a function token: its string is handled
  // by String() on the next iteration.
  size_t Url(size_t i) {
    size_t j = i;
    while (j < s_.size() && IsSpace(s_[j])) ++j;
    if (j < s_.size() && (s_[j] == '"' || s_[j] == '\'')) return j;
    size_t body = j;
    std::string v;
    bool bad = false;
    while (j < s_.size() && s_[j] != ')') {
      char c = s_[j];
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '\\' && j + 1 < s_.size() && !IsNewline(s_[j + 1]) && !bad) {
        j = ConsumeEscape(s_, j, v);
        continue;
      }
      if (IsSpace(c)) {  // trailing space is fine, anything after it makes a bad url
        size_t k = j;
        while (k < s_.size() && IsSpace(s_[k])) ++k;
        if (k >= s_.size() || s_[k] == ')') {
          if (f_(v, CssPart::kUrl)) Replace(body, j, EncodeUrl(v));
          return k < s_.size() ? k + 1 : k;
        }
        bad = true;
      }
      if (c == '"' || c == '\'' || c == '(' || u < 0x20 || u == 0x7F) bad = true;
      if (c == '\\' && j + 1 < s_.size()) {
        v.push_back(c);
        v.push_back(s_[j + 1]);
        j += 2;
        continue;
      }
      v.push_back(c);
      ++j;
    }
    if (bad) v.assign(s_.substr(body, j - body));  // bad url: its raw remnants
    if (f_(v, CssPart::kUrl)) Replace(body, j, EncodeUrl(v));
    return j < s_.size() ? j + 1 : j;
  }

  std::string_view s_;
  const CssRewriter& f_;
  std::string out_;
  size_t copied_ = 0;
  bool changed_ = false;
};

}  // namespace

bool RewriteCssParts(std::string& css, const CssRewriter& rewrite) {
  std::string out;
  Rewriter r(css, rewrite);
  if (!r.Run(out)) return false;
  css = std::move(out);
  return true;
}

bool MaskCssParts(std::string& css) {
  return RewriteCssParts(css, [](std::string& v, CssPart) {
    std::string masked = MaskTextValue(v);
    if (masked == v) return false;
    v = std::move(masked);
    return true;
  });
}

}  // namespace scrubd::dom

namespace scrubd::dom {
namespace json = boost::json;

namespace {

void VisitString(json::value* v, const std::function<void(json::value&)>& f) {
  if (v != nullptr) f(*v);
}

void VisitRules(json::value* rules, const std::function<void(json::value&)>& f) {
  if (rules == nullptr || !rules->is_array()) return;
  for (json::value& r : rules->as_array()) {
    if (json::object* o = r.if_object()) VisitString(o->if_contains("rule"), f);
  }
}

}  // namespace

void ForEachCssTextField(json::object& data, const std::function<void(json::value&)>& f) {
  VisitRules(data.if_contains("adds"), f);
  VisitString(data.if_contains("replace"), f);
  VisitString(data.if_contains("replaceSync"), f);
  if (json::value* set = data.if_contains("set"); set && set->is_object())
    VisitString(set->as_object().if_contains("value"), f);
  if (json::value* styles = data.if_contains("styles"); styles && styles->is_array()) {
    for (json::value& st : styles->as_array())
      if (json::object* o = st.if_object()) VisitRules(o->if_contains("rules"), f);
  }
}

bool IsCssRuleEvent(const json::object& event) {
  const json::object* o = &event;
  const json::value* t = o->if_contains("type");
  const json::value* d = o->if_contains("data");
  if (!t || !t->is_int64() || t->get_int64() != 3 || !d || !d->is_object()) return false;
  const json::value* src = d->get_object().if_contains("source");
  if (!src || !src->is_int64()) return false;
  int64_t s = src->get_int64();
  return s == 8 || s == 13 || s == 15;
}

}  // namespace scrubd::dom
