// Admission rules. Order matters only for the reason recorded: tombstones first (a subject's
// erasure outranks everything), then policy presence, consent, blocked event names, sampling
// (recordings only unless `sampling.applies_to: all`).
#include "admit/admit.h"

#include <boost/json.hpp>

#include "ingest/decode.h"

namespace scrubd::admit {
namespace json = boost::json;

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAdmit: return "admit";
    case Verdict::kNoPolicy: return "no_policy";
    case Verdict::kConsent: return "consent";
    case Verdict::kBlocked: return "blocked";
    case Verdict::kSampled: return "sampled";
    case Verdict::kTombstone: return "tombstone";
  }
  return "?";
}

bool InSample(std::string_view session_id, double rate) {
  if (rate >= 1.0) return true;
  if (rate <= 0.0) return false;
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : session_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // FNV's high bits are biased for ids that differ only at the end: finish with fmix64.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<double>(h >> 11) / static_cast<double>(1ull << 53) < rate;
}

bool TcfGrants(std::string_view tc, const std::vector<int>& purposes) {
  if (purposes.empty()) return true;
  std::string_view core = tc.substr(0, tc.find('.'));
  Result<std::string> bytes = ingest::Base64Decode(core);
  if (!bytes.ok()) return false;
  const std::string& b = *bytes;
  auto bit = [&](size_t i) -> int {
    if (i / 8 >= b.size()) return -1;
    return (static_cast<unsigned char>(b[i / 8]) >> (7 - i % 8)) & 1;
  };
  // Core segment: Version(6) must be 2; PurposesConsent starts at bit 152 (TCF v2.x spec).
  int version = 0;
  for (size_t i = 0; i < 6; ++i) {
    int v = bit(i);
    if (v < 0) return false;
    version = version * 2 + v;
  }
  if (version != 2) return false;
  for (int p : purposes) {
    if (bit(152 + static_cast<size_t>(p) - 1) != 1) return false;
  }
  return true;
}

namespace {

bool PropertyIs(const ingest::Event& ev, std::string_view key, bool value) {
  if (auto* p = ev.json.if_contains("properties"); p && p->is_object())
    if (auto* v = p->get_object().if_contains(key); v && v->is_bool())
      return v->get_bool() == value;
  return false;
}

std::string_view StringProperty(const ingest::Event& ev, std::string_view key) {
  if (auto* p = ev.json.if_contains("properties"); p && p->is_object())
    if (auto* v = p->get_object().if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

}  // namespace

Verdict Admit(const ingest::Event& ev, const policies::Policy* policy,
              const RequestSignals& signals) {
  if (!policy) return Verdict::kNoPolicy;
  const policies::ConsentPolicy& c = policy->consent;
  if (c.respect_gpc && signals.gpc) return Verdict::kConsent;
  if (c.respect_do_not_track && signals.dnt) return Verdict::kConsent;
  if (c.respect_opt_out && (PropertyIs(ev, "$opt_out", true) || PropertyIs(ev, "$consent", false)))
    return Verdict::kConsent;
  if (c.require_opt_in && !PropertyIs(ev, "$consent", true)) return Verdict::kConsent;
  if (!c.tcf_purposes.empty()) {
    std::string_view tc = StringProperty(ev, "$tcf_consent");
    if (tc.empty()) tc = signals.tcf_consent;
    if (!TcfGrants(tc, c.tcf_purposes)) return Verdict::kConsent;
  }
  const policies::BlockingPolicy& b = policy->blocking;
  for (const auto& name : b.events)
    if (name == ev.name) return Verdict::kBlocked;
  // blocking.urls needs the window's page: PageGate (admit/page_gate.h).
  const policies::SamplingPolicy& smp = policy->sampling;
  if (!ev.session_id.empty() && (ev.is_snapshot || !smp.recordings_only) &&
      !InSample(ev.session_id, smp.session_rate))
    return Verdict::kSampled;
  return Verdict::kAdmit;
}

}  // namespace scrubd::admit
