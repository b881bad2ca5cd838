// Scanner implementation: one RE2::Set pass per string says which patterns may fire; only
// those locate with their own RE2, validate, and compete for overlapping spans.
#include "scrubd/rules/scanner.h"

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
#include "shape.h"
#include "validators.h"

namespace scrubd::rules {

void RedactionCounts::Add(const RedactionCounts& o) {
  for (const auto& [k, v] : o.by_rule) by_rule[k] += v;
  for (const auto& [k, v] : o.by_method) by_method[k] += v;
  errors += o.errors;
  set_scans += o.set_scans;
}

uint64_t RedactionCounts::Total() const {
  uint64_t t = 0;
  for (const auto& [k, v] : by_rule) t += v;
  return t;
}

const char* MethodName(Method m) {
  switch (m) {
    case Method::kMask: return "mask";
    case Method::kReplace: return "replace";
    case Method::kRemove: return "remove";
    case Method::kHash: return "hash";
    case Method::kTruncateIp: return "truncate_ip";
  }
  return "?";
}

namespace {

using internal::Boundary;
using internal::DetectorSpec;

using internal::IsAlnum;
using internal::IsDigit;
using internal::LowerAscii;

// a[0..n) == b[0..n) for short keys, with fixed-size (inlined) loads instead of a memcmp call.
bool SameBytes(const char* a, const char* b, size_t n) {
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

bool ContainsFold(std::string_view hay, std::string_view needle) {
  if (needle.empty() || hay.size() < needle.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && LowerAscii(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

bool Touches(Boundary b, char c) {
  switch (b) {
    case Boundary::kNone: return false;
    case Boundary::kDigit: return IsDigit(c);
    case Boundary::kAlnum: return IsAlnum(c);
    case Boundary::kWord: return IsAlnum(c) || c == '_' || c == '-';
  }
  return false;
}

// Lower-cased alphanumerics of `s` (e.g. "API-Key" -> "apikey").
std::string Normalize(std::string_view s) {
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

uint64_t DetectorBit(int di) { return uint64_t{1} << std::min(di, 63); }

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
uint64_t NextScannerId() {
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

RE2::Options ReOptions(int64_t max_mem) {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  o.set_max_mem(max_mem);
  return o;
}

// The Set only answers "which patterns may fire": no submatches needed.
RE2::Options SetOptions(int64_t max_mem) {
  RE2::Options o = ReOptions(max_mem);
  o.set_never_capture(true);
  return o;
}

Result<std::shared_ptr<const Scanner>> ScannerImpl::Build(const ScannerConfig& config) {
  auto catalog = internal::LoadEmbeddedCatalog();
  if (!catalog.ok()) return catalog.status();
  std::set<std::string> known;
  for (const auto& d : *catalog) known.insert(d.id);
  for (const auto& id : config.disabled)
    if (!known.count(id))
      return Status::InvalidConfig("detectors: unknown detector id '" + id + "'");
  for (const auto& [id, o] : config.overrides)
    if (!known.count(id))
      return Status::InvalidConfig("detectors: unknown detector id '" + id + "'");
  if (config.max_mem_bytes <= 0) return Status::InvalidConfig("detectors: max_mem must be > 0");

  auto impl = std::make_shared<ScannerImpl>();
  impl->hmac_key_ = config.hmac_key;
  impl->key_method_ = config.key_method;
  impl->key_label_ = config.key_label;
  impl->shape_pass_ = config.shape_pass;
  if (config.key_method == Method::kTruncateIp)
    return Status::InvalidConfig("detectors: key_redaction cannot be truncate_ip");
  bool needs_key = config.key_method == Method::kHash;

  const RE2::Options opts = ReOptions(config.max_mem_bytes);
  impl->set_ = std::make_unique<RE2::Set>(SetOptions(config.max_mem_bytes), RE2::UNANCHORED);
  impl->gated_set_ = std::make_unique<RE2::Set>(SetOptions(config.max_mem_bytes), RE2::UNANCHORED);
  bool any_context_required = false;
  // Distinct prefilter classes, at most 63: bit 63 marks the bytes that may need a canonical
  // view (canonical.h).
  std::vector<internal::ByteSet> classes;
  internal::PrepareCanonical();
  for (unsigned c = 0; c < 256; ++c)
    if (internal::MayNeedCanonical(static_cast<unsigned char>(c)))
      impl->byte_classes_[c] |= kCanonicalClass;
  for (auto& spec : catalog.value()) {
    if (std::find(config.disabled.begin(), config.disabled.end(), spec.id) != config.disabled.end())
      continue;
    Detector d;
    d.method = spec.method;
    d.keep_last = spec.keep_last;
    d.label = spec.label;
    auto it = config.overrides.find(spec.id);
    if (it != config.overrides.end()) {
      if (!it->second.enabled) continue;
      if (it->second.has_method) d.method = it->second.method;
      if (it->second.keep_last >= 0) d.keep_last = it->second.keep_last;
      if (!it->second.label.empty()) d.label = it->second.label;
    }
    if (d.method == Method::kTruncateIp && spec.id != "ipv4" && spec.id != "ipv6")
      return Status::InvalidConfig("detectors: truncate_ip applies only to ipv4/ipv6, not '" +
                                   spec.id + "'");
    needs_key |= d.method == Method::kHash;
    d.validator = internal::FindValidator(spec.validator);
    d.rule_name = spec.id;
    const int index = static_cast<int>(impl->detectors_.size());
    bool words_added = false;  // to context_words_
    for (const auto& p : spec.patterns) {
      Pattern cp;
      cp.re = std::make_unique<RE2>(p.re, opts);
      if (!cp.re->ok())
        return Status::InvalidConfig(spec.file + ": pattern '" + p.re + "': " + cp.re->error());
      cp.group = cp.re->NumberOfCapturingGroups() > 0 ? 1 : 0;
      cp.detector = index;
      cp.context_required = p.context_required;
      const internal::PatternRequirement pr = internal::AnalyzePattern(p.re);
      cp.min_len = pr.min_len;
      if (cp.group == 0) cp.fast = internal::FindFastLocator(p.re);
      cp.feature = internal::FeatureFor(p.re);
      cp.prefixed = cp.group == 0 && spec.boundary != Boundary::kNone;
      cp.card_chain_skip =
          cp.fast && cp.fast == internal::CardLocator() && spec.validator == "card";
      for (const auto& bs : pr.sets) {
        size_t k = std::find(classes.begin(), classes.end(), bs) - classes.begin();
        if (k == classes.size()) {
          if (classes.size() == 63) continue;  // dropping a requirement stays sound
          classes.push_back(bs);
          for (unsigned c = 0; c < 256; ++c)
            if (bs.Has(c)) impl->byte_classes_[c] |= uint64_t{1} << k;
        }
        cp.req |= uint64_t{1} << k;
      }
      std::string err;
      // The prefilter can demand the boundary itself (no lookbehind in RE2, but a leading
      // non-boundary class is equivalent for a yes/no answer), so values inside longer runs
      // never wake the locate step.
      std::string set_re = p.re;
      for (const auto& f : internal::OccurrenceForms()) {
        const bool prefixed = cp.group == 0 && spec.boundary != Boundary::kNone;
        if (f.re == p.re && (f.start_kept || (!prefixed && !p.context_required)))
          set_re = std::string(f.occurs);
      }
      const std::string occurs = set_re;
      if (cp.group == 0 && spec.boundary == Boundary::kDigit)
        set_re = "(?:^|[^0-9])(?:" + set_re + ")";
      if (cp.group == 0 && spec.boundary == Boundary::kAlnum)
        set_re = "(?:^|[^0-9A-Za-z])(?:" + set_re + ")";
      if (cp.group == 0 && spec.boundary == Boundary::kWord)
        set_re = "(?:^|[^0-9A-Za-z_-])(?:" + set_re + ")";
      // The Set runs to the end of the text anyway (many-match); a pattern that completes only
      // at the end of the text matches exactly when the pattern occurs somewhere, but the DFA
      // records it once instead of at every byte where a match could end (a digit run is a
      // match state for a dozen patterns at once).
      std::string gated_re = set_re;
      if (p.context_required) {
        std::string words;
        for (const auto& w : spec.context_words) {
          if (w.empty()) continue;
          if (!words.empty()) words += '|';
          words += RE2::QuoteMeta(w);
        }
        // No boundary prefix here: the context word may end right where the value starts
        // ("ss#123456789"), and then no byte is left between them for the prefix to match.
        // Dropping it only makes the gated Set answer "may fire" more often.
        gated_re = "(?i:" + words + ")(?s:.*)(?:" + occurs + ")";
        if (!words_added)
          for (const auto& w : spec.context_words) impl->context_words_.Add(w, index);
        words_added = true;
        any_context_required = true;
        impl->context_detectors_ |= DetectorBit(index);
      }
      set_re = "(?:" + set_re + ")(?s:.*)\\z";
      gated_re = "(?:" + gated_re + ")(?s:.*)\\z";
      int set_index = impl->set_->Add(set_re, &err);
      if (set_index != static_cast<int>(impl->patterns_.size()))
        return Status::InvalidConfig(spec.file + ": pattern '" + p.re + "': " + err);
      if (impl->gated_set_->Add(gated_re, &err) != set_index)
        return Status::InvalidConfig(spec.file + ": pattern '" + p.re + "': " + err);
      impl->patterns_.push_back(std::move(cp));
    }
    d.spec = std::move(spec);
    impl->detectors_.push_back(std::move(d));
  }
  for (size_t pi = 0; pi < impl->patterns_.size() && pi < 64; ++pi) {
    const Pattern& p = impl->patterns_[pi];
    const uint64_t bit = uint64_t{1} << pi;
    for (size_t n = 0; n < 64; ++n)
      if (p.min_len <= n) impl->len_ok_[n] |= bit;
    for (uint64_t m = p.req; m; m &= m - 1) {
      const int k = __builtin_ctzll(m);
      if (impl->excluded_by_.size() <= static_cast<size_t>(k / 8))
        impl->excluded_by_.resize(k / 8 + 1, std::array<uint64_t, 256>{});
      for (unsigned v = 0; v < 256; ++v)
        if (!(v >> (k % 8) & 1)) impl->excluded_by_[k / 8][v] |= bit;
    }
    if (!p.feature) impl->without_feature_ |= bit;
    for (int f = 0; f < 32; ++f)
      if (p.feature >> f & 1) impl->patterns_by_feature_[f] |= bit;
  }
  for (const Pattern& p : impl->patterns_) {
    const std::pair<uint64_t, size_t> f{p.req, p.min_len};
    auto& bucket =
        p.req ? impl->prefilter_by_bit_[__builtin_ctzll(p.req)] : impl->prefilter_always_;
    if (std::find(bucket.begin(), bucket.end(), f) == bucket.end()) bucket.push_back(f);
    if (p.req) impl->prefilter_bits_ |= p.req & (~p.req + 1);
  }
  if (needs_key && impl->hmac_key_.empty())
    return Status::InvalidConfig("detectors: the hash method needs an hmac_key");
  if (!any_context_required) impl->gated_set_.reset();
  impl->context_words_.Build();
  // Context letter classes: a text without any word's rarest letter holds no context word.
  for (size_t di = 0; di < impl->detectors_.size(); ++di) {
    Detector& d = impl->detectors_[di];
    if (!(impl->context_detectors_ & DetectorBit(static_cast<int>(di)))) continue;
    internal::ByteSet letters;
    bool every_word = true;
    for (const auto& w : d.spec.context_words) {
      static constexpr std::string_view kRarestFirst = "zqxjkvbpygfwmucldrhsnioate";
      size_t best = kRarestFirst.size();
      for (char c : w) best = std::min(best, kRarestFirst.find(LowerAscii(c)));
      if (best == kRarestFirst.size()) {
        every_word = false;
      } else {
        letters.Add(static_cast<unsigned char>(kRarestFirst[best]));
        letters.Add(static_cast<unsigned char>(kRarestFirst[best] - 'a' + 'A'));
      }
    }
    if (!every_word || classes.size() == 63) continue;
    const size_t k = classes.size();
    classes.push_back(letters);
    for (unsigned c = 0; c < 256; ++c)
      if (letters.Has(c)) impl->byte_classes_[c] |= uint64_t{1} << k;
    d.letter_class = uint64_t{1} << k;
  }
  if (impl->patterns_.empty()) {
    impl->set_.reset();
    impl->gated_set_.reset();
  } else if (!impl->set_->Compile() || (impl->gated_set_ && !impl->gated_set_->Compile())) {
    return Status::Unavailable("detectors: RE2::Set does not fit max_mem (" +
                               std::to_string(config.max_mem_bytes) + " bytes)");
  }
  std::set<std::string> keys(std::begin(kSensitiveKeys), std::end(kSensitiveKeys));
  for (const auto& k : config.extra_sensitive_keys) {
    std::string n = Normalize(k);
    if (!n.empty()) keys.insert(n);
  }
  impl->keys_.assign(keys.begin(), keys.end());
  for (const auto& k : impl->keys_) {
    if (k.size() >= 64)
      impl->long_keys_ = true;
    else
      impl->key_len_by_first_[static_cast<unsigned char>(k[0])] |= uint64_t{1} << k.size();
  }
  for (const auto& k : impl->keys_) impl->key_rule_names_.push_back("key:" + k);
  return std::shared_ptr<const Scanner>(std::move(impl));
}

// Splits `key` into words (separators, camelCase, ACRONYMWord) and looks up runs of one to
// three adjacent words, joined and lower-cased, in the sorted key table. No allocation.
const std::string* ScannerImpl::MatchKey(std::string_view key) const {
  if (key.empty()) return nullptr;
  // Words are lowered once into `low`, back to back, so a run of adjacent words is one slice.
  char low[32 * 97];
  uint16_t starts[33];
  size_t nw = 0, nl = 0;
  size_t i = 0;
  while (i < key.size() && nw < 32) {
    while (i < key.size() && !IsAlnum(key[i])) ++i;
    size_t start = i;
    while (i < key.size() && IsAlnum(key[i])) {
      ++i;
      if (i < key.size() && key[i] >= 'A' && key[i] <= 'Z') {
        char prev = key[i - 1];
        bool next_lower = i + 1 < key.size() && key[i + 1] >= 'a' && key[i + 1] <= 'z';
        if ((prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z' && next_lower)) break;
      }
    }
    if (i > start) {
      // Runs longer than 96 bytes are never looked up, so 97 bytes of a word are enough.
      starts[nw++] = static_cast<uint16_t>(nl);
      const size_t end = std::min(i, start + 97);
      for (size_t k = start; k < end; ++k) low[nl++] = LowerAscii(key[k]);
    }
  }
  starts[nw] = static_cast<uint16_t>(nl);
  for (size_t w = 0; w < nw; ++w) {
    for (size_t run = 0; run < 3 && w + run < nw; ++run) {
      const size_t len = starts[w + run + 1] - starts[w];
      if (len > 96) break;
      const bool maybe =
          len >= 64 ? long_keys_
                    : (key_len_by_first_[static_cast<unsigned char>(low[starts[w]])] >> len) & 1;
      if (!maybe) continue;
      std::string_view joined(low + starts[w], len);
      auto it = std::lower_bound(keys_.begin(), keys_.end(), joined,
                                 [](const std::string& a, std::string_view b) { return a < b; });
      if (it != keys_.end() && *it == joined) return &key_rule_names_[it - keys_.begin()];
    }
  }
  return nullptr;
}

ScannerImpl::KeyInfo ScannerImpl::MatchKeyInfo(std::string_view key) const {
  KeyInfo info;
  info.rule = MatchKey(key);
  info.context = context_words_.Find(key, context_detectors_);
  if (context_detectors_ >> 63) info.context |= DetectorBit(63);  // 63+: always look
  for (size_t di = 0; di < detectors_.size() && di < 63; ++di)
    for (const auto& s : detectors_[di].spec.suppress_keys)
      if (ContainsFold(key, s)) info.suppressed |= DetectorBit(static_cast<int>(di));
  return info;
}

ScannerImpl::KeyInfo ScannerImpl::MatchKeyCached(std::string_view key) const {
  if (key.empty()) return {};
  if (key.size() > 40) return MatchKeyInfo(key);
  struct Entry {
    uint64_t owner = 0;
    size_t size = 0;
    char key[40];
    KeyInfo info;
  };
  thread_local std::array<Entry, 64> cache;
  const unsigned char* k = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  const size_t h = (n * 31 + k[0] * 7 + k[n - 1] * 13 + k[n >> 1] * 3) & 63;
  Entry& e = cache[h];
  if (e.owner == id_ && e.size == n && SameBytes(e.key, key.data(), n)) return e.info;
  e.info = MatchKeyInfo(key);
  e.owner = id_;
  e.size = n;
  std::memcpy(e.key, key.data(), n);
  return e.info;
}

bool ScannerImpl::HasContext(int di, std::string_view text, size_t begin, const Call& call) const {
  constexpr size_t kWindow = 48;
  const size_t from = begin > kWindow ? begin - kWindow : 0;
  const std::string_view before = text.substr(from, begin - from);
  if (di < 63) {
    const uint64_t bit = DetectorBit(di);
    return (call.key_info.context & bit) || (context_words_.Find(before, bit) & bit);
  }
  for (const auto& w : detectors_[di].spec.context_words)
    if (ContainsFold(call.key, w) || ContainsFold(before, w)) return true;
  return false;
}

void ScannerImpl::LocateIfPossible(int pi, Call* call, Precheck precheck,
                                   std::vector<Span>* spans) const {
  const Pattern& p = patterns_[pi];
  const Detector& d = detectors_[p.detector];
  const uint64_t bit = DetectorBit(p.detector);
  if (p.detector < 63) {
    if (call->key_info.suppressed & bit) return;
  } else {
    for (const auto& s : d.spec.suppress_keys)
      if (ContainsFold(call->key, s)) return;
  }
  if (p.context_required && precheck != Precheck::kNone && !(call->key_info.context & bit)) {
    // Cheap precheck: no context word in the key or anywhere in the text means no located
    // value can have one. A text without any word's rarest letter has none (one prefilter
    // class per detector). On the Set path one pass then finds the words of every context
    // detector; the shape path leaves the rest to HasContext on each located value.
    if (!(call->present & d.letter_class)) return;
    if (precheck == Precheck::kWholeText) {
      if (call->text_context == kUnknownContext)
        call->text_context =
            call->key_info.context |
            context_words_.Find(call->text, context_detectors_ & ~call->key_info.context);
      if (!(call->text_context & bit)) return;
    }
  }
  Locate(pi, *call, spans);
}

void ScannerImpl::Locate(int pi, const Call& call, std::vector<Span>* spans) const {
  const std::string_view text = call.text;
  const bool gated = call.gated;
  const Pattern& p = patterns_[pi];
  const Detector& d = detectors_[p.detector];
  re2::StringPiece sub[2];
  size_t pos = 0;
  int guard = 0;
  // A fast locator's final miss is cheap; an RE2 call is not, so bound RE2 by the last byte
  // of each required class.
  const size_t limit = p.fast ? text.size() : RequiredLimit(text, p.req);
  while (pos < limit && pos + p.min_len <= text.size() && ++guard < 100000) {
    if (p.fast) {
      size_t fb, fe;
      if (!p.fast(text, pos, &fb, &fe)) return;
      sub[0] = re2::StringPiece(text.data() + fb, fe - fb);
    } else if (!p.re->Match(text, pos, text.size(), RE2::UNANCHORED, sub, 1 + p.group)) {
      return;
    }
    const size_t mb = static_cast<size_t>(sub[0].data() - text.data());
    const size_t me = mb + sub[0].size();
    const re2::StringPiece& v = sub[p.group];
    size_t b = v.data() ? static_cast<size_t>(v.data() - text.data()) : mb;
    size_t e = b + v.size();
    bool ok = e > b;
    if (ok && d.validator) {
      ok = d.validator(text, &b, &e);
      if (!ok && p.card_chain_skip) {
        // The chain continues past `me` only when the locator stopped at its 18-repeat cap.
        const bool continues =
            me < text.size() &&
            (IsDigit(text[me]) || ((text[me] == ' ' || text[me] == '-') && me + 1 < text.size() &&
                                   IsDigit(text[me + 1])));
        if (!continues) {
          pos = me;
          continue;
        }
      }
    }
    if (ok) {
      ok = !(b > 0 && Touches(d.spec.boundary, text[b - 1])) &&
           !(e < text.size() && Touches(d.spec.boundary, text[e]));
    }
    if (ok && p.context_required) ok = HasContext(p.detector, text, b, call);
    if (ok) {
      // The Set reports this pattern when its (occurrence form of the) match at mb satisfies
      // the Set's start prefix, or, gated, when a context word ends before it: HasContext found
      // one in the bytes before b, which is before mb only when b == mb.
      const bool proven = p.context_required && gated
                              ? b == mb
                              : !p.prefixed || mb == 0 || !Touches(d.spec.boundary, text[mb - 1]);
      spans->push_back({b, e, p.detector, pi, proven});
      pos = std::max(e, mb + 1);
      continue;
    }
    // Rejected: retry from the next token start after the match start (keeps it linear for
    // long runs, and still finds a value that starts inside a rejected overreach).
    size_t next = mb + 1;
    while (next < me && IsAlnum(text[next - 1])) ++next;
    pos = next;
  }
}

size_t ScannerImpl::RequiredLimit(std::string_view text, uint64_t req) const {
  size_t limit = text.size();
  while (req) {
    const uint64_t bit = req & (~req + 1);
    req &= req - 1;
    size_t j = text.size();
    while (j > 0 && !(byte_classes_[static_cast<unsigned char>(text[j - 1])] & bit)) --j;
    limit = std::min(limit, j);
    if (limit == 0) break;
  }
  return limit;
}

void ScannerImpl::Apply(std::string* out, std::string_view value, Method m, int keep_last,
                        std::string_view label, std::string_view id,
                        std::string_view prefix) const {
  switch (m) {
    case Method::kMask: internal::AppendMask(out, value, keep_last); return;
    case Method::kReplace: out->append(label); return;
    case Method::kRemove: return;
    case Method::kHash: internal::AppendHash(out, value, id, prefix, hmac_key_); return;
    case Method::kTruncateIp:
      if (!internal::AppendTruncatedIp(out, value)) out->append(label);
      return;
  }
}

void ScannerImpl::FailClosed(std::string& text, RedactionCounts* counts) const {
  text.assign(kFailClosedText);
  if (counts) ++counts->errors;
}

// Which patterns may fire, and their validated spans. False when the string must fail closed
// (the RE2::Set reported an error).
bool ScannerImpl::FindSpans(Call* call, uint64_t cand, std::vector<Span>* spans) const {
  const std::string_view text = call->text;
  thread_local std::vector<int> hits;
  const RE2::Set& set = call->gated ? *gated_set_ : *set_;
  // Shape path: one pass records the string's digit runs and literal anchors, and one loop over
  // the runs sets feature bits (shape.h); a candidate pattern whose feature is clear cannot
  // match, the others locate. It replaces the RE2::Set when every candidate pattern has a
  // feature; the Set still runs when a located value does not prove that the Set would have
  // reported its pattern, and drops the spans of patterns it does not report, so the output
  // is the Set path's.
  bool shape = shape_pass_ && patterns_.size() <= 64 && (cand & without_feature_) == 0;
  uint64_t located = 0;
  if (shape) {
    thread_local internal::Shape sh;
    internal::ComputeShape(text, &sh);
    shape = !sh.overflow;
    if (shape) {
      uint64_t may = 0;
      for (uint32_t f = internal::Features(text, sh); f; f &= f - 1)
        may |= patterns_by_feature_[__builtin_ctz(f)];
      located = cand & may;
    }
  }
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  if (shape) {
    for (uint64_t m = located; m; m &= m - 1)
      LocateIfPossible(__builtin_ctzll(m), call, Precheck::kLetters, spans);
    bool proven = true;
    for (const Span& sp : *spans) proven &= sp.proven;
    if (proven) return true;
    if (call->counts) ++call->counts->set_scans;
    if (!set.Match(text, &hits, &info) && info.kind != RE2::Set::kNoError) return false;
    std::sort(hits.begin(), hits.end());
    spans->erase(std::remove_if(spans->begin(), spans->end(),
                                [](const Span& sp) {
                                  return !std::binary_search(hits.begin(), hits.end(), sp.pattern);
                                }),
                 spans->end());
    return true;
  }
  // One RE2::Set pass says which patterns may fire.
  if (call->counts) ++call->counts->set_scans;
  if (!set.Match(text, &hits, &info)) return info.kind == RE2::Set::kNoError;
  std::sort(hits.begin(), hits.end());
  // A gated-Set hit already proves a context word before a match: no precheck.
  for (int pi : hits)
    LocateIfPossible(pi, call, call->gated ? Precheck::kNone : Precheck::kWholeText, spans);
  return true;
}

// Overlaps: the longer validated span wins; ties go to a span of the string itself (not of its
// canonical view), then the earlier start, then catalog order.
// Leaves the kept spans sorted by start.
void ResolveOverlaps(std::vector<Span>* spans) {
  if (spans->size() < 2) return;
  std::sort(spans->begin(), spans->end(), [](const Span& a, const Span& b) {
    size_t la = a.end - a.begin, lb = b.end - b.begin;
    if (la != lb) return la > lb;
    if (a.canonical != b.canonical) return b.canonical;  // the string's own match first
    if (a.begin != b.begin) return a.begin < b.begin;
    return a.detector < b.detector;
  });
  size_t kept = 0;
  for (size_t i = 0; i < spans->size(); ++i) {
    bool overlaps = false;
    for (size_t j = 0; j < kept && !overlaps; ++j)
      overlaps = (*spans)[i].begin < (*spans)[j].end && (*spans)[j].begin < (*spans)[i].end;
    if (!overlaps) (*spans)[kept++] = (*spans)[i];
  }
  spans->resize(kept);
  std::sort(spans->begin(), spans->end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
}

void ScannerImpl::Rewrite(std::string& text, const std::vector<Span>& spans,
                          RedactionCounts* counts) const {
  // Only ASCII masks: rewrite in place (same length), no output buffer.
  bool in_place = true;
  for (const Span& s : spans)
    in_place &= detectors_[s.detector].method == Method::kMask && !s.canonical;
  if (in_place) {
    size_t done = 0;
    for (; done < spans.size(); ++done) {
      const Span& s = spans[done];
      if (!internal::MaskAsciiInPlace(text.data() + s.begin, s.end - s.begin,
                                      detectors_[s.detector].keep_last))
        break;
    }
    if (done == spans.size()) {
      for (const Span& s : spans) Count(detectors_[s.detector], counts);
      return;
    }
    // A non-ASCII span: spans before it are masked already, and masking is idempotent
    // (a '*' stays a '*'), so the general path below gives the same text.
  }
  thread_local std::string out;
  out.clear();
  size_t pos = 0;
  for (const Span& s : spans) {
    const Detector& d = detectors_[s.detector];
    out.append(text, pos, s.begin - pos);
    const std::string_view value = std::string_view(text).substr(s.begin, s.end - s.begin);
    if (s.canonical) {
      ApplyCanonical(&out, value, d);
    } else {
      Apply(&out, value, d.method, d.keep_last, d.label, d.spec.id, d.spec.hash_prefix);
    }
    pos = s.end;
    Count(d, counts);
  }
  out.append(text, pos, std::string::npos);
  text.assign(out);  // reuses text's buffer; no allocation when the result is not longer
}

bool ScannerImpl::Redact(std::string& text, std::string_view key, RedactionCounts* counts) const {
  if (text.empty()) return false;
  const KeyInfo key_info = MatchKeyCached(key);
  if (const std::string* rule = key_info.rule) {
    std::string out;
    Apply(&out, text, key_method_, 0, key_label_, "key", "key_");
    if (out == text) return false;
    text.swap(out);
    if (counts) {
      ++counts->by_rule[*rule];
      ++counts->by_method[MethodName(key_method_)];
    }
    return true;
  }
  if (!set_) return false;
  // Prefilter: one pass over the bytes; a string that misses every pattern's required byte
  // classes (or is too short for all of them) cannot match, and never reaches RE2.
  const uint64_t present = PresentClasses(text);
  if (present & kCanonicalClass) return RedactWithView(text, key, key_info, present, counts);
  thread_local std::vector<Span> spans;
  spans.clear();
  if (!Scan(text, key, key_info, present, counts, &spans)) {
    FailClosed(text, counts);
    return true;
  }
  if (spans.empty()) return false;
  ResolveOverlaps(&spans);
  Rewrite(text, spans, counts);
  return true;
}

inline uint64_t ScannerImpl::PresentClasses(std::string_view text) const {
  // Unrolled with two accumulators: this loop touches every byte of every string.
  const unsigned char* t = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  uint64_t p0 = 0, p1 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    p0 |= byte_classes_[t[i]] | byte_classes_[t[i + 1]];
    p1 |= byte_classes_[t[i + 2]] | byte_classes_[t[i + 3]];
  }
  for (; i < n; ++i) p0 |= byte_classes_[t[i]];
  return p0 | p1;
}

inline bool ScannerImpl::Scan(std::string_view text, std::string_view key, const KeyInfo& key_info,
                              uint64_t present, RedactionCounts* counts,
                              std::vector<Span>* spans) const {
  if (!PossiblyCandidate(present, text.size())) return true;
  // The candidate patterns as a bit mask (catalogs of up to 64 patterns; larger ones take the
  // Set path): those long enough, less the ones that need a byte class the string lacks,
  // looked up 8 classes at a time.
  uint64_t cand = 0;
  if (patterns_.size() <= 64) {
    const size_t n = text.size();
    cand = n < 64 ? len_ok_[n] : LongLenOk(n);
    for (size_t j = 0; j < excluded_by_.size() && cand; ++j)
      cand &= ~excluded_by_[j][(present >> (8 * j)) & 0xFF];
    if (!cand) return true;
  }
  // Without a context word in the key, the gated Set also settles the context precheck.
  const bool gated = gated_set_ && (key_info.context & context_detectors_) == 0;
  Call call{text, key, key_info, gated, present, kUnknownContext, counts};
  return FindSpans(&call, cand, spans);
}

bool ScannerImpl::RedactWithView(std::string& text, std::string_view key, const KeyInfo& key_info,
                                 uint64_t present, RedactionCounts* counts) const {
  thread_local std::vector<Span> spans, view_spans;
  thread_local internal::CanonicalView view;
  spans.clear();
  view_spans.clear();
  if (!Scan(text, key, key_info, present, counts, &spans)) {
    FailClosed(text, counts);
    return true;
  }
  internal::BuildCanonicalView(text, /*fold_letters=*/true, &view);
  // Folding alone matters only to the email pattern, which needs an '@'.
  if (view.decoded || (view.folded && view.text.find('@') != std::string::npos)) {
    if (!Scan(view.text, key, key_info, PresentClasses(view.text), counts, &view_spans)) {
      FailClosed(text, counts);
      return true;
    }
    for (Span s : view_spans) {
      s.begin = view.begin[s.begin];
      s.end = view.end[s.end - 1];
      s.canonical = true;
      spans.push_back(s);
    }
  }
  internal::ReleaseLargeBuffers(&view);
  if (spans.empty()) return false;
  ResolveOverlaps(&spans);
  Rewrite(text, spans, counts);
  return true;
}

void ScannerImpl::ApplyCanonical(std::string* out, std::string_view original,
                                 const Detector& d) const {
  const std::string value = internal::CanonicalText(original);
  if (!internal::HasPercentEscape(original)) {
    Apply(out, value, d.method, d.keep_last, d.label, d.spec.id, d.spec.hash_prefix);
    return;
  }
  std::string redacted;
  Apply(&redacted, value, d.method, d.keep_last, d.label, d.spec.id, d.spec.hash_prefix);
  internal::AppendPercentEncoded(out, redacted);
}

}  // namespace

Result<std::shared_ptr<const Scanner>> Scanner::Create(const ScannerConfig& config) {
  return ScannerImpl::Build(config);
}

}  // namespace scrubd::rules
