// Key files: O_EXCL creation with mode 0600, permission check on load.
#include "server/keys.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sink/local_store.h"

namespace scrubd::server {
namespace fs = std::filesystem;

std::string HexEncode(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

namespace {

constexpr size_t kMinKeyBytes = 16;  // keys and tokens alike

// The file's bytes after the mode and length checks; nullopt when it does not exist.
Result<std::optional<std::string>> ReadPrivateFile(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Status::InvalidConfig(path.string() + ": cannot stat key file: " + strerror(errno));
  }
  if (st.st_mode & 077) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidConfig(path.string() + ": key file must be mode 0600, is " + mode);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::InvalidConfig(path.string() + ": cannot read key file: " + strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string key = ss.str();
  if (key.size() < kMinKeyBytes)
    return Status::InvalidConfig(path.string() + ": key file too short");
  return std::optional<std::string>(std::move(key));
}

}  // namespace

Result<std::string> RandomBytes(size_t bytes) {
  std::string out(bytes, '\0');
  if (bytes > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(bytes)) != 1)
    return Status::Internal("RAND_bytes failed");
  return out;
}

Result<std::optional<std::string>> ReadKeyIfPresent(const fs::path& path) {
  return ReadPrivateFile(path);
}

Result<std::optional<std::string>> ReadTokenIfPresent(const fs::path& path) {
  Result<std::optional<std::string>> raw = ReadPrivateFile(path);
  if (!raw.ok() || !raw->has_value()) return raw;
  std::string t = **raw;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return std::optional<std::string>(std::move(t));
}

Result<std::string> LoadOrCreateKey(const fs::path& path, size_t bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  fs::permissions(path.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
  Result<std::optional<std::string>> present = ReadKeyIfPresent(path);
  if (!present.ok()) return present.status();
  if (present->has_value()) return **present;
  Result<std::string> key = RandomBytes(bytes);
  if (!key.ok()) return key.status();
  if (Status s = sink::WriteFileDurably(path, *key, 0600); !s.ok()) return s;
  return key;
}

Result<std::string> LoadOrCreateToken(const fs::path& path) {
  Result<std::optional<std::string>> present = ReadTokenIfPresent(path);
  if (!present.ok()) return present.status();
  if (present->has_value()) return **present;
  Result<std::string> random = RandomBytes(24);
  if (!random.ok()) return random.status();
  std::string token = HexEncode(*random);
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (Status s = sink::WriteFileDurably(path, token + "\n", 0600); !s.ok()) return s;
  return token;
}

std::string Pseudonym(const std::string& key, std::string_view id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(id.data()), id.size(), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), 8));
}

}  // namespace scrubd::server
