#include "prefilter.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "ascii.h"
#include "pattern_texts.h"

namespace scrubd::rules::internal {

int ByteSet::Count() const {
  int n = 0;
  for (uint64_t x : w) n += __builtin_popcountll(x);
  return n;
}

namespace {

// How common a byte is in replay text; the rarest required sets filter best.
int Weight(const ByteSet& s) {
  int sum = 0;
  for (unsigned c = 0; c < 256; ++c) {
    if (!s.Has(c)) continue;
    if (c >= 'a' && c <= 'z')
      sum += 4;
    else if (c >= 'A' && c <= 'Z')
      sum += 2;
    else if (c >= '0' && c <= '9')
      sum += 3;
    else if (c == ' ')
      sum += 8;
    else
      sum += 1;
  }
  return sum;
}

struct Info {
  size_t min_len = 0;
  std::vector<ByteSet> req;  // conjunction
};

constexpr size_t kCap = size_t{1} << 20;  // saturate min_len arithmetic

ByteSet Range(unsigned lo, unsigned hi) {
  ByteSet s;
  for (unsigned c = lo; c <= hi; ++c) s.Add(c);
  return s;
}
ByteSet All() { return Range(0, 255); }

// Case folding as RE2 does it for Latin-1 (?i): ASCII letters, and the Latin-1 letters
// U+00C0-U+00DE (but U+00D7) with U+00E0-U+00FE. (Their other fold partners, such as U+212A
// for k or U+0178 for U+00FF, lie outside Latin-1 and cannot match a byte.) The catalog is
// ASCII, but a policy's custom pattern may hold any byte (Prefilter.CaseFoldingMatchesRe2).
void Fold(ByteSet* s) {
  auto pair = [s](unsigned lower, unsigned upper) {
    if (s->Has(lower) || s->Has(upper)) {
      s->Add(lower);
      s->Add(upper);
    }
  };
  for (unsigned c = 'a'; c <= 'z'; ++c) pair(c, c - 'a' + 'A');
  for (unsigned c = 0xE0; c <= 0xFE; ++c)
    if (c != 0xF7) pair(c, c - 0x20);
}

Info One(ByteSet s) {
  Info i;
  i.min_len = 1;
  i.req.push_back(s);
  return i;
}

// Recursive descent over the RE2 subset the catalog uses. Anything else sets ok = false and the
// pattern gets no requirement.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}
  bool ok = true;

  Info Parse() {
    Info r = Alt(false);
    if (i_ != s_.size()) ok = false;
    return r;
  }

 private:
  bool End() const { return i_ >= s_.size(); }
  char Peek() const { return s_[i_]; }

  // Flags set by a `(?i)` group last to the end of the enclosing group, across `|` too (as in
  // RE2's parser), so the branches share one `icase`.
  Info Alt(bool icase) {
    std::vector<Info> alts;
    alts.push_back(Concat(&icase));
    while (ok && !End() && Peek() == '|') {
      ++i_;
      alts.push_back(Concat(&icase));
    }
    if (alts.size() == 1) return alts[0];
    Info r;
    r.min_len = std::numeric_limits<size_t>::max();
    ByteSet u;
    bool all_have = true;
    for (const Info& a : alts) {
      r.min_len = std::min(r.min_len, a.min_len);
      if (a.req.empty()) {
        all_have = false;
        continue;
      }
      const ByteSet* best = &a.req[0];
      for (const ByteSet& s : a.req)
        if (Weight(s) < Weight(*best)) best = &s;
      u |= *best;
    }
    if (all_have) r.req.push_back(u);
    return r;
  }

  // `(?flags)` (no colon) at the cursor: consumes it and updates `icase`. Flags other than
  // i, m, s, U (and '-') are not a flag group.
  bool FlagGroup(bool* icase) {
    if (s_.substr(i_, 2) != "(?") return false;
    size_t j = i_ + 2;
    bool neg = false, set = *icase;
    for (; j < s_.size() && s_[j] != ')'; ++j) {
      const char f = s_[j];
      if (f == 'i')
        set = !neg;
      else if (f == '-')
        neg = true;
      else if (f != 'm' && f != 's' && f != 'U')
        return false;
    }
    if (j >= s_.size()) return false;
    i_ = j + 1;
    *icase = set;
    return true;
  }

  Info Concat(bool* icase) {
    Info r;
    while (ok && !End() && Peek() != '|' && Peek() != ')') {
      if (FlagGroup(icase)) continue;  // zero width
      Info x = Repeat(*icase);
      r.min_len = std::min(kCap, r.min_len + x.min_len);
      r.req.insert(r.req.end(), x.req.begin(), x.req.end());
    }
    return r;
  }

  size_t Number() {
    size_t n = 0;
    bool any = false;
    while (!End() && Peek() >= '0' && Peek() <= '9') {
      n = std::min(kCap, n * 10 + static_cast<size_t>(Peek() - '0'));
      ++i_;
      any = true;
    }
    if (!any) ok = false;
    return n;
  }

  Info Repeat(bool icase) {
    Info x = Atom(icase);
    while (ok && !End()) {
      const char c = Peek();
      size_t lo;
      if (c == '*' || c == '?') {
        lo = 0;
        ++i_;
      } else if (c == '+') {
        lo = 1;
        ++i_;
      } else if (c == '{') {
        ++i_;
        lo = Number();
        if (!End() && Peek() == ',') {
          ++i_;
          if (!End() && Peek() != '}') Number();
        }
        if (End() || Peek() != '}')
          ok = false;
        else
          ++i_;
      } else {
        break;
      }
      if (!End() && Peek() == '?') ++i_;  // non-greedy
      x.min_len = std::min(kCap, x.min_len * lo);
      if (lo == 0) x.req.clear();
    }
    return x;
  }

