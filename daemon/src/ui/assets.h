// The console's static files and the rrweb-player bundle, embedded in the binary at build
// time (ui_assets.cmake), and the /admin/ui/ routes that serve them with a strict CSP.
// Callers: the router (server/app.cc) and the preview report (workbench/report_html).
// Everything here is immutable static data and pure functions; thread-safe.
#pragma once

#include <string_view>

#include "server/http_types.h"

namespace scrubd::ui {

// One embedded file. The views point into static storage and live as long as the program.
struct Asset {
  std::string_view name, content_type, bytes;
};

// "rrweb-player.js" (the UMD bundle: defines the global `rrwebPlayer`), "rrweb-player.css",
// "index.html", "console.js", "console.css", and the preview report's "preview.js" and
// "preview.css" (inlined by workbench/report_html); nullptr for any other name.
const Asset* FindAsset(std::string_view name);

// The console's mount point. "/admin/ui" redirects to "/admin/ui/".
inline constexpr std::string_view kUiPath = "/admin/ui";
// True for /admin/ui and /admin/ui/*: the router serves them before the admin token check
// (they hold no session data; the page signs in and calls the token-guarded JSON API).
bool IsUiPath(std::string_view path);

// The Content-Security-Policy every /admin/ui response carries (docs/console.md says why
// each directive is what it is): scripts only from 'self', no inline script, no framing.
std::string_view ContentSecurityPolicy();

// GET of `path` (no query): index.html for /admin/ui/, an asset for /admin/ui/<name>, a 404
// JSON error otherwise. Every answer carries the CSP, nosniff, no-store and a no-referrer
// policy; the asset names are a fixed table, so no path ever reaches the file system.
server::HttpResponse ServeUi(std::string_view path);

// The router's entry: ServeUi for GET, the same headers and no body for HEAD, 405 for any
// other method.
server::HttpResponse HandleUiRequest(const server::HttpRequest& req);

}  // namespace scrubd::ui
