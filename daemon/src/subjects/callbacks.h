// OpenDSR status callbacks (spec section 8.5-8.7): the callback body, the URL and destination
// checks that keep callbacks from being aimed at internal services (SSRF), and CallbackSender,
// which POSTs them from its own thread with capped exponential backoff and a bounded queue.
// Enqueue never blocks on the network and may be called from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"
#include "sink/upstream.h"
#include "subjects/opendsr.h"

namespace scrubd::subjects {

// A parsed callback URL: http(s)://host[:port][/path][?query]. No userinfo, no fragment, no
// whitespace or control bytes, at most `max_bytes`; the host is a DNS name or an IP literal.
struct CallbackUrl {
  bool tls = true;
  std::string host;    // without brackets for IPv6
  std::string port;    // "443" / "80" when not given
  std::string target;  // "/path?query", "/" when empty
};
// kInvalidInput with a message that never quotes the URL.
Result<CallbackUrl> ParseCallbackUrl(std::string_view url, size_t max_bytes = 2048);

// Where callbacks may go. By default only public unicast addresses: loopback, private
// (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata
// address, fe80::/10), CGNAT 100.64/10, unspecified, multicast and broadcast are refused, for
// an IP literal and for every address a name resolves to.
struct CallbackPolicy {
  bool allow_loopback = false;  // tests and single-host setups
  bool allow_private = false;   // private and CGNAT ranges (controller on the same LAN)
};
// kInvalidInput when the address class is refused, kUnavailable when the name does not resolve.
// On success `*pin` is the first allowed address (used as the connect address for http, so a
// second resolution cannot move the request elsewhere; https keeps the name for TLS checks).
Status CheckDestination(const CallbackUrl& url, const CallbackPolicy& policy, std::string* pin);
// The address-class rule alone, for one textual IPv4/IPv6 address; false if not an address.
bool AddressAllowed(std::string_view ip, const CallbackPolicy& policy);

// Callback body (spec 8.6): controller_id, status_callback_url, subject_request_id,
// request_status, expected_completion_time, and results_url when non-empty.
std::string CallbackBody(std::string_view controller_id, std::string_view url,
                         const DsrRecordView& record, std::string_view results_url = "");
template <class Record>
std::string CallbackBody(std::string_view controller_id, std::string_view url, const Record& record,
                         std::string_view results_url = "") {
  return CallbackBody(controller_id, url, ViewOf(record), results_url);
}

struct CallbackOptions {
  CallbackPolicy policy;
  size_t max_queue = 1024;  // deliveries waiting or retrying; Enqueue beyond it fails
  int max_attempts = 10;    // then the delivery is dropped and counted as failed
  sink::BackoffPolicy backoff{std::chrono::milliseconds(1000), std::chrono::milliseconds(300000)};
  sink::ClientOptions client{std::chrono::milliseconds(5000), std::chrono::milliseconds(5000),
                             std::chrono::milliseconds(10000), 64 * 1024, false};
  // Extra headers for a body, e.g. X-OpenDSR-Processor-Domain / X-OpenDSR-Signature from
  // DsrSigner::Headers (signing.h). Null: unsigned callbacks.
  std::function<std::vector<std::pair<std::string, std::string>>(std::string_view body)> sign;
  // Builds the HTTP client for one URL. Null: sink::MakeBeastClient.
  std::function<Result<std::unique_ptr<sink::UpstreamClient>>(const sink::UpstreamUrl&,
                                                              const sink::ClientOptions&)>
      make_client;
  std::function<double()> random;  // [0, 1) for backoff jitter; null: seeded mt19937
};

class CallbackSender {
 public:
  struct Counters {
    std::atomic<uint64_t> enqueued{0}, delivered{0}, retries{0}, failed{0}, refused{0},
        queue_full{0};
  };
  using Clock = std::chrono::steady_clock;

  explicit CallbackSender(CallbackOptions opts);
  ~CallbackSender();  // Stop()

  // Queues one POST of `body` to `url` (the request's own status_callback_url). Fails fast:
  // kInvalidInput for a bad URL, kUnavailable when the queue is full. Deliveries of one
  // `request_id` to one URL go out in order: a later one waits until the earlier one is
  // delivered or dropped.
  Status Enqueue(std::string_view request_id, std::string_view url, std::string body);

  // Attempts every delivery due at `now` once (synchronously, on the caller's thread) and
  // returns when the next one is due (Clock::time_point::max() when idle). For tests.
  Clock::time_point RunDue(Clock::time_point now);
  void Start();  // a thread that runs RunDue and sleeps until the next due time or Enqueue
  void Stop();   // finishes the attempt in flight, then joins; queued deliveries are dropped
  size_t Pending() const;
  const Counters& counters() const { return counters_; }
  std::string MetricsText() const;  // scrubd_dsr_callbacks_* Prometheus lines

 private:
  struct Delivery {
    std::string key;  // request id + '\n' + url
    CallbackUrl url;
    std::string body;
    int attempts = 0;
    Clock::time_point due;
  };
  enum class Outcome { kDelivered, kRetry, kDrop };
  Outcome Attempt(Delivery& d);
  void Loop();

  CallbackOptions opts_;
  Counters counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Delivery>> queue_;
  std::mutex run_mu_;  // one RunDue at a time
  std::thread thread_;
  bool stop_ = false;
};

}  // namespace scrubd::subjects
