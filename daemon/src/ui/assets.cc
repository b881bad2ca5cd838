// The /admin/ui/ routes over the embedded asset table: lookup, security headers, redirect.
#include "ui/assets.h"

#include "ui/assets_internal.h"

namespace scrubd::ui {
namespace {

// style-src needs 'unsafe-inline': the replayer rebuilds the recorded page's <style> elements
// and style attributes inside its sandboxed iframe, which inherits this policy. img-src and
// font-src stay 'self' + data:, so recorded CSS cannot fetch from (or leak to) other hosts.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; child-src 'self'; worker-src 'none'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void AddSecurityHeaders(server::HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kCsp));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

server::HttpResponse WithHeaders(server::HttpResponse r) {
  AddSecurityHeaders(r);
  return r;
}

}  // namespace

const Asset* FindAsset(std::string_view name) {
  for (const Asset& a : internal::EmbeddedAssets())
    if (a.name == name) return &a;
  return nullptr;
}

bool IsUiPath(std::string_view path) {
  return path == kUiPath || (path.substr(0, kUiPath.size()) == kUiPath &&
                             path.size() > kUiPath.size() && path[kUiPath.size()] == '/');
}

std::string_view ContentSecurityPolicy() { return kCsp; }

server::HttpResponse ServeUi(std::string_view path) {
  if (path == kUiPath) {
    server::HttpResponse r{308, "text/plain; charset=utf-8", "see /admin/ui/\n", {}};
    r.headers.emplace_back("Location", "/admin/ui/");
    return WithHeaders(std::move(r));
  }
  std::string_view name = IsUiPath(path) ? path.substr(kUiPath.size() + 1) : std::string_view();
  if (name.empty() && IsUiPath(path)) name = "index.html";
  const Asset* a = name.empty() ? nullptr : FindAsset(name);
  if (!a) return WithHeaders(server::ErrorResponse(404, "not_found", "unknown console file"));
  return WithHeaders(
      server::HttpResponse{200, std::string(a->content_type), std::string(a->bytes), {}});
}

server::HttpResponse HandleUiRequest(const server::HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    server::HttpResponse r = server::ErrorResponse(405, "method_not_allowed", "use GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return WithHeaders(std::move(r));
  }
  server::HttpResponse r = ServeUi(server::PathOf(req));
  if (req.method == "HEAD") r.body.clear();
  return r;
}

}  // namespace scrubd::ui
