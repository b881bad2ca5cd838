// The policy workbench's runner: captured requests through the very pipeline `scrubd serve`
// runs (server::App over a private temporary data dir, serve's AppConfig and consent wiring),
// then what was stored read back as `scrubd export` gives it, with every byte the run wrote.
// Public to the CLI (`policy test`, `preview`, `diff`). Each call is self-contained; calls may
// not overlap in one process (a run takes over spdlog's default logger while it lasts).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"
#include "scrubd/rules/scanner.h"
#include "workbench/capture_dir.h"

namespace scrubd::workbench {

struct StoredWindow {
  std::string window_id;
  boost::json::array events;  // the rrweb events of this window, as export --window gives them
};

struct StoredSession {
  std::string token, session_id;
  boost::json::array events;          // the stored rrweb events as `scrubd export` gives them
  std::vector<StoredWindow> windows;  // the same events per window (sorted by window id)
};

struct RunResult {
  std::vector<StoredSession> sessions;      // sorted by (token, session id)
  std::vector<boost::json::object> events;  // stored analytics events (cleaned bodies)
  // Every byte the run stored, indexed, audited or logged, as decoded text: each file of the
  // data dir (zstd chunks also decoded), the index rows read back, the captured log lines, and
  // the sessions and events above serialised.
  std::string bytes;
  rules::RedactionCounts counts;            // from the batches' audit entries, by rule/method
  std::map<std::string, uint64_t> dropped;  // events dropped, by reason (docs/workbench.md)
  uint64_t events_in = 0, events_stored = 0;
  std::vector<std::string> rejected;  // "0004: 400 <code>" for non-2xx answers
  // The stored session (token, session id), or nullptr.
  const StoredSession* FindSession(const std::string& token, const std::string& session_id) const;
};

// Runs the requests, in order, through the serve pipeline (server::App over a temp data dir:
// decode, admit, consent, page gate, DOM masking, detectors, sink), then reads back what was
// stored. Requests other than ingest (flags, config) are answered as serve answers them. Batches
// still held for consent when the input ends are dropped as serve's shutdown drops them
// (reason "consent_pending"). Errors are environment faults (temp dir, store, audit log).
Result<RunResult> RunPolicy(std::shared_ptr<const policies::PolicySet> set,
                            const std::vector<CapturedRequest>& in);

// The input as captured: decoded as serve decodes it (gzip, base64, nested cv), no admission
// or scrubbing, stored by the same local sink and read back the same way, so the result has
// RunPolicy's shape (the preview's "before" side without a baseline). Its `bytes` and sessions
// hold the captured personal data: never log them.
Result<RunResult> DecodeOnly(const std::vector<CapturedRequest>& in);

// Loads policy files as `serve` does (policies::LoadPolicySet), with this process's workbench
// keys (random per process, so pseudonyms agree between runs of one process, never across).
Result<std::shared_ptr<const policies::PolicySet>> LoadPolicies(
    const std::vector<std::string>& files);

}  // namespace scrubd::workbench
