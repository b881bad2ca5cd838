// Admission: decides per event whether it may enter the scrub stage at all, from policy
// presence, blocked event names and sampling. Pure functions of (event, policy); thread-safe.
// Consent is stateful (evidence per session, the quarantine, the ledger) and lives in
// consent/gate.h; URL blocking (the window's page) in admit/page_gate.h; erasure tombstones
// are the pipeline's hooks.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"

namespace scrubd::admit {

enum class Verdict {
  kAdmit,
  kNoPolicy,   // no policy covers the token: fail closed
  kConsent,    // consent evidence denies (consent/gate.h gives this verdict)
  kBlocked,    // blocking.events (blocking.urls: PageGate)
  kSampled,    // outside sampling.session_rate
  kTombstone,  // the subject asked for erasure
};

const char* VerdictName(Verdict v);

// Erasure tombstones are checked by the ingest pipeline's hooks (server/ingest_pipeline.h),
// which see the whole event; they give the kTombstone verdict.
Verdict Admit(const ingest::Event& event, const policies::Policy* policy);

// True when `session_id` falls inside `rate` (deterministic: the same session always agrees).
bool InSample(std::string_view session_id, double rate);

}  // namespace scrubd::admit
