// Internal to the workbench runner (runner.cc): the private temporary data dir a run writes
// to, the log capture that takes spdlog's default logger for the run, and the read-back of a
// run's store, audit log and files into a RunResult. Single-threaded; one run at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "scrubd/audit/reader.h"
#include "scrubd/common/status.h"
#include "sink/local_store.h"
#include "workbench/runner.h"

namespace spdlog {
class logger;
}

namespace scrubd::workbench {

// A fresh 0700 directory under the system temp dir, removed with everything in it on
// destruction.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> Create();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ScratchDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// While it lives, spdlog's default logger is one that writes every level (trace up) to
// memory only; the previous default logger is restored on destruction.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  std::string Text() const;

 private:
  std::shared_ptr<spdlog::logger> previous_, capture_;
  std::shared_ptr<std::ostringstream> text_;
};

// The sessions (with their windows) and analytics events of `store`, as export reads them.
Status ReadStored(sink::LocalStore& store, RunResult* out);

// Every file under `dir`, each followed by its decoding when it is a zstd chunk, then the
// index rows the store gives back (ids, facts), as one text appended to `out->bytes`.
Status CollectBytes(const std::filesystem::path& dir, sink::LocalStore& store, RunResult* out);

// The redaction counts, dropped events by reason, events in and stored, from the entries of a
// run's audit log (batch, batch_not_stored, consent_discarded, consent_timeout).
void CountFromAudit(const std::vector<audit::LogEntry>& entries, RunResult* out);

// Appends the sessions and events of `out`, serialised, to `out->bytes`.
void AppendDecodedForms(RunResult* out);

}  // namespace scrubd::workbench
