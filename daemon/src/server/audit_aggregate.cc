// Windowed folding of repeated audit events; see audit_aggregate.h.
#include "server/audit_aggregate.h"

namespace scrubd::server {
namespace json = boost::json;

AuditAggregator::AuditAggregator(std::chrono::seconds window, size_t max_keys)
    : window_(window), max_keys_(max_keys) {}

std::vector<AuditAggregator::Entry> AuditAggregator::Record(const std::string& key,
                                                            std::string_view type,
                                                            const json::object& fields,
                                                            Clock::time_point now) {
  std::vector<Entry> out;
  std::lock_guard<std::mutex> lock(mu_);
  CloseEnded(now, false, &out);
  auto it = open_.find(key);
  if (it != open_.end()) {
    it->second.repeats++;
    return out;
  }
  if (open_.size() >= max_keys_) {
    overflow_++;
    return out;
  }
  open_.emplace(key, Window{std::string(type), fields, now, 0});
  json::object first = fields;
  first["count"] = 1;
  out.push_back({std::string(type), json::serialize(first)});
  return out;
}

std::vector<AuditAggregator::Entry> AuditAggregator::Flush(Clock::time_point now, bool all) {
  std::vector<Entry> out;
  std::lock_guard<std::mutex> lock(mu_);
  CloseEnded(now, all, &out);
  return out;
}

void AuditAggregator::CloseEnded(Clock::time_point now, bool all, std::vector<Entry>* out) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (!all && now - it->second.start < window_) {
      ++it;
      continue;
    }
    if (it->second.repeats > 0) {
      json::object summary = std::move(it->second.fields);
      summary["count"] = it->second.repeats;
      summary["window_s"] = window_.count();
      out->push_back({std::move(it->second.type), json::serialize(summary)});
    }
    it = open_.erase(it);
  }
  if (overflow_ > 0 && (all || open_.size() < max_keys_)) {
    out->push_back(
        {"audit_aggregate_overflow", json::serialize(json::object{{"count", overflow_}})});
    overflow_ = 0;
  }
}

}  // namespace scrubd::server
