// Wires the subjects module into `scrubd serve`: the subject index as the ingest pipeline's
// hooks (tombstone check, indexing), the request service on a work queue, the PostHog eraser,
// OpenDSR status callbacks, legal holds (erasure deferral), and the admin, OpenDSR and holds
// routes. The composition root for subjects and holds, so neither server/ nor subjects/
// depends on the other. Start before serving; the runtime must outlive the App's use of it
// (Stop before the App goes).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>

#include "cli/config.h"
#include "scrubd/common/status.h"

namespace scrubd::audit {
class Log;
}
namespace scrubd::dom {
class StateStore;
}
namespace scrubd::sink {
class LocalStore;
class Spool;
}  // namespace scrubd::sink
namespace scrubd::server {
class App;
}
namespace scrubd::retention {
class HoldStore;
}
namespace scrubd::consent {
class Ledger;
}

namespace scrubd::cli {

struct SubjectsDeps {
  std::filesystem::path data_dir;
  std::string identity_key, pseudonym_key;
  sink::LocalStore* store = nullptr;  // null when only forwarding
  sink::Spool* spool = nullptr;       // null without an upstream
  dom::StateStore* state = nullptr;
  audit::Log* log = nullptr;
  server::App* app = nullptr;
  consent::Ledger* ledger = nullptr;  // the consent ledger (access bundles' consent.json)
};

class SubjectsRuntime {
 public:
  static Result<std::unique_ptr<SubjectsRuntime>> Start(const ServeConfig& cfg,
                                                        const SubjectsDeps& deps);
  ~SubjectsRuntime();
  // Finishes the queued request steps, stops callbacks and the ticker. Idempotent.
  void Stop();
  // Submits an erasure request for a raw distinct id (a consent withdrawal under
  // on_withdrawal: erase) and returns its id; it runs on the work queue like any other.
  Result<std::string> RaiseErasure(const std::string& token, const std::string& distinct_id);
  // The legal holds (purge consults them too); owned by the runtime.
  retention::HoldStore* holds() const;

  struct Parts;  // the components (subjects_wiring.cc)

 private:
  SubjectsRuntime() = default;
  std::unique_ptr<Parts> parts_;
  std::thread ticker_;
  std::atomic<bool> stop_{false};
};

}  // namespace scrubd::cli
