// What /metrics shows: the request counters (Metrics), labelled counters (transport
// rejections, admin denials) and the Prometheus text renderer that joins them with the
// text of other components (the upstream, later subjects). Counters are atomics or
// mutex-guarded; AddSource is called before serving, Render from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace scrubd::server {

// Counters exposed on /metrics (Prometheus text).
struct Metrics {
  std::atomic<uint64_t> requests{0}, batches_ok{0}, batches_rejected{0}, events_in{0},
      events_stored{0}, events_dropped{0}, redactions{0}, sink_errors{0},
      audit_errors{0},  // audit appends that failed (a batch or export behind one: 503)
      deadline_exceeded{0};
};

// A counter per label set, e.g. {status="401",route="reload"}; labels are fixed tokens
// from code (never traffic). Thread-safe.
class LabeledCounter {
 public:
  explicit LabeledCounter(std::string name) : name_(std::move(name)) {}
  // `labels` is the inside of the braces: status="401",route="reload".
  void Add(const std::string& labels, uint64_t n = 1);
  std::string Text() const;  // one line per label set, in label order

 private:
  const std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> counts_;  // guarded by mu_
};

class MetricsRenderer {
 public:
  explicit MetricsRenderer(const Metrics* metrics) : metrics_(metrics) {}
  // Appends `text()` to every rendering, in the order added. Not thread-safe: call before
  // the first Render (at startup).
  void AddSource(std::function<std::string()> text);
  std::string Render() const;  // text/plain; version=0.0.4

 private:
  const Metrics* metrics_;
  std::vector<std::function<std::string()>> sources_;
};

}  // namespace scrubd::server
