// Scrub stage. DOM masking first (it knows the tree: inputs, blocked and masked subtrees),
// then detectors over every string left. The walk is iterative-free recursion bounded by the
// decoder's max_depth.
#include "scrub/scrub.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dom/dom_masker.h"
#include "scrub/autocapture.h"
#include "scrub/css.h"
#include "scrub/identity.h"
#include "scrub/urls.h"

namespace scrubd::scrub {
namespace json = boost::json;

void Report::Add(const Report& o) {
  counts.Add(o.counts);
  for (const auto& [k, v] : o.dropped) dropped[k] += v;
  events_in += o.events_in;
  events_out += o.events_out;
  deadline_exceeded = deadline_exceeded || o.deadline_exceeded;
}

bool Scrubber::OutOfTime(Report* report) const {
  if (deadline_ == nullptr || !deadline_->ExpiredNow()) return false;
  report->deadline_exceeded = true;
  return true;
}

namespace {

// Routing ids scrubd validated itself; skipped only where posthog puts them (a `token` key
// anywhere else is a sensitive key and is redacted).
bool IsRoutingKey(std::string_view key, bool top_level) {
  if (top_level) return key == "uuid" || key == "api_key" || key == "token";
  return key == "token" || key == "$session_id" || key == "$window_id";
}

// A value under a sensitive key is redacted whole, whatever its type: a number, boolean,
// object or array becomes the string the key's method makes of its JSON text (strings take
// the scanner's own path; null carries nothing). Returns true when `v` was replaced.
bool RedactWhole(json::value& v, std::string_view key, const rules::Scanner& scanner,
                 rules::RedactionCounts* counts, std::string& scratch) {
  if (v.is_string() || v.is_null() || key.empty() || !scanner.IsSensitiveKey(key)) return false;
  scratch = json::serialize(v);
  if (!scanner.Redact(scratch, key, counts)) scratch = rules::kFailClosedText;
  v = json::string(scratch);
  return true;
}

// One string pass: the scanner, where its counts go, a scratch buffer, and the request's
// deadline (null: unlimited), polled once per node (Deadline::Expired reads the clock every
// kStride polls). Once it has expired the walk unwinds and reports it; the caller rejects the
// whole batch, so a half-scrubbed value is never stored.
struct WalkCtx {
  const rules::Scanner& scanner;
  rules::RedactionCounts* counts;
  std::string& scratch;
  Deadline* deadline;
  bool OutOfTime() const { return deadline != nullptr && deadline->Expired(); }
};

// `name`, or `name#2`, `name#3`, ... : the first not in `taken`, which then holds it.
// `next` remembers, per base name, the first suffix not yet tried, so n colliding keys cost
// O(n) probes in all rather than O(n^2) (a body of 20,000 email-like keys).
using KeySet = std::unordered_set<std::string>;
using NextSuffix = std::unordered_map<std::string, size_t>;
std::string UniqueKey(std::string name, KeySet& taken, NextSuffix& next) {
  if (taken.insert(name).second) return name;
  size_t& n = next.try_emplace(name, 2).first->second;
  for (;; ++n) {
    std::string cand = name + "#" + std::to_string(n);
    if (taken.insert(cand).second) {
      ++n;
      return cand;
    }
  }
}

// Object keys are scanned like values (with the parent's key as context). A detected key is
// renamed to its redaction. Two keys that redact alike, or a redacted key that meets a kept
// one, stay distinct ("[EMAIL]", "[EMAIL]#2"): no value is lost and no key repeats. Kept keys
// are never renamed; order is preserved.
// False when the deadline of `c` expired (keys then left as they were: the batch is rejected).
[[nodiscard]] bool ScrubKeys(json::object& o, std::string_view parent, WalkCtx& c) {
  std::vector<std::pair<size_t, std::string>> renamed;  // (position, redacted key)
  size_t i = 0;
  for (const auto& kv : o) {
    if (c.OutOfTime()) return false;
    c.scratch.assign(kv.key().data(), kv.key().size());
    if (c.scanner.Redact(c.scratch, parent, c.counts)) renamed.emplace_back(i, c.scratch);
    ++i;
  }
  if (renamed.empty()) return true;
  KeySet taken;
  taken.reserve(o.size());
  NextSuffix next;
  i = 0;
  for (size_t r = 0; const auto& kv : o) {
    if (r < renamed.size() && renamed[r].first == i) {
      ++r;
    } else {
      taken.emplace(kv.key());
    }
    ++i;
  }
  json::object out(o.storage());
  out.reserve(o.size());
  i = 0;
  for (size_t r = 0; auto& kv : o) {
    if (r < renamed.size() && renamed[r].first == i) {
      out.emplace(UniqueKey(std::move(renamed[r++].second), taken, next), std::move(kv.value()));
    } else {
      out.emplace(kv.key(), std::move(kv.value()));
    }
    ++i;
  }
  o = std::move(out);
  return true;
}

// A number whose integer part has 9 or more digits (a card, an SSN, a phone number sent as
// an int) is scanned as its decimal text with its key; if a detector rewrites it, the value
// becomes the redacted string. Smaller numbers (rrweb ids, coordinates, sizes) are left alone,
// and so are ms timestamps, which the catalog's hard negatives keep.
void ScrubNumber(json::value& v, std::string_view key, const rules::Scanner& scanner,
                 rules::RedactionCounts* counts, std::string& scratch) {
  char buf[400];
  std::to_chars_result res{};
  if (v.is_int64()) {
    int64_t x = v.get_int64();
    if (x > -100000000 && x < 100000000) return;
    res = std::to_chars(buf, buf + sizeof buf, x);
  } else if (v.is_uint64()) {
    uint64_t x = v.get_uint64();
    if (x < 100000000) return;
    res = std::to_chars(buf, buf + sizeof buf, x);
  } else {
    double x = v.get_double();
    if (!std::isfinite(x) || std::fabs(x) < 1e8) return;
    res = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::fixed);
  }
  if (res.ec != std::errc()) {  // cannot happen for 400 bytes; fail closed regardless
    v = json::string(rules::kFailClosedText);
    return;
  }
  scratch.assign(buf, res.ptr);
  if (scanner.Redact(scratch, key, counts)) v = json::string(scratch);
}

// False when the deadline expired (the value is then partly scrubbed and must be discarded).
[[nodiscard]] bool Walk(json::value& v, std::string_view key, WalkCtx& c) {
  if (c.OutOfTime()) return false;
  if (RedactWhole(v, key, c.scanner, c.counts, c.scratch)) return true;
  switch (v.kind()) {
    case json::kind::string: {
      json::string& s = v.get_string();
      c.scratch.assign(s.data(), s.size());
      if (c.scanner.Redact(c.scratch, key, c.counts)) s = c.scratch;
      break;
    }
    case json::kind::array:
      for (json::value& e : v.get_array())
        if (!Walk(e, key, c)) return false;
      break;
    case json::kind::object: {
      json::object& o = v.get_object();
      CssFieldsHold css(o, c.scanner, c.counts);  // CSS fields: strings and urls only (css.h)
      for (auto& kv : o) {
        std::string_view k = kv.key();
        if (!Walk(kv.value(), k, c)) return false;
      }
      return ScrubKeys(o, key, c);
    }
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: ScrubNumber(v, key, c.scanner, c.counts, c.scratch); break;
    default: break;  // booleans and null: rewritten only under a sensitive key (above)
  }
  return true;
}

// An rrweb Input event (incremental source 5) whose `text` is not a string: the masker only
// rewrites strings, so such an event is dropped rather than stored unmasked.
bool InputTextNotString(const json::value& r) {
  const json::object& o = r.get_object();
  const json::value* t = o.if_contains("type");
  const json::value* d = o.if_contains("data");
  if (!t || !t->is_int64() || t->get_int64() != 3 || !d || !d->is_object()) return false;
  const json::value* src = d->get_object().if_contains("source");
  if (!src || !src->is_int64() || src->get_int64() != 5) return false;
  const json::value* text = d->get_object().if_contains("text");
  return text && !text->is_string();
}

// The detector pass over one event, routing ids skipped at the level posthog puts them, the
// rrweb events of a recording walked one by one. False when the deadline expired.
bool StringPass(ingest::Event& ev, WalkCtx& c) {
  for (auto& kv : ev.json) {
    if (IsRoutingKey(kv.key(), true)) continue;
    if (kv.key() != "properties" || !kv.value().is_object()) {
      if (!Walk(kv.value(), kv.key(), c)) return false;
      continue;
    }
    json::object& props = kv.value().get_object();
    for (auto& p : props) {
      if (IsRoutingKey(p.key(), false)) continue;
      if (ev.is_snapshot && (p.key() == "$snapshot_data" || p.key() == "$snapshot_items") &&
          p.value().is_array()) {
        for (json::value& r : p.value().get_array())
          if (!Walk(r, "", c)) return false;  // CSS events: CssFieldsHold
        continue;
      }
      if (!Walk(p.value(), p.key(), c)) return false;
    }
    if (!ScrubKeys(props, kv.key(), c)) return false;
  }
  return ScrubKeys(ev.json, "", c);
}

}  // namespace

