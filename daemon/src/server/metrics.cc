// Prometheus text for /metrics. The line order of the base counters is the historic one.
#include "server/metrics.h"

namespace scrubd::server {

void LabeledCounter::Add(const std::string& labels, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_[labels] += n;
}

std::string LabeledCounter::Text() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [labels, n] : counts_)
    out += name_ + "{" + labels + "} " + std::to_string(n) + "\n";
  return out;
}

void MetricsRenderer::AddSource(std::function<std::string()> text) {
  sources_.push_back(std::move(text));
}

std::string MetricsRenderer::Render() const {
  std::string out;
  auto line = [&](const char* n, uint64_t v) {
    out += std::string("scrubd_") + n + " " + std::to_string(v) + "\n";
  };
  const Metrics& m = *metrics_;
  line("requests_total", m.requests);
  line("batches_ok_total", m.batches_ok);
  line("batches_rejected_total", m.batches_rejected);
  line("events_in_total", m.events_in);
  line("events_stored_total", m.events_stored);
  line("events_dropped_total", m.events_dropped);
  line("redactions_total", m.redactions);
  line("sink_errors_total", m.sink_errors);
  line("audit_errors_total", m.audit_errors);
  line("deadline_exceeded_total", m.deadline_exceeded);
  for (const auto& source : sources_) out += source();
  return out;
}

}  // namespace scrubd::server
