// Folds repeated audit events (admin denials, transport rejections) into one entry per key per
// window: the first occurrence is written at once, the rest of the window as one entry with a
// count. Owned by App; thread-safe (one mutex). Returns entries; the caller appends them.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace scrubd::server {

class AuditAggregator {
 public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string type;
    std::string payload_json;
  };

  // At most max_keys windows are open at once; occurrences past that are only counted, in
  // one audit_aggregate_overflow entry.
  AuditAggregator(std::chrono::seconds window, size_t max_keys);

  // One occurrence of `key`. Returns what to append now: the summaries of ended windows and,
  // if this is the first of its window, the occurrence itself (fields + "count": 1).
  std::vector<Entry> Record(const std::string& key, std::string_view type,
                            const boost::json::object& fields, Clock::time_point now);
  // Summaries of windows ended by `now` (all open windows when `all`, at shutdown).
  std::vector<Entry> Flush(Clock::time_point now, bool all);

 private:
  struct Window {
    std::string type;
    boost::json::object fields;
    Clock::time_point start;
    uint64_t repeats = 0;  // occurrences after the first
  };
  void CloseEnded(Clock::time_point now, bool all, std::vector<Entry>* out);

  const std::chrono::seconds window_;
  const size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, Window> open_;  // guarded by mu_
  uint64_t overflow_ = 0;               // guarded by mu_
};

}  // namespace scrubd::server