// StyleSheetRule (8), StyleDeclaration (13) and AdoptedStyleSheet (15) carry CSS rule text,
// which detectors must never rewrite (replays break).
bool IsCssEvent(const json::value& r) {
  if (!r.is_object()) return false;
  const json::object& o = r.get_object();
  const json::value* t = o.if_contains("type");
  const json::value* d = o.if_contains("data");
  if (!t || !t->is_int64() || t->get_int64() != 3 || !d || !d->is_object()) return false;
  const json::value* src = d->get_object().if_contains("source");
  if (!src || !src->is_int64()) return false;
  int64_t s = src->get_int64();
  return s == 8 || s == 13 || s == 15;
}

bool RoutingIdLooksPersonal(const ingest::Event& ev, const rules::Scanner& scanner) {
  std::string scratch;
  rules::RedactionCounts ignored;  // a probe: the request is rejected, nothing is counted
  auto personal = [&](std::string_view id) {
    if (id.empty()) return false;
    scratch.assign(id.data(), id.size());
    return scanner.Redact(scratch, "", &ignored) || scratch != id;
  };
  if (personal(ev.token) || personal(ev.session_id) || personal(ev.window_id)) return true;
  auto copies = [&](const json::object& o, bool top_level) {
    for (const auto& kv : o)
      if (IsRoutingKey(kv.key(), top_level) && kv.value().is_string() &&
          personal(kv.value().get_string()))
        return true;
    return false;
  };
  if (copies(ev.json, true)) return true;
  const json::value* props = ev.json.if_contains("properties");
  return props && props->is_object() && copies(props->get_object(), false);
}

