// The HTTP front end (Boost.Beast): accepts connections, reads requests with timeouts and a
// body limit, runs App::Handle on a worker pool, adds CORS, and drains on shutdown.
// Owned by main; Start/Stop are called from the main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "scrubd/common/status.h"

namespace scrubd::server {

class App;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  size_t max_body_bytes = 25u << 20;      // PostHog's own /s limit; 413 above
  int io_threads = 1;
  int worker_threads = 2;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds drain_timeout{20};
  size_t max_connections = 1024;
  size_t max_inflight_body_bytes = 256u << 20;  // all bodies being read or handled; 503 above
};

class HttpServer {
 public:
  HttpServer(App* app, ServerOptions opts);  // app must outlive the server
  ~HttpServer();
  // Binds and starts serving in background threads. Returns the bound port.
  Result<uint16_t> Start();
  // Stops accepting, waits up to drain_timeout for in-flight requests, then cancels the rest.
  void Stop();

  struct Impl;  // public only so the connection code in http_server.cc can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace scrubd::server
