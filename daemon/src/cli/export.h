// `scrubd export`: one stored session as a JSON array of rrweb events, always audited. The
// daemon owns the audit log (flock), so while it runs the CLI asks it over its admin API
// (the address it publishes in DATA_DIR/run/serve.addr); otherwise the CLI appends the
// export entry itself. Either way the entry is written before any byte is handed out.
// Called from main only; not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "scrubd/common/status.h"

namespace scrubd::cli {

struct ExportRequest {
  std::filesystem::path data_dir;
  std::string session;
  std::string token;                       // required when several tokens hold the session id
  std::string window;                      // empty: every window
  std::filesystem::path admin_token_file;  // empty: DATA_DIR/keys/admin.token
};

// The export body; kUnavailable when neither the audit log nor a running daemon can take the
// export entry (nothing is exported then).
Result<std::string> ExportAudited(const ExportRequest& req);

// Where `serve` publishes its listening address for the CLI: DATA_DIR/run/serve.addr.
std::filesystem::path ServeAddrFile(const std::filesystem::path& data_dir);

}  // namespace scrubd::cli
