// The request and response values every server component speaks (no sockets): the HTTP
// layer fills an HttpRequest, the router and its components return an HttpResponse.
// Plain values; the helpers are pure and thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::server {

// Which routes a listener serves. kAll: today's single listener (everything); with a separate
// admin listener the public one is kPublic (ingest, remote config/proxy, /healthz) and the
// admin one kAdmin (admin, mounted routes such as OpenDSR, /metrics, /healthz).
enum class Surface { kAll, kPublic, kAdmin };

struct HttpRequest {
  std::string method;
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string peer;  // remote address, for admin audit entries
  // Names as sent, in arrival order, duplicates kept; filled only for scrubd capture
  // (ServerOptions::keep_raw_headers), empty otherwise.
  std::vector<std::pair<std::string, std::string>> raw_headers;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error": code, "message": msg} with the matching 4xx/5xx status.
HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message);
unsigned HttpStatusFor(const Status& s);

// The value of header `name` (lower-case), or "".
std::string_view HeaderOf(const HttpRequest& r, const std::string& name);
// The path of the request target (no query).
std::string_view PathOf(const HttpRequest& r);
// Raw value of `key` in the query of `target` (ids only: tokens are not percent-encoded).
std::string QueryParam(std::string_view target, std::string_view key);

}  // namespace scrubd::server
