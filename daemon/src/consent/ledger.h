// The consent ledger: an append-only SQLite table (DATA_DIR/consent/ledger.sqlite) of every
// change of a session's consent state, as proof (docs/consent.md "Ledger"). Rows name the
// subject by pseudonym and the evidence by sha256, never by raw value. Thread-safe.
#pragma once

#include <sqlite3.h>

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "consent/evidence.h"
#include "scrubd/common/status.h"

namespace scrubd::consent {

struct LedgerEntry {
  int64_t seq = 0;  // assigned by Append
  int64_t time_ms = 0;
  std::string token;
  std::string session;  // the posthog session id ("" for an event without one)
  std::string subject;  // IdentifierPseudonym of the distinct id ("" without a key or an id)
  ConsentState state = ConsentState::kUnknown;
  std::string source, signal;
  std::vector<std::string> purposes;
  std::vector<int> vendors;
  std::string value_sha256;
  std::string policy_name, policy_sha256;
  int64_t policy_version = 0;
  std::string erasure_request;  // the erasure request a withdrawal raised ("" for none)
};

// The entry as JSON (`scrubd consent show --json`, the access bundle's consent.json).
boost::json::object LedgerEntryJson(const LedgerEntry& e);

class Ledger {
 public:
  // Opens (creating the directory 0700 and the file 0600 unless `read_only`) and migrates.
  static Result<std::unique_ptr<Ledger>> Open(const std::filesystem::path& file, bool read_only);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Appends durably and sets e->seq. Rows cannot be updated or deleted (triggers refuse).
  Status Append(LedgerEntry* e);
  // The newest entry of a session / of a subject pseudonym in a project.
  Result<std::optional<LedgerEntry>> LatestForSession(const std::string& token,
                                                      const std::string& session);
  Result<std::optional<LedgerEntry>> LatestForSubject(const std::string& token,
                                                      const std::string& subject);
  // Oldest first: every entry of a session (any project), or of the (token, subject) pairs.
  Result<std::vector<LedgerEntry>> ForSession(const std::string& session);
  Result<std::vector<LedgerEntry>> ForSubjects(
      const std::vector<std::pair<std::string, std::string>>& token_subjects);
  // The projects the ledger has seen (for pseudonymising a raw distinct id per project).
  Result<std::vector<std::string>> Tokens();

 private:
  explicit Ledger(sqlite3* db) : db_(db) {}
  Result<std::vector<LedgerEntry>> Query(const char* sql, const std::vector<std::string>& args);

  sqlite3* db_;
  std::mutex mu_;
};

// DATA_DIR/consent/ledger.sqlite
std::filesystem::path LedgerPath(const std::filesystem::path& data_dir);

}  // namespace scrubd::consent
