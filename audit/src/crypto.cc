#include "crypto.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "scrubd/common/env.h"

namespace scrubd::audit {
namespace {

const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { Reset(); }
Sha256::~Sha256() = default;

void Sha256::Reset() {
  if (EVP_DigestInit_ex2(impl_->ctx, Sha256Md(), nullptr) != 1) std::abort();
}

void Sha256::Update(const void* data, size_t len) {
  if (EVP_DigestUpdate(impl_->ctx, data, len) != 1) std::abort();
}

Hash Sha256::Final() {
  Hash out;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) != 1 || len != out.size()) std::abort();
  Reset();
  return out;
}

Hash Sha256::Of(std::string_view data) {
  thread_local Sha256 h;
  h.Update(data.data(), data.size());
  return h.Final();
}

std::string Base64Encode(std::span<const uint8_t> d) {
  std::string out;
  out.reserve((d.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= d.size(); i += 3) {
    uint32_t v = (uint32_t{d[i]} << 16) | (uint32_t{d[i + 1]} << 8) | d[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back(kB64[v & 63]);
  }
  size_t rest = d.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{d[i]} << 16;
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{d[i]} << 16) | (uint32_t{d[i + 1]} << 8);
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> Base64DecodeStrict(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad != 0) return std::nullopt;  // data after padding
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2) return std::nullopt;
  // Canonical form only: re-encoding must reproduce the input exactly (rejects non-zero
  // padding bits and wrong padding length).
  if (Base64Encode(AsBytes(out)) != text) return std::nullopt;
  return out;
}

std::string HexEncode(std::span<const uint8_t> d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view t) {
  if (t.size() % 2 != 0) return std::nullopt;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < t.size(); i += 2) {
    int hi = nib(t[i]), lo = nib(t[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

Ed25519Key::Ed25519Key(void* pkey, bool has_private) : pkey_(pkey), has_private_(has_private) {
  auto* k = static_cast<EVP_PKEY*>(pkey_);
  size_t len = 32;
  raw_public_.resize(32);
  if (EVP_PKEY_get_raw_public_key(k, reinterpret_cast<unsigned char*>(raw_public_.data()), &len) !=
          1 ||
      len != 32) {
    raw_public_.clear();
  }
}

Ed25519Key::~Ed25519Key() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

Result<std::unique_ptr<Ed25519Key>> Ed25519Key::Generate() {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::Internal("Ed25519 key generation failed");
  return std::unique_ptr<Ed25519Key>(new Ed25519Key(pkey, true));
}

Result<std::unique_ptr<Ed25519Key>> Ed25519Key::FromPrivatePem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) return Status::Corruption("not a PEM private key");
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::Corruption("private key is not Ed25519");
  }
  std::unique_ptr<Ed25519Key> key(new Ed25519Key(pkey, true));
  if (key->raw_public_.size() != 32) return Status::Corruption("bad Ed25519 key");
  return key;
}

Result<std::unique_ptr<Ed25519Key>> Ed25519Key::FromPublicPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) return Status::InvalidInput("not a PEM public key");
  if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::InvalidInput("public key is not Ed25519");
  }
  std::unique_ptr<Ed25519Key> key(new Ed25519Key(pkey, false));
  if (key->raw_public_.size() != 32) return Status::InvalidInput("bad Ed25519 key");
  return key;
}

Result<std::unique_ptr<Ed25519Key>> Ed25519Key::FromRawPublic(std::span<const uint8_t> raw) {
  if (raw.size() != 32) return Status::InvalidInput("Ed25519 public key must be 32 bytes");
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (pkey == nullptr) return Status::InvalidInput("bad Ed25519 public key");
  return std::unique_ptr<Ed25519Key>(new Ed25519Key(pkey, false));
}

Result<std::string> Ed25519Key::PrivatePem() const {
  if (!has_private_) return Status::Internal("no private key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), static_cast<EVP_PKEY*>(pkey_), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return Status::Internal("PEM_write_bio_PrivateKey failed");
  }
  return BioToString(bio.get());
}

std::string Ed25519Key::PublicPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), static_cast<EVP_PKEY*>(pkey_)) != 1) return {};
  return BioToString(bio.get());
}

Result<std::string> Ed25519Key::Sign(std::string_view message) const {
  if (!has_private_) return Status::Internal("cannot sign with a public key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t sig_len = sig.size();
  bool ok =
      ctx != nullptr &&
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1 &&
      sig_len == 64;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Internal("Ed25519 signing failed");
  return sig;
}

bool Ed25519Key::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string NoteKeyId(std::string_view name, std::string_view raw_public) {
  std::string msg(name);
  msg.push_back('\n');
  msg.push_back('\x01');
  msg.append(raw_public);
  Hash h = Sha256::Of(msg);
  return std::string(reinterpret_cast<const char*>(h.data()), 4);
}

// One reader for files: common's Env (the seam tests inject faults through); the path is named
// here, where the caller knows it is not personal data.
Result<std::string> ReadFile(const std::filesystem::path& path) {
  Result<std::string> r = Env::Default()->ReadFile(path);
  if (r.ok()) return r;
  std::string what = path.string() + ": " + r.status().message();
  if (r.status().code() == Code::kNotFound) return Status::NotFound(what);
  return Status::Io(what);
}

Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data, int mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io(tmp.string() + ": " + std::strerror(errno));
  ::fchmod(fd, static_cast<mode_t>(mode));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::Io(tmp.string() + ": write: " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return Status::Io(tmp.string() + ": fsync: " + std::strerror(e));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Io(path.string() + ": rename: " + std::strerror(errno));
  }
  int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace scrubd::audit
