// The upstream sink: encodes cleaned batches the way PostHog's capture accepts them, spools
// them durably (spool.h) and forwards them from one background thread with retries; also the
// pass-through proxy for /flags, /decide, /array/<token>/config[.js] and /static/*.
// Thread-safe: Enqueue and Proxy may run on many request threads; Start/Stop from main only.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"
#include "sink/spool.h"

namespace scrubd::sink {

// https://host[:port][/prefix] or http://...; no userinfo, query or fragment.
struct UpstreamUrl {
  bool tls = true;
  std::string host;
  std::string port;         // "443" / "80" when not given
  std::string path_prefix;  // "" or "/ingest" (no trailing slash)
};
// kInvalidConfig with the reason on a bad URL.
Result<UpstreamUrl> ParseUpstreamUrl(const std::string& url);

struct UpstreamRequest {
  std::string method = "POST";
  std::string target;  // path and query, without the URL's prefix
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The already scrubbed client address (policy `client_ip`), sent as X-Forwarded-For by
  // Proxy; "" sends none. A client's own forwarding headers are never passed.
  std::string client_ip;
};

struct UpstreamResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
};

// One HTTP exchange with the upstream. A network, TLS or timeout failure is kUnavailable;
// any HTTP status (even 5xx) is a response. Implementations must be thread-safe.
class UpstreamClient {
 public:
  virtual ~UpstreamClient() = default;
  virtual Result<UpstreamResponse> Exchange(const UpstreamRequest& req) = 0;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds read_timeout{30000};
  size_t max_response_bytes = 16u << 20;
  bool insecure = false;  // skip certificate verification (tests/dev only)
};

// Boost.Beast client: a fresh connection per exchange, TLS with the system CA store, SNI and
// host name verification unless `insecure`. Fails only on a bad TLS setup.
Result<std::unique_ptr<UpstreamClient>> MakeBeastClient(UpstreamUrl url, ClientOptions opts);

// Exponential backoff with jitter: attempt n (1-based) waits a uniform value in
// [d/2, d] where d = min(max, base * 2^(n-1)). `unit_random` is in [0, 1).
struct BackoffPolicy {
  std::chrono::milliseconds base{500};
  std::chrono::milliseconds max{60000};
};
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& p, int attempt, double unit_random);

// What the request thread hands over: the cleaned posthog events of one request.
struct OutgoingBatch {
  std::string path;        // the path the client used, e.g. "/s/", "/e/", "/i/v0/e/"
  bool recording = false;  // $snapshot events (else analytics events)
  struct Event {
    std::string token;
    const boost::json::object* json = nullptr;  // cleaned event; must outlive the call
  };
  std::vector<Event> events;
  std::string batch_id;   // pseudonymous id for logs
  std::string client_ip;  // already scrubbed (policy `client_ip`); "" forwards none
};

struct EncodeOptions {
  bool reencode_cv = true;  // compress nested rrweb fields as posthog-js does (cv 2024-10)
};

// The spool records for one batch (bodies gzip). Recordings: one record, a JSON array of the
// $snapshot events. Events: one `{"api_key", "batch"}` record per token.
Result<std::vector<SpoolRecord>> EncodeBatch(const OutgoingBatch& batch, const EncodeOptions& opts);

// Delivers spooled files in order. RunOnce does one step synchronously, so tests drive it
// without threads or sleeps; Start runs it on a thread that waits out the returned delays.
class Forwarder {
 public:
  enum class Outcome { kIdle, kDelivered, kRetry, kDead };
  struct Step {
    Outcome outcome = Outcome::kIdle;
    uint64_t seq = 0;
    unsigned http_status = 0;            // 0 on a network error
    std::chrono::milliseconds delay{0};  // before the next attempt (kRetry)
  };
  struct Counters {
    std::atomic<uint64_t> delivered{0}, retries{0}, dead{0}, network_errors{0};
  };

  // `spool` and `client` must outlive the forwarder. `random` returns values in [0, 1);
  // default: a seeded mt19937.
  Forwarder(Spool* spool, UpstreamClient* client, BackoffPolicy backoff,
            std::function<double()> random = nullptr);
  ~Forwarder();

  Step RunOnce();
  void Start();
  // Finishes the send in flight (bounded by the client timeouts), then joins the thread.
  void Stop();
  const Counters& counters() const { return counters_; }

 private:
  void Loop();

  Spool* spool_;
  UpstreamClient* client_;
  BackoffPolicy backoff_;
  std::function<double()> random_;
  int attempt_ = 0;  // consecutive failures of the oldest file; forwarder thread only
  Counters counters_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct UpstreamOptions {
  std::string url;
  std::filesystem::path spool_dir;  // DATA_DIR/spool
  uint64_t spool_max_bytes = uint64_t{1} << 30;
  Env* env = nullptr;  // the spool's file-system seam (null: Env::Default()); outlives Upstream
  EncodeOptions encode;
  ClientOptions client;
  BackoffPolicy backoff;
};

// The facade the App uses: encode + spool (Enqueue), pass-through (Proxy), and the forwarder.
class Upstream {
 public:
  // kInvalidConfig on a bad URL or TLS setup; kIo if the spool cannot be opened.
  static Result<std::unique_ptr<Upstream>> Open(UpstreamOptions opts);
  // For tests: a custom client (not owned; must outlive the Upstream).
  static Result<std::unique_ptr<Upstream>> Open(UpstreamOptions opts, UpstreamClient* client);
  ~Upstream();

  // Encodes and durably spools the batch. OK means every record is on disk and the caller may
  // acknowledge; kUnavailable when the spool is full (answer 503); kIo on a disk fault.
  Status Enqueue(const OutgoingBatch& batch);
  // The same; appends the spool seq of every record written to `seqs` (may be null).
  Status Enqueue(const OutgoingBatch& batch, std::vector<uint64_t>* seqs);
  // Forwards a /flags, /decide, /array, /static request. Cookies are never passed either way.
  // kUnavailable when the upstream cannot be reached.
  Result<UpstreamResponse> Proxy(const UpstreamRequest& req);

  void Start() { forwarder_->Start(); }
  void Stop() { forwarder_->Stop(); }

  // Prometheus text lines (scrubd_upstream_*).
  std::string MetricsText() const;
  Spool* spool() { return spool_.get(); }
  Forwarder* forwarder() { return forwarder_.get(); }

 private:
  Upstream() = default;
  UpstreamOptions opts_;
  std::unique_ptr<UpstreamClient> owned_client_;
  UpstreamClient* client_ = nullptr;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Forwarder> forwarder_;
  std::atomic<uint64_t> proxied_{0}, proxy_errors_{0};
};

}  // namespace scrubd::sink
