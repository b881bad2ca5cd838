// The scanner's internals, shared by scanner.cc (building: catalog, RE2 sets, prefilters,
// sensitive keys) and scanner_match.cc (matching: key lookup, candidate spans, validation,
// overlaps, rewriting, the canonical view). Private to scrubd_rules. A built ScannerImpl is
// immutable and safe to use from any thread.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <set>

#include "ascii.h"
#include "canonical.h"
#include "catalog.h"
#include "prefilter.h"
#include "redact.h"
#include "scrubd/rules/scanner.h"
#include "shape.h"
#include "validators.h"

namespace scrubd::rules::scanner_internal {

using internal::Boundary;
using internal::DetectorSpec;

using internal::IsAlnum;
using internal::IsDigit;
using internal::LowerAscii;

// a[0..n) == b[0..n) for short keys, with fixed-size (inlined) loads instead of a memcmp call.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8) {
    for (size_t i = 0; i + 8 <= n; i += 8)
      if (load8(a + i) != load8(b + i)) return false;
    return load8(a + n - 8) == load8(b + n - 8);
  }
  if (n >= 4) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

inline bool ContainsFold(std::string_view hay, std::string_view needle) {
  if (needle.empty() || hay.size() < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && LowerAscii(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

inline bool Touches(Boundary b, char c) {
  switch (b) {
    case Boundary::kNone: return false;
    case Boundary::kDigit: return IsDigit(c);
    case Boundary::kAlnum: return IsAlnum(c);
    case Boundary::kWord: return IsAlnum(c) || c == '_' || c == '-';
  }
  return false;
}

// Lower-cased alphanumerics of `s` (e.g. "API-Key" -> "apikey").
inline std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s)
    if (IsAlnum(c)) out.push_back(LowerAscii(c));
  return out;
}

// The built-in sensitive keys, normalized (issue 3's list plus autocomplete tokens and the
// short / banking names).
constexpr std::string_view kSensitiveKeys[] = {
    "password", "passwd", "secret", "token", "apikey", "auth", "authorization", "cookie",
    "setcookie", "credentials", "credential", "privatekey", "ssn", "card", "cvv", "cvc", "iban",
    "passphrase", "ccnumber", "cccsc", "ccexp", "cardnumber",
    // Matched as whole words, like the others: "pin" is not in "shipping" or "spinner", "pass"
    // not in "passenger" or "compass".
    "pwd", "pass", "pin", "otp", "passcode", "mfacode", "securitycode", "accountnumber",
    "routingnumber", "sortcode", "cvv2"};

struct Detector {
  DetectorSpec spec;
  internal::ValidatorFn validator = nullptr;
  Method method = Method::kReplace;
  int keep_last = 0;
  std::string label;
  std::string rule_name;  // counts key
  // Prefilter class bit of the rarest letter (either case) of each context word; all ones when
  // no class was free or a word has no letter.
  uint64_t letter_class = ~uint64_t{0};
};

inline uint64_t DetectorBit(int di) { return uint64_t{1} << std::min(di, 63); }

// Prefilter class bit of '%', '&' and non-ASCII bytes: the string may need a canonical view.
constexpr uint64_t kCanonicalClass = uint64_t{1} << 63;

// The context words of every detector with context-required patterns, bucketed by first byte,
// so one pass over a string (or key) finds which of those detectors have a word in it.
struct ContextWords {
  struct Word {
    std::string text;  // lower case
    int detector;
  };
  std::vector<Word> words;  // sorted by first byte: words[begin[c] .. end[c]) start with c
  std::array<uint32_t, 256> begin{}, end{};
  // Bit (b0 << 8 | b1) of `pair`: raw bytes b0 b1 (either case) start some word; a one-byte
  // word sets every b1, and `last` holds its byte for the final position of a string.
  std::vector<uint64_t> pair = std::vector<uint64_t>(65536 / 64);
  std::array<bool, 256> last{};

  void Add(const std::string& w, int detector) {
    if (!w.empty()) words.push_back({w, detector});
  }
  void Build() {
    std::stable_sort(words.begin(), words.end(),
                     [](const Word& x, const Word& y) { return x.text[0] < y.text[0]; });
    for (unsigned c0 = 0; c0 < 256; ++c0) {
      const char l0 = LowerAscii(static_cast<char>(c0));
      for (const auto& w : words) {
        if (w.text[0] != l0) continue;
        last[c0] = last[c0] || w.text.size() == 1;
        for (unsigned c1 = 0; c1 < 256; ++c1) {
          if (w.text.size() > 1 && LowerAscii(static_cast<char>(c1)) != w.text[1]) continue;
          const unsigned bit = c0 << 8 | c1;
          pair[bit >> 6] |= uint64_t{1} << (bit & 63);
        }
      }
    }
    for (size_t k = words.size(); k-- > 0;) {
      const unsigned char c = static_cast<unsigned char>(words[k].text[0]);
      begin[c] = static_cast<uint32_t>(k);
      if (end[c] == 0) end[c] = static_cast<uint32_t>(k + 1);
    }
  }
  // DetectorBit of each detector with a word in `hay` (ASCII case-insensitive); stops once
  // every bit of `want` is found.
  uint64_t Find(std::string_view hay, uint64_t want) const {
    uint64_t found = 0;
    const size_t n = hay.size();
    if (n == 0) return 0;
    const unsigned char* t = reinterpret_cast<const unsigned char*>(hay.data());
    // True once every `want` bit is found.
    auto words_at = [&](size_t i) {
      const unsigned char c = static_cast<unsigned char>(LowerAscii(hay[i]));
      for (uint32_t k = begin[c]; k < end[c]; ++k) {
        const Word& w = words[k];
        const uint64_t bit = DetectorBit(w.detector);
        if ((found & bit) || n - i < w.text.size()) continue;
        size_t j = 1;
        while (j < w.text.size() && LowerAscii(hay[i + j]) == w.text[j]) ++j;
        if (j == w.text.size()) {
          found |= bit;
          if ((found & want) == want) return true;
        }
      }
      return false;
    };
    unsigned prev = t[0];
    for (size_t i = 1; i < n; ++i) {
      const unsigned bit = prev << 8 | t[i];
      prev = t[i];
      if (((pair[bit >> 6] >> (bit & 63)) & 1) && words_at(i - 1)) return found;
    }
    if (last[t[n - 1]]) words_at(n - 1);
    return found;
  }
};

struct Pattern {
  std::unique_ptr<RE2> re;
  int detector = 0;
  bool context_required = false;
  int group = 0;  // 1 when the pattern has a capture group
  // Prefilter (prefilter.h): every match is >= min_len bytes and touches each class in `req`
  // (bit k of ScannerImpl::byte_classes_).
  size_t min_len = 0;
  uint64_t req = 0;
  internal::FastLocateFn fast = nullptr;  // exact hand-written locate (prefilter.h), or RE2
  uint32_t feature = 0;  // shape Feature whose absence proves no match (shape.h), or 0
  // The Set's pattern has a start-boundary prefix ((?:^|[^0-9])... for Boundary::kDigit).
  bool prefixed = false;
  // Context-required, and its gated-Set form demands a context word before the match (only
  // when the value starts at the match; otherwise the gated Set holds the plain form).
  bool gated = false;
  // The card locator + card validator: when the validator rejects a whole digit chain, it
  // rejects every suffix of it too (its group ranges are a subset), so Locate may resume at
  // the chain's end instead of at each later group.
  bool card_chain_skip = false;
};

struct Span {
  size_t begin, end;
  int detector;
  int pattern;
  // The RE2::Set would report `pattern` for this text: the value's match proves it (shape path).
  bool proven;
  // Found in the canonical view (canonical.h) and mapped back to original bytes: redacted from
  // its canonical text.
  bool canonical = false;
};

// Never reused, so a cache entry can never answer for a different (or destroyed) scanner.
inline uint64_t NextScannerId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

class ScannerImpl final : public Scanner {
 public:
  static Result<std::shared_ptr<const Scanner>> Build(const ScannerConfig& config);

  bool Redact(std::string& text, std::string_view key, RedactionCounts* counts) const override;
  bool IsSensitiveKey(std::string_view key) const override {
    return MatchKeyCached(key).rule != nullptr;
  }
  std::vector<std::string> DetectorIds() const override {
    std::vector<std::string> ids;
    for (const auto& d : detectors_) ids.push_back(d.spec.id);
    return ids;
  }

 private:
  const std::string* MatchKey(std::string_view key) const;
  // MatchKey through a small per-thread cache (JSON keys repeat: tagName, textContent, ...).
  struct KeyInfo {
    const std::string* rule = nullptr;  // sensitive-key rule name, or null
    // DetectorBit(i): detector i has a context word in the key (bit 63: detectors 63+,
    // always set when there are such).
    uint64_t context = 0;
    uint64_t suppressed = 0;  // DetectorBit(i): a suppress key of detector i is in the key
  };
  KeyInfo MatchKeyCached(std::string_view key) const;
  KeyInfo MatchKeyInfo(std::string_view key) const;
  struct Call;
  // A context word of detector `di` in the key or in the 48 bytes before `begin`.
  bool HasContext(int di, std::string_view text, size_t begin, const Call& call) const;
  void Locate(int pattern, const Call& call, std::vector<Span>* spans) const;
  // How much LocateIfPossible checks for a context-required pattern before locating:
  // kLetters, only the rarest-letter class (the shape path: a context word is then checked per
  // located value, in the 48 bytes before it); kWholeText, also a pass over the text for a word
  // (the Set path without a gated hit); kNone, nothing (a gated-Set hit proved a word).
  enum class Precheck { kNone, kLetters, kWholeText };
  // Suppress keys, the context-word precheck, then Locate.
  static constexpr uint64_t kUnknownContext = ~uint64_t{0};
  // One Redact call's view of its string.
  struct Call {
    std::string_view text, key;
    const KeyInfo& key_info;
    bool gated;               // the gated Set applies (no context word of any detector in key)
    uint64_t present;         // prefilter byte classes present in text
    uint64_t text_context;    // DetectorBit: context word in key or text (kUnknownContext: not yet)
    RedactionCounts* counts;  // may be null
  };
  void LocateIfPossible(int pattern, Call* call, Precheck precheck, std::vector<Span>* spans) const;
  // Last index + 1 of a byte of every class in `req` (0 when one is missing): no match of a
  // pattern with that requirement starts at or after the returned position.
  size_t RequiredLimit(std::string_view text, uint64_t req) const;
  void Apply(std::string* out, std::string_view value, Method m, int keep_last,
             std::string_view label, std::string_view id, std::string_view prefix) const;
  // Redacts a span found in the canonical view: the method works on its canonical text, and a
  // span that held percent-escapes gets a percent-encoded result, so a URL stays a URL.
  void ApplyCanonical(std::string* out, std::string_view original, const Detector& d) const;
  void FailClosed(std::string& text, RedactionCounts* counts) const;
  // The validated spans of `text` (prefilter classes `present`) into `spans`. False when the
  // string must fail closed.
  // (Both inlined: they run once per string on the hot path.)
  __attribute__((always_inline)) inline bool Scan(std::string_view text, std::string_view key,
                                                  const KeyInfo& key_info, uint64_t present,
                                                  RedactionCounts* counts,
                                                  std::vector<Span>* spans) const;
  __attribute__((always_inline)) inline uint64_t PresentClasses(std::string_view text) const;
  // Redact for a string with '%', '&' or non-ASCII bytes: the spans of the string itself plus
  // those of its canonical view, mapped back to original bytes.
  bool RedactWithView(std::string& text, std::string_view key, const KeyInfo& key_info,
                      uint64_t present, RedactionCounts* counts) const;
  bool FindSpans(Call* call, uint64_t cand, std::vector<Span>* spans) const;
  // Replaces each (non-overlapping, sorted) span by its detector's redaction.
  void Rewrite(std::string& text, const std::vector<Span>& spans, RedactionCounts* counts) const;
  static void Count(const Detector& d, RedactionCounts* counts) {
    if (!counts) return;
    ++counts->by_rule[d.rule_name];
    ++counts->by_method[MethodName(d.method)];
  }

  std::vector<Detector> detectors_;
  std::vector<Pattern> patterns_;
  std::unique_ptr<RE2::Set> set_;
  bool shape_pass_ = true;  // ScannerConfig::shape_pass
  // The same patterns, but each context-required one only after one of its detector's context
  // words (ASCII case-insensitive) somewhere before it. Used for a string whose key has no
  // context word of any such detector: there a context-required value needs a word in the text
  // before it (HasContext), so this Set also answers the "any context word" precheck.
  std::unique_ptr<RE2::Set> gated_set_;
  uint64_t context_detectors_ = 0;  // detectors with context-required patterns (64+: bit 63)
  ContextWords context_words_;      // of those detectors
  uint64_t id_ = NextScannerId();   // tags this scanner's entries in the per-thread key cache
  std::array<uint64_t, 256> byte_classes_{};  // bit k: the byte is in prefilter class k
  // Distinct (required classes, min length) pairs over all patterns, for the candidate test,
  // bucketed by their lowest class bit (always_ for pairs without a class).
  std::array<std::vector<std::pair<uint64_t, size_t>>, 64> prefilter_by_bit_;
  std::vector<std::pair<uint64_t, size_t>> prefilter_always_;
  uint64_t prefilter_bits_ = 0;  // union of the bucket bits
  // The same test as bit masks over patterns (used when there are at most 64): len_ok_[n] holds
  // the patterns with min_len <= n (n < 64); excluded_by_[j][v] the patterns that require a
  // class among classes 8j..8j+7 whose bit is clear in v.
  std::array<uint64_t, 64> len_ok_{};
  std::vector<std::array<uint64_t, 256>> excluded_by_;
  uint64_t without_feature_ = 0;  // patterns without a shape feature: the Set path
  std::array<uint64_t, 32> patterns_by_feature_{};  // [f]: patterns whose feature is 1 << f
  // Whether some pattern is long enough and has its classes present: bucketed by a pattern's
  // lowest class bit, so cheap for the many strings that are no candidate.
  bool PossiblyCandidate(uint64_t present, size_t n) const {
    for (const auto& [req, min_len] : prefilter_always_)
      if (n >= min_len) return true;
    for (uint64_t m = present & prefilter_bits_; m; m &= m - 1)
      for (const auto& [req, min_len] : prefilter_by_bit_[__builtin_ctzll(m)])
        if ((present & req) == req && n >= min_len) return true;
    return false;
  }
  uint64_t LongLenOk(size_t n) const {
    uint64_t ok = 0;
    for (size_t pi = 0; pi < patterns_.size(); ++pi)
      if (patterns_[pi].min_len <= n) ok |= uint64_t{1} << pi;
    return ok;
  }
  std::vector<std::string> keys_;  // normalized sensitive keys, sorted
  // Bit n of key_len_by_first_[c]: some key of length n (< 64) starts with byte c.
  std::array<uint64_t, 256> key_len_by_first_{};
  bool long_keys_ = false;  // some key is 64+ bytes: no length filter for those
  std::vector<std::string> key_rule_names_;
  std::string hmac_key_;
  Method key_method_ = Method::kReplace;
  std::string key_label_;
};

}  // namespace scrubd::rules::scanner_internal
