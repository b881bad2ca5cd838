// Scanner implementation: one RE2::Set pass per string says which patterns may fire; only
// those locate with their own RE2, validate, and compete for overlapping spans.
#include "scrubd/rules/scanner.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <set>

#include "custom.h"
#include "scanner_impl.h"

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

namespace scanner_internal {

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
  // A policy's own detectors follow the catalog (their patterns have no shape feature and no
  // fast locator, so strings that may hold them take the RE2::Set path).
  auto custom = internal::CustomSpecs(config.custom, known, config.max_mem_bytes);
  if (!custom.ok()) return custom.status();
  for (auto& d : *custom) catalog->push_back(std::move(d));

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
      if (!cp.re->ok()) return Status::InvalidConfig(spec.file + ": a pattern does not compile");
      cp.group = cp.re->NumberOfCapturingGroups() > 0 ? 1 : 0;
      cp.detector = index;
      cp.context_required = p.context_required;
      const internal::PatternRequirement pr = internal::AnalyzePattern(p.re);
      cp.min_len = pr.min_len;
      if (cp.group == 0) cp.fast = internal::FindFastLocator(p.re);
      cp.feature = internal::FeatureFor(p.re);
      cp.card_chain_skip =
          cp.fast && cp.fast == internal::CardLocator() && spec.validator == "card";
      // The Set's boundary prefix and context gate look at the match start, Locate at the value
      // start: they agree when the value starts at the match (no capture group, a validator that
      // keeps the start). The card validator may move it to a later digit group; for the
      // catalog's card pattern that group starts a match of its own.
      const bool value_at_match = cp.group == 0 && (spec.validator != "card" || cp.card_chain_skip);
      cp.prefixed = value_at_match && spec.boundary != Boundary::kNone;
      cp.gated = p.context_required && value_at_match;
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
      for (const auto& f : internal::OccurrenceForms())
        if (f.re == p.re && (f.start_kept || (!cp.prefixed && !p.context_required)))
          set_re = std::string(f.occurs);
      const std::string occurs = set_re;
      if (cp.prefixed && spec.boundary == Boundary::kDigit)
        set_re = "(?:^|[^0-9])(?:" + set_re + ")";
      if (cp.prefixed && spec.boundary == Boundary::kAlnum)
        set_re = "(?:^|[^0-9A-Za-z])(?:" + set_re + ")";
      if (cp.prefixed && spec.boundary == Boundary::kWord)
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
        // Ungated (the plain form) when the value may start after the match start: a word
        // inside the match before the value satisfies HasContext but not the gate.
        if (cp.gated) gated_re = "(?i:" + words + ")(?s:.*)(?:" + occurs + ")";
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
        return Status::InvalidConfig(spec.file + ": a pattern does not compile in the set");
      if (impl->gated_set_->Add(gated_re, &err) != set_index)
        return Status::InvalidConfig(spec.file + ": a pattern does not compile in the set");
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

}  // namespace scanner_internal

Result<std::shared_ptr<const Scanner>> Scanner::Create(const ScannerConfig& config) {
  return scanner_internal::ScannerImpl::Build(config);
}

}  // namespace scrubd::rules
