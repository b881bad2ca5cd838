// Matching half of the scanner (scanner_impl.h): sensitive-key lookup, candidate location
// and validation, overlap resolution, rewriting and the canonical view; building is in
// scanner.cc.
#include "scanner_impl.h"

namespace scrubd::rules::scanner_internal {

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
      const bool proven = p.gated && gated
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
  // A gated-Set hit of a gated pattern already proves a context word before a match: no
  // precheck.
  for (int pi : hits)
    LocateIfPossible(pi, call,
                     call->gated && patterns_[pi].gated ? Precheck::kNone : Precheck::kWholeText,
                     spans);
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

}  // namespace scrubd::rules::scanner_internal