bool ScrubStrings(json::value& value, std::string_view key, const rules::Scanner& scanner,
                  rules::RedactionCounts* counts, Deadline* deadline) {
  std::string scratch;
  WalkCtx c{scanner, counts, scratch, deadline};
  return Walk(value, key, c);
}

bool Scrubber::ScrubEvent(ingest::Event& ev, const policies::Policy& policy, Report* report) const {
  rules::RedactionCounts& counts = report->counts;
  if (OutOfTime(report)) return false;
  if (ev.undecodable) report->dropped["undecodable"] += ev.undecodable;
  if (ev.is_snapshot) {
    json::array& arr = *ingest::SnapshotItems(ev.json);  // DecodeBatch guarantees an array
    report->events_in += arr.size() + ev.undecodable;
    if (!state_) return false;  // fail closed: no DOM state, no recording
    auto lease = state_->Acquire(ev.token, ev.session_id, ev.window_id);
    json::array kept;
    kept.reserve(arr.size());
    for (json::value& r : arr) {
      if (InputTextNotString(r)) {
        report->dropped["input_text_type"]++;
        continue;
      }
      dom::Verdict verdict =
          dom::MaskEvent(r.get_object(), policy.masking, lease.state(), &counts, deadline_);
      if (OutOfTime(report)) return false;
      if (verdict != dom::Verdict::kKeep) {
        report->dropped[verdict == dom::Verdict::kInvalid ? "bad_type" : "dom_policy"]++;
        continue;
      }
      kept.emplace_back(std::move(r));
    }
    arr = std::move(kept);
    report->events_out += arr.size();
    if (arr.empty()) return false;
  } else {
    report->events_in++;
    report->events_out++;
    ScrubAutocapture(ev.json, policy.masking, &counts);  // $elements_chain / $elements
  }
  if (!ApplyIdentity(ev, policy, &counts)) {  // before the string pass (identity.h)
    report->dropped["no_identity_key"]++;
    return false;
  }
  // masking.urls first, so the detectors see the rewritten URLs (scrub/urls.h).
  for (auto& kv : ev.json) RewriteUrls(kv.value(), kv.key(), policy.masking.urls, &counts);
  if (OutOfTime(report)) return false;
  std::string scratch;
  WalkCtx c{*policy.scanner, &counts, scratch, deadline_};
  if (!StringPass(ev, c)) {
    report->deadline_exceeded = true;  // the walk stopped inside a value: reject the batch
    return false;
  }
  return true;
}

}  // namespace scrubd::scrub
