// What RemoteConfigService::Proxy sends upstream: /flags/ and /decide/ bodies decoded, put
// through the token's policy (identifiers, person_properties, $ip, then the detectors) and
// re-encoded as plain JSON; every proxied request gets the policy's client address and never
// the client's own forwarding headers. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "ingest/decode.h"
#include "scrubd/common/deadline.h"
#include "scrubd/policies/policy.h"
#include "server/http_types.h"
#include "sink/upstream.h"

namespace scrubd::server {

// The upstream request for a proxied `req` (/flags, /decide, /array/<token>/config[.js],
// /static/*). A /flags or /decide body that does not decode, is not a JSON object, names no
// valid token or a token no policy covers is kInvalidInput (answer 4xx, forward nothing). A
// body is re-encoded as plain JSON with `Content-Type: application/json` and the target loses
// its `compression` parameter. Every target's query is rebuilt by AllowlistedTarget. Only /flags
// and /decide carry a client address (the token's `client_ip`); other paths carry none. `counts`
// (may be null) receives the redaction counts. `deadline` (may be null: unlimited) is the
// request's CPU budget, polled inside the body's walk; once it expires the result is
// DeadlineExceeded() (answer 503, forward nothing), and `deadline->expired()` tells it apart.
Result<sink::UpstreamRequest> BuildProxyRequest(const HttpRequest& req,
                                                const policies::PolicySet& policies,
                                                const ingest::DecodeLimits& limits,
                                                rules::RedactionCounts* counts,
                                                Deadline* deadline = nullptr);

// The status of a flags request past its deadline: kUnavailable (503), nothing forwarded.
Status DeadlineExceeded();

// `target` with its query rebuilt from an allowlist of the parameters posthog-js sends, each
// kept only with the value shape it sends: _, sent_at, ip digits; v, ver a number or version;
// compression gzip-js|gzip|base64|lz64; config, only_evaluate_survey_feature_flags a boolean;
// token, api_key a valid token. Every other parameter is dropped. `drop_compression` also drops
// `compression` (the body was re-encoded).
std::string AllowlistedTarget(std::string_view target, bool drop_compression);

// The flags body alone: decoded JSON text of project `*token` in, scrubbed JSON text out.
Result<std::string> ScrubFlagsBody(std::string_view json_text, const policies::PolicySet& policies,
                                   int max_depth, std::string* token,
                                   rules::RedactionCounts* counts, Deadline* deadline = nullptr);

}  // namespace scrubd::server