  Info Atom(bool icase) {
    const char c = Peek();
    ++i_;
    switch (c) {
      case '(': {
        bool inner_icase = icase;
        if (!End() && Peek() == '?') {
          ++i_;
          bool neg = false;
          while (!End() && Peek() != ':') {
            const char f = Peek();
            if (f == 'i')
              inner_icase = !neg;
            else if (f == '-')
              neg = true;
            else if (f != 's' && f != 'm' && f != 'U')
              ok = false;  // (?P<..>, (?i) ...
            if (!ok) return {};
            ++i_;
          }
          if (End()) {
            ok = false;
            return {};
          }
          ++i_;  // ':'
        }
        Info r = Alt(inner_icase);
        if (End() || Peek() != ')')
          ok = false;
        else
          ++i_;
        return r;
      }
      case '[': return Class(icase);
      case '\\': return Escape(icase);
      case '.': return One(All());
      case '^':
      case '$': return {};
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
      case '{': ok = false; return {};
      default: {
        ByteSet s;
        s.Add(static_cast<unsigned char>(c));
        if (icase) Fold(&s);
        return One(s);
      }
    }
  }

  // One escape (the backslash consumed) as a byte set; false for zero-width or unsupported.
  bool EscapeSet(ByteSet* s, bool* zero_width, bool in_class) {
    if (End()) return false;
    const char e = Peek();
    ++i_;
    *zero_width = false;
    switch (e) {
      case 'd': *s = Range('0', '9'); return true;
      case 's':
        for (char x : {'\t', '\n', '\v', '\f', '\r', ' '}) s->Add(static_cast<unsigned char>(x));
        return true;
      case 'w':
        *s = Range('0', '9');
        *s |= Range('a', 'z');
        *s |= Range('A', 'Z');
        s->Add('_');
        return true;
      case 'D':
      case 'S':
      case 'W': *s = All(); return !in_class;  // superset outside a class
      case 'n': s->Add('\n'); return true;
      case 't': s->Add('\t'); return true;
      case 'r': s->Add('\r'); return true;
      case 'f': s->Add('\f'); return true;
      case 'v': s->Add('\v'); return true;
      case 'a': s->Add('\a'); return true;
      case 'b':
      case 'B':
      case 'A':
      case 'z': *zero_width = true; return !in_class;
      default:
        if (IsAlnum(e) || static_cast<unsigned char>(e) >= 0x80) return false;
        s->Add(static_cast<unsigned char>(e));  // escaped punctuation
        return true;
    }
  }

  Info Escape(bool icase) {
    ByteSet s;
    bool zw = false;
    if (!EscapeSet(&s, &zw, false)) {
      ok = false;
      return {};
    }
    if (zw) return {};
    if (icase) Fold(&s);
    return One(s);
  }

  Info Class(bool icase) {
    ByteSet s;
    bool negate = false;
    if (!End() && Peek() == '^') {
      negate = true;
      ++i_;
    }
    bool first = true;
    while (ok && !End() && (Peek() != ']' || first)) {
      first = false;
      if (Peek() == '[' && i_ + 1 < s_.size() && s_[i_ + 1] == ':') {
        ok = false;
        break;
      }
      ByteSet item;
      unsigned lo = 0;
      bool single = false;
      if (Peek() == '\\') {
        ++i_;
        bool zw = false;
        if (!EscapeSet(&item, &zw, true)) {
          ok = false;
          break;
        }
        if (item.Count() == 1) {
          single = true;
          for (unsigned c = 0; c < 256; ++c)
            if (item.Has(c)) lo = c;
        }
      } else {
        lo = static_cast<unsigned char>(Peek());
        ++i_;
        single = true;
        item.Add(lo);
      }
      if (single && i_ + 1 < s_.size() && Peek() == '-' && s_[i_ + 1] != ']') {
        ++i_;
        unsigned hi;
        if (Peek() == '\\') {
          ++i_;
          ByteSet h;
          bool zw = false;
          if (!EscapeSet(&h, &zw, true) || h.Count() != 1) {
            ok = false;
            break;
          }
          hi = 0;
          for (unsigned c = 0; c < 256; ++c)
            if (h.Has(c)) hi = c;
        } else {
          hi = static_cast<unsigned char>(Peek());
          ++i_;
        }
        if (hi < lo) {
          ok = false;
          break;
        }
        item = Range(lo, hi);
      }
      s |= item;
    }
    if (End() || Peek() != ']') {
      ok = false;
      return {};
    }
    ++i_;
    if (icase) Fold(&s);
    if (negate) {
      ByteSet n;
      for (unsigned c = 0; c < 256; ++c)
        if (!s.Has(c)) n.Add(c);
      s = n;
    }
    return One(s);
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

PatternRequirement AnalyzePattern(std::string_view re) {
  Parser p(re);
  Info info = p.Parse();
  PatternRequirement r;
  if (!p.ok) return r;
  r.analyzed = true;
  r.min_len = info.min_len;
  std::vector<std::pair<int, ByteSet>> ranked;
  for (const ByteSet& s : info.req) {
    if (s.Empty() || s.Count() > 200) continue;  // useless as a filter
    bool dup = false;
    for (const auto& [w, o] : ranked) dup |= o == s;
    if (!dup) ranked.emplace_back(Weight(s), s);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < ranked.size() && i < kMaxSets; ++i) r.sets.push_back(ranked[i].second);
  return r;
}

}  // namespace scrubd::rules::internal
