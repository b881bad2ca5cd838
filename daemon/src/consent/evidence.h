// Consent evidence: what one request (its Cookie and privacy headers) and one posthog event say
// about the user's choice, under a policy's `consent:` section (docs/consent.md "Signals").
// Pure functions of their inputs; thread-safe. Raw cookie values never leave: only sha256.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"

namespace scrubd::consent {

enum class ConsentState { kUnknown, kGranted, kDenied };
const char* StateName(ConsentState s);  // "unknown" | "granted" | "denied"
// kUnknown for anything else.
ConsentState StateFromName(std::string_view name);

// One piece of evidence. `source` is where it came from ("event", "cookie", "header",
// "subject"); `signal` the policy's name for it (ConsentSignalName, or "subject").
struct Evidence {
  ConsentState state = ConsentState::kUnknown;
  std::string source;
  std::string signal;
  std::vector<std::string> purposes;  // granted purposes / groups / categories / properties
  std::vector<int> vendors;           // TCF: the vendors with consent (at most kMaxVendors)
  std::string value_sha256;           // of the TC string / cookie value / header; "" for events
  // Present but unreadable (a TC string that does not decode, a malformed CMP cookie): denied
  // for this session's data, but never a withdrawal (no erasure) and never the subject's state.
  bool invalid = false;
};

inline constexpr size_t kMaxVendors = 512;

// What the request carried, read once per request.
struct RequestFacts {
  std::string cookie_header;
  bool gpc = false;  // Sec-GPC: 1
  bool dnt = false;  // DNT: 1
  // Who sent it (peer address and first X-Forwarded-For hop): an event-sourced grant carries
  // to the subject's other sessions only from the same client.
  std::string client;
};

// The evidence of the request's headers and cookies under `c`, one per signal present (a cookie
// that does not decode is a denial: it never counts as consent).
std::vector<Evidence> RequestEvidence(const RequestFacts& req, const policies::ConsentPolicy& c);

// The evidence one event carries: `$opt_in` (signal posthog) or the policy's consent event /
// property (signal event). nullopt when it carries none.
std::optional<Evidence> EventEvidence(const ingest::Event& ev, const policies::ConsentPolicy& c);

// Strictest first: any denial wins (the first one), else the first grant, else nullopt.
std::optional<Evidence> Combine(const std::vector<Evidence>& all);

// One request's evidence: its headers and cookies are read (and combined) once per policy,
// then each event only adds its own. Not thread-safe: one per request.
class RequestReading {
 public:
  explicit RequestReading(RequestFacts facts) : facts_(std::move(facts)) {}
  // Combine(request evidence under `policy` + the event's), nullopt when neither says anything.
  std::optional<Evidence> For(const ingest::Event& ev, const policies::Policy& policy);
  const RequestFacts& facts() const { return facts_; }

 private:
  RequestFacts facts_;
  std::map<const policies::Policy*, std::optional<Evidence>> by_policy_;
};

}  // namespace scrubd::consent
