// Error bodies and request accessors shared by the router and its components.
#include "server/http_types.h"

#include <boost/json.hpp>

namespace scrubd::server {
namespace json = boost::json;

unsigned HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return 200;
    case Code::kInvalidInput: return 400;
    case Code::kTooLarge: return 413;
    case Code::kNotFound: return 404;
    case Code::kUnauthorized: return 401;
    case Code::kInvalidConfig: return 422;
    case Code::kUnavailable:
    case Code::kIo: return 503;
    default: return 500;
  }
}

HttpResponse ErrorResponse(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = json::serialize(json::object{{"error", code}, {"message", message}});
  return r;
}

std::string_view HeaderOf(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view PathOf(const HttpRequest& r) {
  std::string_view target = r.target;
  return target.substr(0, target.find('?'));
}

std::string QueryParam(std::string_view target, std::string_view key) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == key)
      return std::string(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace scrubd::server
