// The canonical view of a string that detection runs on (rules/README.md "Canonical view"):
// HTML entities, percent-escapes and JS / CSS backslash escapes decoded, NFKC per normalisation
// segment, default-ignorable code points removed, with a map from every view byte back to the
// original bytes it came from. Internal to scrubd_rules; pure functions, safe from many threads
// (ICU's NFKC data is shared and immutable).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scrubd::rules::internal {

struct CanonicalView {
  std::string text;
  // View byte i came from the original bytes [begin[i], end[i]): one escape, one entity, one
  // normalisation segment (with the invisible code points inside it) or one byte.
  std::vector<uint32_t> begin, end;
  bool decoded = false;  // an escape, entity, NFKC change or removed invisible
  bool folded = false;   // fold_letters turned a non-ASCII letter into 'a'
};

// A byte that may start something to canonicalise: '%', '&', '\\' or any non-ASCII byte.
// Strings without one never build a view.
inline bool MayNeedCanonical(unsigned char c) {
  return c == '%' || c == '&' || c == '\\' || c >= 0x80;
}

// Builds the view of `in`; when neither `decoded` nor `folded` is set the view is `in` itself
// and text / begin / end may be left empty (nothing to scan again). With `fold_letters`, every
// non-ASCII letter, mark or digit of the NFKC result becomes one 'a', so the ASCII-only patterns
// see an internationalised address (jane@例え.jp reads jane@aa.jp) while its span still maps back
// to the original code points.
void BuildCanonicalView(std::string_view in, bool fold_letters, CanonicalView* out);

// Frees the view's and this thread's layer buffers when a huge string grew them (a view keeps
// 9 bytes per text byte), so one big value does not stay resident per thread.
void ReleaseLargeBuffers(CanonicalView* v);

// Builds the shared tables (ICU's NFKC instance, the inert-code-point bitmap, ~65k property
// lookups) now rather than in the first string that needs them. Scanner::Create calls it.
void PrepareCanonical();

// The view's text without folding: the value a hash, mask or truncation of a match works on.
std::string CanonicalText(std::string_view in);

// Whether `s` holds a %XX escape (X hexadecimal).
bool HasPercentEscape(std::string_view s);

// Appends `s` percent-encoded: every byte but A-Z a-z 0-9 - . _ ~ and '*'.
void AppendPercentEncoded(std::string* out, std::string_view s);

}  // namespace scrubd::rules::internal
