// The policy model and its compiled, immutable snapshot (PolicySet). Loading parses YAML,
// validates every section (errors carry file:line:col) and compiles regexes and selectors
// once. A PolicySet is never mutated after load: share it by shared_ptr; reload swaps it.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/masking.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::policies {

// `consent:` which consent evidence counts and what scrubd does without it (docs/consent.md).
// Evidence comes from posthog-js events, the site's consent event or property, consent-platform
// cookies (TCF euconsent-v2, OneTrust, Cookiebot, a configured cookie) and request headers.
enum class ConsentMode {
  kNone,    // consent evidence is not consulted (header opt-outs still apply when listed)
  kOptOut,  // admitted unless evidence denies
  kOptIn,   // admitted only with evidence that grants; before it, held up to wait_seconds
};
enum class ConsentWithdrawal { kStop, kErase };

// The evidence sources `consent.signals` can list.
enum class ConsentSignal { kPosthog, kEvent, kTcf, kOneTrust, kCookiebot, kCookie, kGpc, kDnt };
const char* ConsentSignalName(ConsentSignal s);

struct ConsentPolicy {
  ConsentMode mode = ConsentMode::kOptOut;
  std::vector<ConsentSignal> signals;  // defaulted by the loader (ParseConsentSection)
  bool Uses(ConsentSignal s) const;
  // `event:` a site's own consent event or registered property: its boolean (or
  // "granted"/"denied", "yes"/"no") grants or denies. Empty name: any event.
  std::string event_name;
  std::string event_property;
  // `tcf:` the euconsent-v2 cookie.
  std::vector<int> tcf_purposes{1};  // every one must be consented
  int tcf_vendor_id = 0;             // 0: none; else this vendor's consent is required too
  bool tcf_publisher = false;        // read the publisher TC segment's purposes instead
  std::vector<std::string> onetrust_groups{"C0002"};  // OptanonConsent groups that must be :1
  std::vector<std::string> cookiebot_categories{"statistics"};  // CookieConsent flags
  // `cookie:` a configured cookie: RE2 over its percent-decoded value. Denied is tried first.
  std::string cookie_name;
  std::shared_ptr<const RE2> cookie_granted, cookie_denied;
  int64_t wait_seconds = 60;  // opt_in: how long batches wait for evidence
  ConsentWithdrawal on_withdrawal = ConsentWithdrawal::kStop;
};

// Parses `consent:` (policies/src/consent_section.cc). Errors carry file:line:col; the keys of
// the first consent section (respect_opt_out, require_opt_in, tcf_purposes) map or say what
// replaced them.
Status ParseConsentSection(const std::string& file, const YAML::Node& n, ConsentPolicy* out);

// `blocking:` events and pages that are never stored.
struct BlockingPolicy {
  std::vector<std::string> events;               // exact event names ("$autocapture")
  std::vector<std::shared_ptr<const RE2>> urls;  // RE2 over $current_url / Meta href
  std::vector<std::string> url_patterns;         // source text, for reporting
  bool unknown_url_drop = true;   // `unknown_url: drop | allow`: a window whose page is unknown
  uint64_t urls_fingerprint = 0;  // hash of url_patterns; per-window verdicts are made under it
};

// `sampling:` deterministic by session id, so a session is all in or all out.
struct SamplingPolicy {
  double session_rate = 1.0;
  bool recordings_only = true;  // `applies_to: recordings | all`: also thin analytics events?
};

// `retention:` how long stored recordings and events are kept (docs/retention.md). A session
// expires at its last event's time plus the days of the first rule that matches it, else
// `days`. Every condition a rule gives must hold (they are ANDed); each list matches any entry.
struct RetentionRule {
  std::string name;  // `name:`, else "rules[N]" (0-based): what purge reports and audits
  int64_t days = 0;
  std::vector<std::string> tokens;  // `match.token`: project tokens
  std::vector<std::string> events;  // `match.event`: an event name seen in the session
  std::shared_ptr<const RE2> url;   // `match.url`: RE2 over a page URL the session visited
  std::string url_pattern;          // its source text
  struct Property {
    std::string name;                  // a top-level key of `properties` ($set / $set_once: person)
    std::shared_ptr<const RE2> value;  // RE2 over its value as text; null: the key is present
    bool person = false;               // `match.person_property`: $set / $set_once keys
  };
  std::vector<Property> properties;  // `match.property` / `match.person_property`
};

