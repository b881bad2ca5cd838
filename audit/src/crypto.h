// Crypto primitives for the audit log: SHA-256, Ed25519 keys and signatures (OpenSSL 3 EVP),
// strict base64 and hex. Internal to scrubd_audit (not installed); tests may include it.
// Sha256 objects are single-thread; Ed25519Key is immutable after creation and may be shared
// between threads for Sign/Verify (each call uses its own EVP_MD_CTX).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "scrubd/audit/merkle.h"
#include "scrubd/common/status.h"

namespace scrubd::audit {

// Incremental SHA-256 with a pre-fetched EVP_MD and a reused context (no per-call fetch).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Reset();
  void Update(const void* data, size_t len);
  Hash Final();  // also resets

  static Hash Of(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Base64Encode(std::span<const uint8_t> data);
// Rejects anything that does not re-encode to exactly `text` (canonical, padded, std alphabet).
std::optional<std::string> Base64DecodeStrict(std::string_view text);
std::string HexEncode(std::span<const uint8_t> data);
std::optional<std::string> HexDecode(std::string_view text);

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// An Ed25519 key: always has a public half; HasPrivate() when it can sign.
class Ed25519Key {
 public:
  ~Ed25519Key();
  Ed25519Key(const Ed25519Key&) = delete;
  Ed25519Key& operator=(const Ed25519Key&) = delete;

  static Result<std::unique_ptr<Ed25519Key>> Generate();
  static Result<std::unique_ptr<Ed25519Key>> FromPrivatePem(std::string_view pem);
  static Result<std::unique_ptr<Ed25519Key>> FromPublicPem(std::string_view pem);
  static Result<std::unique_ptr<Ed25519Key>> FromRawPublic(std::span<const uint8_t> raw);

  bool HasPrivate() const { return has_private_; }
  const std::string& RawPublic() const { return raw_public_; }  // 32 bytes
  Result<std::string> PrivatePem() const;
  std::string PublicPem() const;

  Result<std::string> Sign(std::string_view message) const;  // 64 bytes
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  Ed25519Key(void* pkey, bool has_private);
  void* pkey_;  // EVP_PKEY*
  bool has_private_;
  std::string raw_public_;
};

// C2SP signed-note key id: first 4 bytes of H(name || 0x0A || 0x01 || raw_pub).
std::string NoteKeyId(std::string_view name, std::string_view raw_public);

// Reads a whole file. Returns Io / NotFound.
Result<std::string> ReadFile(const std::filesystem::path& path);
// Writes via temp file + fsync + rename + fsync(dir), with the given mode.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, int mode);

}  // namespace scrubd::audit
