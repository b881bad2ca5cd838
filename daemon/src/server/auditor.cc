// Audit appends for the server components. Payloads are built by the callers from ids,
// counts and pseudonyms only; this file never sees traffic.
#include "server/auditor.h"

#include <spdlog/spdlog.h>

#include "scrubd/audit/log.h"

namespace scrubd::server {

Auditor::Auditor(audit::Log* log, std::atomic<uint64_t>* errors, std::chrono::seconds window)
    : log_(log), errors_(errors), aggregator_(window, 4096) {}

void Auditor::Append(std::string_view type, const std::string& payload_json) {
  if (Result<uint64_t> r = Required(type, payload_json); !r.ok()) return;
}

Result<uint64_t> Auditor::Required(std::string_view type, const std::string& payload_json) {
  if (!log_) return uint64_t{0};
  Result<uint64_t> r = log_->Append(type, payload_json);
  if (!r.ok()) {
    (*errors_)++;
    spdlog::error("audit append type={} failed: {}", type, r.status().ToString());
  }
  return r;
}

void Auditor::Aggregated(const std::string& key, std::string_view type,
                         const boost::json::object& fields) {
  for (const AuditAggregator::Entry& e :
       aggregator_.Record(key, type, fields, AuditAggregator::Clock::now()))
    Append(e.type, e.payload_json);
}

void Auditor::Flush(bool all) {
  for (const AuditAggregator::Entry& e : aggregator_.Flush(AuditAggregator::Clock::now(), all))
    Append(e.type, e.payload_json);
}

}  // namespace scrubd::server
