// The HTTP front end (Boost.Beast): accepts connections, reads requests with timeouts and a
// body limit, charges body bytes as they arrive (per peer and globally), sheds idle
// connections near the cap, runs the RequestHandler (App::HandleRaw for its surface, or the
// capture recorder) on a worker pool, adds CORS, drains on shutdown. One HttpServer per
// listener (two with --admin-listen).
// Owned by main; Start/Stop are called from the main thread only; stats() from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "scrubd/common/status.h"
#include "server/http_types.h"
#include "server/request_handler.h"

namespace scrubd::server {

// Limits and what a client sees past them are listed in docs/limits.md.
struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  size_t max_body_bytes = 25u << 20;      // PostHog's own /s limit; 413 above
  int io_threads = 1;
  int worker_threads = 2;
  std::chrono::seconds read_timeout{30};  // headers received -> whole body received
  std::chrono::seconds idle_timeout{30};  // waiting for a request's headers (keep-alive too)
  std::chrono::seconds pressure_idle_timeout{3};  // the same, at >= 3/4 of max_connections
  std::chrono::seconds drain_timeout{20};
  size_t max_connections = 0;                   // 0: derived from RLIMIT_NOFILE at Start
  size_t max_connections_per_peer = 0;          // 0: max(64, max_connections / 4)
  size_t max_inflight_body_bytes = 256u << 20;  // body bytes received and not yet answered
  size_t max_peer_inflight_body_bytes = 0;      // 0: max(max_body, max_inflight / 4)
  std::string admin_origin;  // the one Origin given CORS headers on /admin*; empty: none
  // The routes this listener serves (App::Handle(req, surface)): kAll for the single
  // listener, kPublic / kAdmin for the two of --admin-listen.
  Surface surface = Surface::kAll;
  // Fill HttpRequest::raw_headers (names as sent, in order): scrubd capture only.
  bool keep_raw_headers = false;
  // Tests only: runs first inside every io-thread handler (named), and may throw.
  std::function<void(const char* handler)> fault_injection;
};

// Counters for tests and operators; read with HttpServer::stats().
struct ServerStats {
  size_t connections = 0;      // open sessions
  size_t idle = 0;             // sessions waiting for request headers
  size_t body_bytes = 0;       // body bytes charged to the budget
  size_t max_connections = 0;  // the effective cap (after derivation)
  uint64_t accepted = 0, refused = 0, shed_idle = 0;
  uint64_t accept_errors = 0;      // failed accept calls (EMFILE, ...)
  uint64_t accept_error_logs = 0;  // log lines written about them (rate-limited)
  uint64_t handler_exceptions = 0;
};

class HttpServer {
 public:
  HttpServer(RequestHandler* app, ServerOptions opts);  // app must outlive the server
  ~HttpServer();
  // Binds and starts serving in background threads. Returns the bound port.
  Result<uint16_t> Start();
  // Stops accepting, waits up to drain_timeout for in-flight requests, then cancels the rest.
  void Stop();
  ServerStats stats() const;

  struct Impl;  // public only so the connection code in http_server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace scrubd::server
