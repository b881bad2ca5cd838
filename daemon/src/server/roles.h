// Admin roles and the bearer tokens that carry them: the tokens file (`<role> <token>` per
// line, mode 0600) and a table that finds a presented token's role in constant time. Loaded
// once at startup by main; the table is immutable afterwards and thread-safe to read.
#pragma once

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::server {

// admin: everything; dsr: subject requests only; auditor: read-only audit and /metrics.
enum class Role { kAdmin, kDsr, kAuditor };

const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);
// True when a token of role `have` may call a route that requires `need`.
bool RoleAllows(Role have, Role need);

struct RoleToken {
  Role role;
  std::string token;
};

// Parses a tokens file's text: one `<role> <token>` per line, `#` comments and blank lines
// ignored. Tokens are 16..256 printable non-space ASCII characters and unique. kInvalidConfig
// names `file:N` of the first bad line, never the token.
Result<std::vector<RoleToken>> ParseTokens(std::string_view text, const std::string& file);
// Reads and parses `path`; refuses it (kInvalidConfig) when group or other may read it.
Result<std::vector<RoleToken>> LoadTokensFile(const std::filesystem::path& path);

class TokenTable {
 public:
  TokenTable() = default;
  explicit TokenTable(const std::vector<RoleToken>& tokens);
  // The role of the token in "Authorization: Bearer <token>", or nullopt (absent, malformed,
  // unknown). Compares SHA-256 digests against every entry without an early exit.
  std::optional<Role> RoleOf(std::string_view authorization) const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    Role role;
  };
  std::vector<Entry> entries_;
};

}  // namespace scrubd::server
