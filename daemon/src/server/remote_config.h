// posthog-js's remote config and the upstream pass-through: /flags, /decide and
// /array/<token>/config[.js] answered locally (no upstream), or proxied with /static/* to the
// upstream after flags_proxy.h scrubbed them. Owned by App; Handle may run on many request
// threads (the upstream client is thread-safe, the rest is pure).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "ingest/decode.h"
#include "scrubd/policies/policy.h"
#include "server/http_types.h"

namespace scrubd::sink {
class Upstream;
}

namespace scrubd::server {

struct Metrics;

class RemoteConfigService {
 public:
  using PolicySource = std::function<std::shared_ptr<const policies::PolicySet>()>;
  // `upstream` may be null (answer locally when `answer_locally`, else 404). Pointers outlive
  // the service.
  RemoteConfigService(bool answer_locally, ingest::DecodeLimits limits, PolicySource policies,
                      sink::Upstream* upstream, Metrics* metrics,
                      std::chrono::nanoseconds deadline = std::chrono::nanoseconds(0));

  // True for the paths this service answers (remote config endpoints; /static/* with an
  // upstream).
  bool Owns(std::string_view path) const;
  HttpResponse Handle(const HttpRequest& req);

 private:
  HttpResponse Local(const HttpRequest& req, ingest::Endpoint endpoint);
  HttpResponse Proxy(const HttpRequest& req);

  const bool answer_locally_;
  const ingest::DecodeLimits limits_;
  const PolicySource policies_;
  sink::Upstream* upstream_;
  Metrics* metrics_;
  const std::chrono::nanoseconds deadline_;  // per proxied /flags/ request; 0: none
};

}  // namespace scrubd::server
