// App's record of requests the HTTP layer turned away before Handle: counted on /metrics,
// audited aggregated (one entry per peer and reason per window, with a count), never with a
// raw path, body or address. Denied admin calls are AdminApi's (admin_api.cc).
#include <boost/json.hpp>

#include "server/app.h"
#include "server/keys.h"

namespace scrubd::server {
namespace json = boost::json;

void App::FlushAuditAggregates(bool all) { auditor_.Flush(all); }

void App::RecordTransportRejection(unsigned status, std::string_view reason,
                                   const std::string& peer) {
  transport_.Add("status=\"" + std::to_string(status) + "\",reason=\"" + std::string(reason) +
                 "\"");
  std::string pseudo = Pseudonym(config_.pseudonym_key, peer);
  json::object fields{{"status", status}, {"reason", reason}, {"peer", pseudo}};
  auditor_.Aggregated(
      "transport|" + peer + "|" + std::to_string(status) + "|" + std::string(reason),
      "transport_rejected", fields);
}

}  // namespace scrubd::server
