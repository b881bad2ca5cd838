// Secret key files under DATA_DIR/keys: created on first use with 0600 permissions, refused
// when group/other can read them. Thread-safe (no shared state).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "scrubd/common/status.h"

namespace scrubd::server {

// Returns the key bytes at `path`, creating `bytes` random bytes there if absent.
Result<std::string> LoadOrCreateKey(const std::filesystem::path& path, size_t bytes);

// Returns an admin token (hex), from `path` or freshly generated there.
Result<std::string> LoadOrCreateToken(const std::filesystem::path& path);

// The load half of the two above, writing nothing (`serve --check`): the key (or the trimmed
// token) at `path` with the same checks (mode 0600, readable, long enough), or nullopt when
// there is no file, i.e. when serve would create one. kInvalidConfig otherwise.
Result<std::optional<std::string>> ReadKeyIfPresent(const std::filesystem::path& path);
Result<std::optional<std::string>> ReadTokenIfPresent(const std::filesystem::path& path);

// `bytes` fresh random bytes (RAND_bytes); kInternal if the generator fails.
Result<std::string> RandomBytes(size_t bytes);

// HMAC-SHA256(key, id), first 16 hex chars: a stable pseudonym for logs and the audit log.
std::string Pseudonym(const std::string& key, std::string_view id);

std::string HexEncode(std::string_view bytes);

}  // namespace scrubd::server