struct RetentionPolicy {
  int64_t days = 30;
  std::vector<RetentionRule> rules;  // ordered: the first that matches sets the days
  // The shortest of `days` and every rule's days: a session younger than this cannot expire.
  int64_t MinDays() const;
};

// Parses `retention:` (policies/src/retention_section.cc). Errors carry file:line:col.
Status ParseRetentionSection(const std::string& file, const YAML::Node& n, RetentionPolicy* out);

// `erasure:` subject erasure (docs/subjects.md): how long tombstones keep an erased subject's
// later data out.
struct ErasurePolicy {
  int64_t suppress_days = 30;
};

// `identifiers:`, `person_properties:` and `client_ip:` (docs/identifiers.md): what identifies
// a person in posthog traffic, and what scrubd does with it before the string pass.
enum class IdentifierMode { kPseudonymize, kKeep, kRedact };
enum class PersonPropertyMethod { kRedact, kPseudonymize };
// Ordered from strictest to loosest: a batch mixing policies uses the smallest.
enum class ClientIpMode { kDrop = 0, kTruncate = 1, kPass = 2 };

struct PersonPropertiesPolicy {
  // $set / $set_once keys kept as they are (the detectors still run on them); an entry ending
  // in '*' is a prefix ("$initial_*").
  std::vector<std::string> keep;
  PersonPropertyMethod method = PersonPropertyMethod::kRedact;  // for every other key
  bool Keeps(std::string_view key) const;
};

struct IdentityPolicy {
  IdentifierMode identifiers = IdentifierMode::kPseudonymize;
  PersonPropertiesPolicy person_properties;  // `keep` defaults to kDefaultPersonPropertyKeep
  ClientIpMode client_ip = ClientIpMode::kTruncate;
  // Master key of the per-project pseudonym keys (LoadOptions::identity_key, else hmac_key).
  // Secret: never logged. Empty: pseudonymisation fails closed (the event is dropped).
  std::string master_key;
};

// posthog-js's automatic person properties (device, browser, campaign, first page): kept by
// default, since PostHog's person views and flag targeting rely on them and they name no one.
extern const std::vector<std::string> kDefaultPersonPropertyKeep;

struct Policy {
  int version = 1;
  std::string name;
  std::string file;    // where it came from ("<embedded>/default.yaml" for the built-in)
  std::string sha256;  // hex digest of the file bytes, for the audit log
  std::vector<std::string> applies_to;  // project tokens; "*" matches every token
  MaskingPolicy masking;
  std::shared_ptr<const rules::Scanner> scanner;  // compiled `detectors:` section
  ConsentPolicy consent;
  BlockingPolicy blocking;
  SamplingPolicy sampling;
  RetentionPolicy retention;
  ErasurePolicy erasure;
  IdentityPolicy identity;

  bool AppliesTo(std::string_view token) const;
};

// An immutable set of compiled policies. Lookup is by project token: an exact token match
// wins over "*". A token no policy covers gets nullptr: the caller drops (fail closed).
class PolicySet {
 public:
  explicit PolicySet(std::vector<std::shared_ptr<const Policy>> policies)
      : policies_(std::move(policies)) {}
  const Policy* ForToken(std::string_view token) const;
  const std::vector<std::shared_ptr<const Policy>>& policies() const { return policies_; }

 private:
  std::vector<std::shared_ptr<const Policy>> policies_;
};

struct LoadOptions {
  std::string hmac_key;      // key for the `hash` redaction method (from a 0600 key file)
  std::string identity_key;  // master key for identifier pseudonyms (keys/identity.key)
};

// Parses the top-level `identifiers`, `person_properties` and `client_ip` keys of `root`
// (policies/src/identity_section.cc). Errors carry file:line:col.
Status ParseIdentitySection(const std::string& file, const YAML::Node& root,
                            const LoadOptions& opts, IdentityPolicy* out);

// Parses and compiles one policy document. `file` is used in error locations only.
Result<std::shared_ptr<const Policy>> ParsePolicy(const std::string& file, std::string_view text,
                                                  const LoadOptions& opts);
// Loads files; with no files, the embedded default policy. Any error fails the whole set.
Result<std::shared_ptr<const PolicySet>> LoadPolicySet(const std::vector<std::string>& files,
                                                       const LoadOptions& opts);
// The text of policies/default.yaml, compiled into the binary.
std::string_view EmbeddedDefaultPolicy();

}  // namespace scrubd::policies
