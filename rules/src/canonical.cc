#include "canonical.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstring>

#include "ascii.h"

namespace scrubd::rules::internal {
namespace {

// One decoding layer: `out` bytes with, per byte, the [b, e) range of `in` it came from.
struct Layer {
  std::string out;
  std::vector<uint32_t> b, e;
  void Put(char c, size_t from, size_t to) {
    out.push_back(c);
    b.push_back(static_cast<uint32_t>(from));
    e.push_back(static_cast<uint32_t>(to));
  }
  void PutUtf8(UChar32 cp, size_t from, size_t to) {
    char buf[4];
    int32_t n = 0;
    UBool error = false;
    U8_APPEND(buf, n, 4, cp, error);
    (void)error;  // cp is always valid here
    for (int32_t k = 0; k < n; ++k) Put(buf[k], from, to);
  }
  void Clear() {
    out.clear();
    b.clear();
    e.clear();
  }
};

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Named entities that can spell or hide part of an identifier (HTML5 names, case-sensitive).
struct NamedEntity {
  std::string_view name;
  UChar32 cp;
};
constexpr NamedEntity kNamedEntities[] = {
    {"amp", '&'},
    {"AMP", '&'},
    {"lt", '<'},
    {"gt", '>'},
    {"quot", '"'},
    {"apos", '\''},
    {"commat", '@'},
    {"period", '.'},
    {"lowbar", '_'},
    {"UnderBar", '_'},
    {"hyphen", 0x2010},
    {"dash", 0x2010},
    {"minus", 0x2212},
    {"plus", '+'},
    {"percnt", '%'},
    {"num", '#'},
    {"colon", ':'},
    {"semi", ';'},
    {"sol", '/'},
    {"bsol", '\\'},
    {"equals", '='},
    {"quest", '?'},
    {"excl", '!'},
    {"comma", ','},
    {"lpar", '('},
    {"rpar", ')'},
    {"lsqb", '['},
    {"rsqb", ']'},
    {"lbrack", '['},
    {"rbrack", ']'},
    {"ast", '*'},
    {"midast", '*'},
    {"dollar", '$'},
    {"tilde", 0x02DC},
    {"grave", '`'},
    {"Hat", '^'},
    {"verbar", '|'},
    {"vert", '|'},
    {"lcub", '{'},
    {"rcub", '}'},
    {"nbsp", 0x00A0},
    {"ensp", 0x2002},
    {"emsp", 0x2003},
    {"thinsp", 0x2009},
    {"shy", 0x00AD},
    {"zwj", 0x200D},
    {"zwnj", 0x200C},
    {"NoBreak", 0x2060},
    {"ZeroWidthSpace", 0x200B},
    {"NewLine", '\n'},
    {"Tab", '\t'},
};

// Length of the entity at in[i] ('&'), 0 if none; its code point in *cp. Numeric entities
// may omit the ';' (as HTML parsers accept); named ones need it.
size_t ParseEntity(std::string_view in, size_t i, UChar32* cp) {
  const size_t n = in.size();
  size_t j = i + 1;
  if (j < n && in[j] == '#') {
    ++j;
    const bool hex = j < n && (in[j] == 'x' || in[j] == 'X');
    j += hex;
    const size_t digits_at = j;
    uint32_t v = 0;
    while (j < n && j - digits_at < 8) {
      const int d = hex ? HexValue(in[j]) : (IsDigit(in[j]) ? in[j] - '0' : -1);
      if (d < 0) break;
      v = v * (hex ? 16 : 10) + static_cast<uint32_t>(d);
      ++j;
    }
    if (j == digits_at) return 0;
    if (j < n && in[j] == ';') ++j;
    // What HTML makes of NUL, surrogates and out-of-range values.
    *cp = v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ? 0xFFFD : static_cast<UChar32>(v);
    return j - i;
  }
  while (j < n && j - i <= 32 && IsAlnum(in[j])) ++j;
  if (j >= n || in[j] != ';' || j == i + 1) return 0;
  const std::string_view name = in.substr(i + 1, j - i - 1);
  for (const auto& e : kNamedEntities) {
    if (e.name == name) {
      *cp = e.cp;
      return j + 1 - i;
    }
  }
  return 0;
}

bool DecodeEntities(std::string_view in, Layer* out) {
  bool changed = false;
  for (size_t i = 0; i < in.size();) {
    UChar32 cp = 0;
    const size_t len = in[i] == '&' ? ParseEntity(in, i, &cp) : 0;
    if (len == 0) {
      out->Put(in[i], i, i + 1);
      ++i;
      continue;
    }
    out->PutUtf8(cp, i, i + len);
    i += len;
    changed = true;
  }
  return changed;
}

bool DecodePercent(std::string_view in, Layer* out) {
  bool changed = false;
  for (size_t i = 0; i < in.size();) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out->Put(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])), i, i + 3);
      i += 3;
      changed = true;
      continue;
    }
    out->Put(in[i], i, i + 1);
    ++i;
  }
  return changed;
}

