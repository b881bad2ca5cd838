// One HTTP call from the CLI to the running daemon's admin API, at the address it publishes in
// DATA_DIR/run/serve.addr, with a bearer token from a 0600 file. Used by `export`, `forget`
// and the subject commands. Blocking; not thread-safe with respect to the caller's stdio.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "scrubd/common/status.h"

namespace scrubd::cli {

struct DaemonReply {
  unsigned status = 0;
  std::string body;
};

// kNotFound when no daemon publishes an address, kUnavailable when it cannot be reached; the
// reply otherwise, whatever its status. `token_file` empty: DATA_DIR/keys/admin.token.
Result<DaemonReply> CallDaemon(const std::filesystem::path& data_dir,
                               const std::filesystem::path& token_file, std::string_view method,
                               const std::string& target, const std::string& body,
                               std::chrono::seconds timeout = std::chrono::seconds(30));

// The "message" of a JSON error body (or the body itself).
std::string ErrorMessageOf(const std::string& body);

}  // namespace scrubd::cli
