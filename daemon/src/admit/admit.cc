// Admission rules. Order matters only for the reason recorded: tombstones first (a subject's
// erasure outranks everything), then policy presence, consent (consent/gate.h), blocked event
// names, sampling (recordings only unless `sampling.applies_to: all`).
#include "admit/admit.h"

#include "ingest/decode.h"

namespace scrubd::admit {

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

Verdict Admit(const ingest::Event& ev, const policies::Policy* policy) {
  if (!policy) return Verdict::kNoPolicy;
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