// Length of the backslash escape at in[i] ('\\'), 0 if none; its code point in *cp. JS / JSON
// `\uXXXX` (a surrogate pair joined, a lone surrogate U+FFFD), `\u{X...}`, `\xXX`; CSS `\` + 1-6
// hex digits and one optional whitespace after them (CRLF counts as one); `\n` `\r` `\t` `\v`
// as their control characters; `\` before ASCII punctuation (`\@`, `\.`, `\\`, `\/`) as that
// byte. A backslash before any other letter (`C:\users`) or a space is left as it is.
size_t ParseBackslash(std::string_view in, size_t i, UChar32* cp) {
  const size_t n = in.size();
  if (i + 1 >= n) return 0;
  const char c = in[i + 1];
  auto hex_run = [&](size_t from, size_t max, uint32_t* v) {
    size_t j = from;
    *v = 0;
    while (j < n && j - from < max && HexValue(in[j]) >= 0) *v = *v * 16 + HexValue(in[j++]);
    return j - from;
  };
  auto valid = [](uint32_t v) {
    return v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ? 0xFFFD
                                                                  : static_cast<UChar32>(v);
  };
  uint32_t v = 0;
  if (c == 'u') {
    if (i + 2 < n && in[i + 2] == '{') {
      const size_t k = hex_run(i + 3, 6, &v);
      if (k == 0 || i + 3 + k >= n || in[i + 3 + k] != '}') return 0;
      *cp = valid(v);
      return k + 4;
    }
    if (hex_run(i + 2, 4, &v) != 4) return 0;
    if (v >= 0xD800 && v <= 0xDBFF && i + 11 < n && in[i + 6] == '\\' && in[i + 7] == 'u') {
      uint32_t lo = 0;
      if (hex_run(i + 8, 4, &lo) == 4 && lo >= 0xDC00 && lo <= 0xDFFF) {
        *cp = static_cast<UChar32>(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00));
        return 12;
      }
    }
    *cp = valid(v);
    return 6;
  }
  if (c == 'x') {
    if (hex_run(i + 2, 2, &v) != 2) return 0;
    *cp = valid(v);
    return 4;
  }
  if (HexValue(c) >= 0) {  // CSS hex escape
    size_t j = i + 1 + hex_run(i + 1, 6, &v);
    if (j < n && in[j] == '\r' && j + 1 < n && in[j + 1] == '\n') {
      j += 2;
    } else if (j < n &&
               (in[j] == ' ' || in[j] == '\t' || in[j] == '\n' || in[j] == '\r' || in[j] == '\f')) {
      ++j;
    }
    *cp = valid(v);
    return j - i;
  }
  switch (c) {
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'v': *cp = '\v'; return 2;
    default: break;
  }
  if (c > ' ' && c < 0x7F && !IsAlnum(c)) {
    *cp = static_cast<unsigned char>(c);
    return 2;
  }
  return 0;
}

bool DecodeBackslash(std::string_view in, Layer* out) {
  bool changed = false;
  for (size_t i = 0; i < in.size();) {
    UChar32 cp = 0;
    const size_t len = in[i] == '\\' ? ParseBackslash(in, i, &cp) : 0;
    if (len == 0) {
      out->Put(in[i], i, i + 1);
      ++i;
      continue;
    }
    out->PutUtf8(cp, i, i + len);
    i += len;
    changed = true;
  }
  return changed;
}

