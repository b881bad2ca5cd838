// A fake upstream for daemon tests: records every exchange and answers 200 with a small flags
// reply. Header-only, for tests that link scrubd_daemon. Thread-safe (the forwarder may call
// it from its own thread); read `seen` once it is idle.
#pragma once

#include <mutex>
#include <vector>

#include "sink/upstream.h"

namespace scrubd::testing {

class RecordingClient : public sink::UpstreamClient {
 public:
  Result<sink::UpstreamResponse> Exchange(const sink::UpstreamRequest& req) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen.push_back(req);
    sink::UpstreamResponse r;
    r.status = 200;
    r.headers = {{"content-type", "application/json"}};
    r.body = R"({"featureFlags":{}})";
    return r;
  }
  std::vector<sink::UpstreamRequest> seen;

 private:
  std::mutex mu_;
};

}  // namespace scrubd::testing
