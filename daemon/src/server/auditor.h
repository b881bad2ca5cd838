// The server's one door to the audit log: best-effort appends (rejections, admin calls),
// fail-closed appends (a batch or export behind one), and aggregated entries (admin denials,
// transport rejections; see audit_aggregate.h). Shared by every server component through a
// pointer; thread-safe (audit::Log and AuditAggregator are).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"
#include "server/audit_aggregate.h"

namespace scrubd::audit {
class Log;
}

namespace scrubd::server {

class Auditor {
 public:
  // `log` may be null (tests: every append succeeds with seq 0). `errors` counts failed
  // appends (scrubd_audit_errors_total). Both must outlive the Auditor.
  Auditor(audit::Log* log, std::atomic<uint64_t>* errors, std::chrono::seconds window);

  // Best effort: a failure is logged and counted, the caller goes on.
  void Append(std::string_view type, const std::string& payload_json);
  // Fail closed: the caller must not act (store, export) unless this is ok.
  Result<uint64_t> Required(std::string_view type, const std::string& payload_json);
  // One occurrence of `key`, folded per window (AuditAggregator::Record).
  void Aggregated(const std::string& key, std::string_view type, const boost::json::object& fields);
  // Writes the summaries of windows that ended (all of them when `all`).
  void Flush(bool all);

 private:
  audit::Log* log_;
  std::atomic<uint64_t>* errors_;
  AuditAggregator aggregator_;
};

}  // namespace scrubd::server