const icu::Normalizer2* Nfkc() {
  static const icu::Normalizer2* nfkc = [] {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = icu::Normalizer2::getNFKCInstance(status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return nfkc;
}

// Default-ignorable code points (invisible: U+200B-U+200D, U+2060, U+FEFF, U+00AD, ...).
const icu::UnicodeSet* Ignorables() {
  static const icu::UnicodeSet* set = [] {
    UErrorCode status = U_ZERO_ERROR;
    auto* s = new icu::UnicodeSet(u"[:Default_Ignorable_Code_Point:]", status);
    if (U_FAILURE(status)) {
      delete s;
      s = new icu::UnicodeSet(0x200B, 0x200D);  // never: the pattern is static
    }
    s->freeze();
    return s;
  }();
  return set;
}

// BMP code points the NFKC layer keeps as they are whatever surrounds them: NFKC quick check
// Yes, combining class 0 (so never reordered or composed with a neighbour), not invisible.
const std::vector<uint64_t>& InertBmp() {
  static const std::vector<uint64_t> bits = [] {
    std::vector<uint64_t> b(0x10000 / 64);
    const icu::UnicodeSet* ignorable = Ignorables();
    for (UChar32 c = 0; c < 0x10000; ++c) {
      if (u_getIntPropertyValue(c, UCHAR_NFKC_QUICK_CHECK) == UNORM_YES &&
          u_getCombiningClass(c) == 0 && !ignorable->contains(c))
        b[c >> 6] |= uint64_t{1} << (c & 63);
    }
    return b;
  }();
  return bits;
}

// True when the NFKC layer would give `s` back unchanged: every code point is inert (above),
// which is a sound quick check (a string of NFKC_QC=Yes starters is NFKC). Supplementary and
// ill-formed code points answer false, and the layer is built.
bool NfkcLayerIsIdentity(std::string_view s) {
  const std::vector<uint64_t>& inert = InertBmp();
  const unsigned char* t = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned c = t[i];
    if (c < 0x80) {
      uint64_t w;  // eight ASCII bytes at a time
      if (i + 8 <= n && (std::memcpy(&w, t + i, 8), (w & 0x8080808080808080ULL) == 0)) {
        i += 8;
      } else {
        ++i;
      }
      continue;
    }
    uint32_t cp;
    if ((c >> 5) == 6 && i + 1 < n && (t[i + 1] >> 6) == 2 && c >= 0xC2) {
      cp = (c & 0x1F) << 6 | (t[i + 1] & 0x3F);
      i += 2;
    } else if ((c >> 4) == 14 && i + 2 < n && (t[i + 1] >> 6) == 2 && (t[i + 2] >> 6) == 2) {
      cp = (c & 0x0F) << 12 | (t[i + 1] & 0x3F) << 6 | (t[i + 2] & 0x3F);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += 3;
    } else {
      return false;
    }
    if (!((inert[cp >> 6] >> (cp & 63)) & 1)) return false;
  }
  return true;
}

bool Foldable(UChar32 cp) {
  return cp >= 0x80 && (U_GET_GC_MASK(cp) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_ND_MASK)) != 0;
}

// NFKC per normalisation segment (a code point with a boundary before it up to the next one),
// default-ignorable code points dropped, ill-formed bytes kept one by one.
class NfkcLayer {
 public:
  NfkcLayer(std::string_view in, bool fold, Layer* out) : in_(in), fold_(fold), out_(out) {}

  void Run() {
    const icu::Normalizer2* nfkc = Nfkc();
    const int32_t n = static_cast<int32_t>(in_.size());
    for (int32_t i = 0; i < n;) {
      const int32_t s = i;
      if (static_cast<unsigned char>(in_[i]) < 0x80 &&
          (i + 1 == n || static_cast<unsigned char>(in_[i + 1]) < 0x80)) {
        Flush();  // an ASCII byte before ASCII (or the end) is a whole segment
        out_->Put(in_[i], i, i + 1);
        ++i;
        continue;
      }
      UChar32 cp;
      U8_NEXT(in_.data(), i, n, cp);
      if (cp < 0) {
        Flush();
        for (int32_t k = s; k < i; ++k) out_->Put(in_[k], k, k + 1);
        continue;
      }
      if (Ignorables()->contains(cp)) {
        changed_ = true;
        continue;
      }
      if (seg_.isEmpty() || cp < 0x80 || !nfkc || nfkc->hasBoundaryBefore(cp)) {
        Flush();
        seg_begin_ = s;
      }
      seg_.append(cp);
      seg_end_ = i;
    }
    Flush();
  }
  bool changed() const { return changed_; }
  bool folded() const { return folded_; }

 private:
  void Flush() {
    if (seg_.isEmpty()) return;
    const icu::Normalizer2* nfkc = Nfkc();
    const std::string_view orig = in_.substr(seg_begin_, seg_end_ - seg_begin_);
    utf8_.clear();
    if (nfkc && !(seg_.countChar32() == 1 && nfkc->isInert(seg_.char32At(0)))) {
      UErrorCode status = U_ZERO_ERROR;
      const icu::UnicodeString norm = nfkc->normalize(seg_, status);
      if (U_SUCCESS(status)) norm.toUTF8String(utf8_);
    }
    if (utf8_.empty()) seg_.toUTF8String(utf8_);
    changed_ |= utf8_ != orig;
    const int32_t len = static_cast<int32_t>(utf8_.size());
    for (int32_t k = 0; k < len;) {
      const int32_t s = k;
      UChar32 cp;
      U8_NEXT(utf8_.data(), k, len, cp);
      if (fold_ && Foldable(cp)) {
        folded_ = true;
        out_->Put('a', seg_begin_, seg_end_);
        continue;
      }
      for (int32_t q = s; q < k; ++q) out_->Put(utf8_[q], seg_begin_, seg_end_);
    }
    seg_.remove();
  }

