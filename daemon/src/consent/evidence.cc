// Reading consent evidence. Each signal yields granted or denied; a value present but not
// readable (a TC string that does not decode or is invalid, a malformed CMP cookie) is a
// denial, never a grant. Under mode none only the header signals are read.
#include "consent/evidence.h"

#include <openssl/evp.h>

#include <boost/json.hpp>

#include "consent/cookies.h"
#include "consent/tcf.h"

namespace scrubd::consent {
namespace json = boost::json;
using policies::ConsentSignal;

const char* StateName(ConsentState s) {
  switch (s) {
    case ConsentState::kGranted: return "granted";
    case ConsentState::kDenied: return "denied";
    case ConsentState::kUnknown: break;
  }
  return "unknown";
}

ConsentState StateFromName(std::string_view name) {
  if (name == "granted") return ConsentState::kGranted;
  if (name == "denied") return ConsentState::kDenied;
  return ConsentState::kUnknown;
}

namespace {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

Evidence Make(ConsentState state, const char* source, ConsentSignal signal,
              std::string_view value) {
  Evidence e;
  e.state = state;
  e.source = source;
  e.signal = policies::ConsentSignalName(signal);
  if (!value.empty()) e.value_sha256 = Sha256Hex(value);
  return e;
}

Evidence FromTcf(std::string_view value, const policies::ConsentPolicy& c) {
  Evidence e = Make(ConsentState::kDenied, "cookie", ConsentSignal::kTcf, value);
  Result<TcString> tc = DecodeTcString(value);
  if (!tc.ok() || !CheckTcfValidity(*tc).ok()) {
    e.invalid = true;
    return e;
  }
  bool granted = true;
  for (int p : c.tcf_purposes) {
    bool has = c.tcf_publisher ? tc->publisher_tc && p >= 1 && p <= 24 &&
                                     tc->publisher_tc->purposes_consent[p - 1]
                               : tc->PurposeConsent(p);
    if (has)
      e.purposes.push_back(std::to_string(p));
    else
      granted = false;
  }
  if (c.tcf_vendor_id > 0 && !tc->vendor_consents.Has(c.tcf_vendor_id)) granted = false;
  // A publisher restriction of type 0 (not allowed) on a required purpose for the vendor.
  for (const TcfPublisherRestriction& r : tc->publisher_restrictions)
    for (int p : c.tcf_purposes)
      if (r.purpose_id == p && r.restriction_type == 0 && c.tcf_vendor_id > 0 &&
          r.vendors.Has(c.tcf_vendor_id))
        granted = false;
  for (int v : tc->vendor_consents.Ids()) {
    if (e.vendors.size() >= kMaxVendors) break;
    e.vendors.push_back(v);
  }
  if (granted) e.state = ConsentState::kGranted;
  return e;
}

// A banner never answered (interactionCount=0: the groups are the site's defaults) or a choice
// awaiting reconsent says nothing about the user.
std::optional<Evidence> FromOneTrust(std::string_view value, const policies::ConsentPolicy& c) {
  Evidence e = Make(ConsentState::kDenied, "cookie", ConsentSignal::kOneTrust, value);
  Result<OneTrustConsent> ot = ParseOptanonConsent(value);
  if (!ot.ok()) {
    e.invalid = true;
    return e;
  }
  if (ot->interaction_count == 0 || ot->awaiting_reconsent == true) return std::nullopt;
  bool granted = true;
  for (const std::string& want : c.onetrust_groups) {
    bool has = false;
    for (const auto& [group, on] : ot->groups)
      if (group == want && on) has = true;
    if (has)
      e.purposes.push_back(want);
    else
      granted = false;
  }
  if (granted) e.state = ConsentState::kGranted;
  return e;
}

std::optional<Evidence> FromCookiebot(std::string_view value, const policies::ConsentPolicy& c) {
  Evidence e = Make(ConsentState::kDenied, "cookie", ConsentSignal::kCookiebot, value);
  Result<CookiebotConsent> cb = ParseCookiebotConsent(value);
  if (!cb.ok()) {
    e.invalid = true;
    return e;
  }
  if (cb->not_required) return std::nullopt;  // outside a consent region: says nothing
  bool granted = true;
  for (const std::string& cat : c.cookiebot_categories) {
    bool has = cat == "necessary"     ? cb->necessary
               : cat == "preferences" ? cb->preferences
               : cat == "statistics"  ? cb->statistics
                                      : cb->marketing;
    if (has)
      e.purposes.push_back(cat);
    else
      granted = false;
  }
  if (granted) e.state = ConsentState::kGranted;
  return e;
}

std::optional<Evidence> FromCookie(std::string_view raw, const policies::ConsentPolicy& c) {
  Evidence e = Make(ConsentState::kDenied, "cookie", ConsentSignal::kCookie, raw);
  Result<std::string> value = PercentDecode(raw, false);
  if (!value.ok()) {
    e.invalid = true;
    return e;
  }
  if (c.cookie_denied && RE2::PartialMatch(*value, *c.cookie_denied)) return e;
  if (c.cookie_granted && RE2::PartialMatch(*value, *c.cookie_granted)) {
    e.state = ConsentState::kGranted;
    return e;
  }
  return std::nullopt;  // neither pattern: no evidence
}

// Every cookie of that name counts (a site and a sibling subdomain may both set one): with
// Combine, a refusing one wins over a granting one.
template <typename F>
void EachCookie(const std::vector<std::pair<std::string_view, std::string_view>>& all,
                std::string_view name, std::vector<Evidence>* out, F evaluate) {
  for (const auto& [n, v] : all)
    if (n == name)
      if (std::optional<Evidence> e = evaluate(v)) out->push_back(std::move(*e));
}

void CookieEvidence(std::string_view header, const policies::ConsentPolicy& c,
                    std::vector<Evidence>* out) {
  if (header.empty()) return;
  const auto all = ParseCookieHeader(header);
  if (c.Uses(ConsentSignal::kTcf))
    EachCookie(all, "euconsent-v2", out,
               [&](std::string_view v) { return std::optional<Evidence>(FromTcf(v, c)); });
  if (c.Uses(ConsentSignal::kOneTrust))
    EachCookie(all, "OptanonConsent", out, [&](std::string_view v) { return FromOneTrust(v, c); });
  if (c.Uses(ConsentSignal::kCookiebot))
    EachCookie(all, "CookieConsent", out, [&](std::string_view v) { return FromCookiebot(v, c); });
  if (c.Uses(ConsentSignal::kCookie) && !c.cookie_name.empty())
    EachCookie(all, c.cookie_name, out, [&](std::string_view v) { return FromCookie(v, c); });
}

// A property value as consent: true / "granted" / "yes" / "true" / 1 grant; the opposites deny.
std::optional<ConsentState> ValueState(const json::value& v) {
  if (v.is_bool()) return v.get_bool() ? ConsentState::kGranted : ConsentState::kDenied;
  if (v.is_int64() && (v.get_int64() == 0 || v.get_int64() == 1))
    return v.get_int64() ? ConsentState::kGranted : ConsentState::kDenied;
  if (!v.is_string()) return std::nullopt;
  std::string_view s = v.get_string();
  if (s == "granted" || s == "yes" || s == "true") return ConsentState::kGranted;
  if (s == "denied" || s == "no" || s == "false" || s == "withdrawn") return ConsentState::kDenied;
  return std::nullopt;
}

}  // namespace

std::vector<Evidence> RequestEvidence(const RequestFacts& req, const policies::ConsentPolicy& c) {
  std::vector<Evidence> out;
  if (req.gpc && c.Uses(ConsentSignal::kGpc))
    out.push_back(Make(ConsentState::kDenied, "header", ConsentSignal::kGpc, "Sec-GPC: 1"));
  if (req.dnt && c.Uses(ConsentSignal::kDnt))
    out.push_back(Make(ConsentState::kDenied, "header", ConsentSignal::kDnt, "DNT: 1"));
  if (c.mode != policies::ConsentMode::kNone) CookieEvidence(req.cookie_header, c, &out);
  return out;
}

std::optional<Evidence> EventEvidence(const ingest::Event& ev, const policies::ConsentPolicy& c) {
  if (c.mode == policies::ConsentMode::kNone) return std::nullopt;
  if (c.Uses(ConsentSignal::kPosthog) && ev.name == "$opt_in") {
    Evidence e = Make(ConsentState::kGranted, "event", ConsentSignal::kPosthog, "");
    e.purposes.push_back("$opt_in");
    return e;
  }
  if (!c.Uses(ConsentSignal::kEvent) || c.event_property.empty()) return std::nullopt;
  if (!c.event_name.empty() && ev.name != c.event_name) return std::nullopt;
  const json::value* props = ev.json.if_contains("properties");
  if (!props || !props->is_object()) return std::nullopt;
  const json::value* v = props->get_object().if_contains(c.event_property);
  if (!v) return std::nullopt;
  std::optional<ConsentState> state = ValueState(*v);
  if (!state) return std::nullopt;
  Evidence e = Make(*state, "event", ConsentSignal::kEvent, "");
  e.purposes.push_back(c.event_property);
  return e;
}

std::optional<Evidence> Combine(const std::vector<Evidence>& all) {
  for (const Evidence& e : all)  // an explicit refusal first: it can be a withdrawal
    if (e.state == ConsentState::kDenied && !e.invalid) return e;
  for (const Evidence& e : all)
    if (e.state == ConsentState::kDenied) return e;
  for (const Evidence& e : all)
    if (e.state == ConsentState::kGranted) return e;
  return std::nullopt;
}

}  // namespace scrubd::consent

namespace scrubd::consent {

std::optional<Evidence> RequestReading::For(const ingest::Event& ev,
                                            const policies::Policy& policy) {
  auto it = by_policy_.find(&policy);
  if (it == by_policy_.end())
    it = by_policy_.emplace(&policy, Combine(RequestEvidence(facts_, policy.consent))).first;
  std::optional<Evidence> event = EventEvidence(ev, policy.consent);
  if (!event) return it->second;
  if (!it->second) return event;
  return Combine({*it->second, *event});  // the same as combining every piece at once
}

}  // namespace scrubd::consent
