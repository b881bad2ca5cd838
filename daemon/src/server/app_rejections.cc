// App's record of requests it turned away before or at the door: transport rejections from the
// HTTP layer and denied admin calls. Counted on /metrics; audited aggregated (one entry per
// peer and reason or route per window, with a count), never with a raw path or body.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "server/app.h"
#include "server/keys.h"

namespace scrubd::server {
namespace json = boost::json;

// The admin route a path names, or "unknown": the only part of an admin path that is logged.
std::string_view AdminRouteClass(std::string_view path) {
  static constexpr std::string_view kExport = "/admin/sessions/";
  if (path == "/admin/reload") return "reload";
  if (path == "/admin/sessions") return "sessions";
  if (path.starts_with(kExport) && path.ends_with("/export") && path.size() > kExport.size() + 7)
    return "export";
  return "unknown";
}

namespace {

std::string_view MethodClass(std::string_view m) {
  for (std::string_view known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
    if (m == known) return known;
  return "other";
}

}  // namespace

void App::AuditAggregated(const std::string& key, std::string_view type,
                          const json::object& fields) {
  for (const AuditAggregator::Entry& e :
       aggregator_.Record(key, type, fields, AuditAggregator::Clock::now()))
    AuditAppend(e.type, e.payload_json);
}

void App::FlushAuditAggregates(bool all) {
  for (const AuditAggregator::Entry& e : aggregator_.Flush(AuditAggregator::Clock::now(), all))
    AuditAppend(e.type, e.payload_json);
}

// A denied admin call is recorded by route class, path length and a keyed hash of the path:
// `/admin/<an email>` must not put the email in the log, nor 60 KB paths bloat it.
void App::AuditAdminDenied(const HttpRequest& req, std::string_view path) {
  std::string_view route = AdminRouteClass(path);
  json::object fields{{"route", route},
                      {"method", MethodClass(req.method)},
                      {"path_len", path.size()},
                      {"path_hash", Pseudonym(config_.pseudonym_key, path)},
                      {"peer", Pseudonym(config_.pseudonym_key, req.peer)}};
  AuditAggregated("admin_denied|" + req.peer + "|" + std::string(route), "admin_denied", fields);
}

void App::RecordTransportRejection(unsigned status, std::string_view reason,
                                   const std::string& peer) {
  {
    std::lock_guard<std::mutex> lock(transport_mu_);
    transport_[{status, std::string(reason)}]++;
  }
  std::string pseudo = Pseudonym(config_.pseudonym_key, peer);
  json::object fields{{"status", status}, {"reason", reason}, {"peer", pseudo}};
  AuditAggregated("transport|" + peer + "|" + std::to_string(status) + "|" + std::string(reason),
                  "transport_rejected", fields);
}

std::string App::TransportMetricsText() const {
  std::lock_guard<std::mutex> lock(transport_mu_);
  std::string out;
  for (const auto& [k, n] : transport_)
    out += "scrubd_transport_rejections_total{status=\"" + std::to_string(k.first) +
           "\",reason=\"" + k.second + "\"} " + std::to_string(n) + "\n";
  return out;
}

}  // namespace scrubd::server