  std::string_view in_;
  bool fold_;
  Layer* out_;
  icu::UnicodeString seg_;
  size_t seg_begin_ = 0, seg_end_ = 0;
  std::string utf8_;
  bool changed_ = false, folded_ = false;
};

// Maps the view's bytes through one more layer: view byte j now came from the original bytes
// of the layer-input bytes [l.b[j], l.e[j]).
// Per-thread scratch of the layers, reused across strings.
struct Scratch {
  Layer layer;
  std::vector<uint32_t> b, e;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

void Compose(const Layer& l, CanonicalView* v) {
  std::vector<uint32_t>& b = ThreadScratch().b;
  std::vector<uint32_t>& e = ThreadScratch().e;
  b.resize(l.out.size());
  e.resize(l.out.size());
  for (size_t j = 0; j < l.out.size(); ++j) {
    b[j] = v->begin[l.b[j]];
    e[j] = v->end[l.e[j] - 1];
  }
  v->begin.swap(b);
  v->end.swap(e);
  v->text = l.out;
}

}  // namespace

void BuildCanonicalView(std::string_view in, bool fold_letters, CanonicalView* v) {
  v->decoded = v->folded = false;
  v->text.clear();
  v->begin.clear();
  v->end.clear();
  const bool escapes = in.find('&') != std::string_view::npos ||
                       in.find('%') != std::string_view::npos ||
                       in.find('\\') != std::string_view::npos;
  // Text in another script with nothing to decode: the quick checks settle it, no view built.
  if (!escapes && !(fold_letters && in.find('@') != std::string_view::npos) &&
      NfkcLayerIsIdentity(in))
    return;
  v->text.assign(in);
  v->begin.resize(in.size());
  v->end.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    v->begin[i] = static_cast<uint32_t>(i);
    v->end[i] = static_cast<uint32_t>(i + 1);
  }
  Layer& layer = ThreadScratch().layer;
  // Entities inside percent-escapes and double encoding (%2540, \\u0040): a few rounds while a
  // layer still changes something; each round only shortens the text.
  for (int round = 0; round < 3 && escapes; ++round) {
    bool changed = false;
    if (v->text.find('&') != std::string::npos) {
      layer.Clear();
      if (DecodeEntities(v->text, &layer)) {
        Compose(layer, v);
        changed = true;
      }
    }
    if (v->text.find('%') != std::string::npos) {
      layer.Clear();
      if (DecodePercent(v->text, &layer)) {
        Compose(layer, v);
        changed = true;
      }
    }
    if (v->text.find('\\') != std::string::npos) {
      layer.Clear();
      if (DecodeBackslash(v->text, &layer)) {
        Compose(layer, v);
        changed = true;
      }
    }
    v->decoded |= changed;
    if (!changed) break;
  }
  const bool non_ascii = std::any_of(v->text.begin(), v->text.end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  if (!non_ascii) return;
  // Folding only matters to the email pattern, which needs an '@'.
  const bool fold = fold_letters && v->text.find('@') != std::string::npos;
  if (!fold && NfkcLayerIsIdentity(v->text)) return;
  layer.Clear();
  NfkcLayer nfkc(v->text, fold, &layer);
  nfkc.Run();
  if (!nfkc.changed() && !nfkc.folded()) return;
  Compose(layer, v);
  v->decoded |= nfkc.changed();
  v->folded = nfkc.folded();
}

void ReleaseLargeBuffers(CanonicalView* v) {
  constexpr size_t kKeep = 1 << 20;  // bytes of text kept between strings
  if (v->text.capacity() > kKeep) *v = CanonicalView();
  Scratch& s = ThreadScratch();
  if (s.layer.out.capacity() > kKeep || s.b.capacity() > kKeep) s = Scratch();
}

void PrepareCanonical() {
  Nfkc();
  InertBmp();
}

std::string CanonicalText(std::string_view in) {
  CanonicalView v;
  BuildCanonicalView(in, false, &v);
  return v.decoded ? v.text : std::string(in);
}

bool HasPercentEscape(std::string_view s) {
  for (size_t i = 0; i + 2 < s.size(); ++i)
    if (s[i] == '%' && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) return true;
  return false;
}

void AppendPercentEncoded(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '*') {
      out->push_back(c);
      continue;
    }
    const unsigned char u = static_cast<unsigned char>(c);
    out->push_back('%');
    out->push_back(kHex[u >> 4]);
    out->push_back(kHex[u & 15]);
  }
}

}  // namespace scrubd::rules::internal
