// Tokens file parsing and the constant-time role lookup. Messages name the file and line,
// never a token.
#include "server/roles.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <set>

#include "scrubd/common/env.h"

namespace scrubd::server {

namespace {

constexpr size_t kMinToken = 16, kMaxToken = 256;

std::array<unsigned char, 32> Digest(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool TokenChars(std::string_view t) {
  for (char c : t)
    if (c <= ' ' || c > '~') return false;
  return t.size() >= kMinToken && t.size() <= kMaxToken;
}

// One non-comment line: "<role> <token>".
Result<RoleToken> ParseLine(std::string_view line, const std::string& where) {
  size_t sp = line.find_first_of(" \t");
  if (sp == std::string_view::npos)
    return Status::InvalidConfig(where + ": expected '<role> <token>'");
  std::optional<Role> role = ParseRole(line.substr(0, sp));
  if (!role) return Status::InvalidConfig(where + ": unknown role (admin, dsr or auditor)");
  std::string_view token = Trim(line.substr(sp));
  if (token.find_first_of(" \t") != std::string_view::npos)
    return Status::InvalidConfig(where + ": expected '<role> <token>', found more fields");
  if (!TokenChars(token))
    return Status::InvalidConfig(where + ": a token is 16 to 256 printable characters");
  return RoleToken{*role, std::string(token)};
}

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAdmin: return "admin";
    case Role::kDsr: return "dsr";
    case Role::kAuditor: return "auditor";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kAdmin, Role::kDsr, Role::kAuditor})
    if (name == RoleName(r)) return r;
  return std::nullopt;
}

bool RoleAllows(Role have, Role need) { return have == Role::kAdmin || have == need; }

Result<std::vector<RoleToken>> ParseTokens(std::string_view text, const std::string& file) {
  std::vector<RoleToken> out;
  std::set<std::string> seen;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::string where = file + ":" + std::to_string(line_no);
    Result<RoleToken> t = ParseLine(line, where);
    if (!t.ok()) return t.status();
    if (!seen.insert(t->token).second)
      return Status::InvalidConfig(where + ": duplicate token (each token has one role)");
    out.push_back(std::move(t).value());
  }
  if (out.empty()) return Status::InvalidConfig(file + ": no tokens");
  return out;
}

Result<std::vector<RoleToken>> LoadTokensFile(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return Status::InvalidConfig(path.string() + ": cannot stat the admin tokens file");
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidConfig(path.string() + ": admin tokens file must be mode 0600, is " +
                                 mode);
  }
  Result<std::string> text = Env::Default()->ReadFile(path);
  if (!text.ok())
    return Status::InvalidConfig(path.string() + ": cannot read the admin tokens file");
  return ParseTokens(*text, path.string());
}

TokenTable::TokenTable(const std::vector<RoleToken>& tokens) {
  for (const RoleToken& t : tokens) entries_.push_back({Digest(t.token), t.role});
}

std::optional<Role> TokenTable::RoleOf(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer)) return std::nullopt;
  std::array<unsigned char, 32> presented = Digest(authorization.substr(kBearer.size()));
  std::optional<Role> found;
  for (const Entry& e : entries_)  // every entry is compared: no early exit
    if (CRYPTO_memcmp(e.digest.data(), presented.data(), presented.size()) == 0) found = e.role;
  return found;
}

}  // namespace scrubd::server
