// RequestHandler: what an HttpServer hands each request to. server::App (scrubd serve) and
// server::CaptureRecorder (scrubd capture) implement it; the HTTP layer knows nothing else.
// Implementations must be thread-safe: HandleRaw and RecordTransportRejection run on the
// server's worker pool, IsAdminRoute on its io thread.
#pragma once

#include <string>
#include <string_view>

#include "server/http_types.h"

namespace scrubd::server {

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Answers one request read by the HTTP layer (which may rewrite `req` in place).
  virtual HttpResponse HandleRaw(HttpRequest& req, Surface surface) = 0;
  // True for the paths that get the admin CORS treatment (no CORS unless --admin-origin).
  virtual bool IsAdminRoute(std::string_view target) const = 0;
  // A 400/413/503 the HTTP layer answered itself (or a refused connection). `reason` is a
  // fixed token from http_server.cc; `peer` is the client address.
  virtual void RecordTransportRejection(unsigned status, std::string_view reason,
                                        const std::string& peer) = 0;
};

}  // namespace scrubd::server
