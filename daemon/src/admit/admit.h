// Admission: decides per event whether it may enter the scrub stage at all, from consent
// signals (opt-out, GPC, DNT, TCF), blocked event names and sampling (erasure tombstones: the
// pipeline's hooks). Pure functions of (event, policy, request signals); thread-safe. URL blocking
// is stateful (the window's page) and lives in admit/page_gate.h.
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
  kConsent,    // opt-out, GPC, DNT, missing opt-in or TCF purpose
  kBlocked,    // blocking.events (blocking.urls: PageGate)
  kSampled,    // outside sampling.session_rate
  kTombstone,  // the subject asked for erasure
};

const char* VerdictName(Verdict v);

// What the HTTP request says about the user's choices (headers and cookies).
struct RequestSignals {
  bool gpc = false;         // Sec-GPC: 1
  bool dnt = false;         // DNT: 1
  std::string tcf_consent;  // euconsent-v2 cookie, if sent
};

// Erasure tombstones are checked by the ingest pipeline's hooks (server/ingest_pipeline.h),
// which see the whole event; they give the kTombstone verdict.
Verdict Admit(const ingest::Event& event, const policies::Policy* policy,
              const RequestSignals& signals);

// True when `session_id` falls inside `rate` (deterministic: the same session always agrees).
bool InSample(std::string_view session_id, double rate);

// True when the TCF v2 TC string grants every purpose in `purposes`. Malformed strings grant
// nothing.
bool TcfGrants(std::string_view tc_string, const std::vector<int>& purposes);

}  // namespace scrubd::admit
