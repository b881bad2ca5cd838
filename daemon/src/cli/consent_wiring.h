// Wires the consent module into `scrubd serve` (docs/consent.md): the ledger, the gate with
// its audit and erasure seams, the quarantine, its one-second expiry sweep, and the shutdown
// discard. Also the ledger reader the access bundle and `scrubd consent show` use.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "consent/gate.h"
#include "consent/ledger.h"
#include "consent/quarantine.h"
#include "scrubd/common/status.h"

namespace scrubd::server {
class App;
}

namespace scrubd::cli {

using RaiseErasureFn =
    std::function<Result<std::string>(const std::string& token, const std::string& distinct_id)>;

class ConsentRuntime {
 public:
  // `ledger` and `app` outlive the runtime; `raise_erasure` may be empty (no erasures).
  static std::unique_ptr<ConsentRuntime> Start(server::App* app, consent::Ledger* ledger,
                                               const std::string& pseudonym_key,
                                               uint64_t quarantine_bytes,
                                               RaiseErasureFn raise_erasure);
  ~ConsentRuntime();
  // Stops the sweep and deletes what is held (audited, reason "shutdown"). Idempotent.
  void Stop();

 private:
  ConsentRuntime() = default;
  server::App* app_ = nullptr;
  std::unique_ptr<consent::ConsentGate> gate_;
  std::unique_ptr<consent::Quarantine> quarantine_;
  std::thread sweeper_;
  std::atomic<bool> stop_{false};
};

// The JSON of a subject's ledger entries ({"entries": [...]}, oldest first): the entries of
// the (token, pseudonym) pairs and of the sessions, each once.
Result<std::string> ConsentHistoryJson(
    consent::Ledger* ledger, const std::vector<std::pair<std::string, std::string>>& subjects,
    const std::vector<std::string>& sessions);

}  // namespace scrubd::cli
