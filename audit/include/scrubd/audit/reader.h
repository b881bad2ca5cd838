// Reads back what an audit log directory says: its entries in seq order (type and payload), for
// tools that report from a log rather than prove it (the policy workbench's redaction counts).
// Checks each record's framing and leaf hash, not the chain or the signatures (Verify does).
// Stateless; any caller, any thread (each call reads the files itself).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::audit {

struct LogEntry {
  uint64_t seq = 0;
  uint64_t time_us = 0;
  std::string type;     // "batch", "policy_load", ...
  std::string payload;  // the JSON object text the writer was given
};

// Every entry of DIR/audit (`audit_dir`) in seq order. A torn tail of the last segment ends the
// list (as the writer's recovery treats it); a bad header or record is kCorruption naming the
// segment and offset. The directory must not be written meanwhile (open no Log on it, or read
// after Close).
Result<std::vector<LogEntry>> ReadEntries(const std::filesystem::path& audit_dir);

}  // namespace scrubd::audit
