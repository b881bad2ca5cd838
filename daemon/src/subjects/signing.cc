#include "subjects/signing.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "subjects/opendsr.h"

namespace scrubd::subjects {
namespace {

EVP_PKEY* Key(void* p) { return static_cast<EVP_PKEY*>(p); }

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr && n > 0 ? std::string(data, static_cast<size_t>(n)) : "");
  BIO_free(bio);
  return out;
}

// Strict base64 decode via EVP_DecodeBlock; nullopt-like empty result on any error.
bool DecodeBase64(std::string_view in, std::string* out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  out->assign(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return false;
  size_t pad = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  out->resize(static_cast<size_t>(n) - pad);
  return Base64(*out) == in;  // canonical only
}

}  // namespace

DsrSigner::~DsrSigner() { EVP_PKEY_free(Key(pkey_)); }

Result<std::unique_ptr<DsrSigner>> DsrSigner::FromPrivatePem(std::string_view pem,
                                                             std::string domain) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return Status::Internal("opendsr signer: out of memory");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return Status::InvalidConfig("opendsr signer: not an Ed25519 private key (PEM)");
  }
  return std::unique_ptr<DsrSigner>(new DsrSigner(pkey, std::move(domain)));
}

Result<std::unique_ptr<DsrSigner>> DsrSigner::Generate(std::string domain) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) return Status::Internal("opendsr signer: key generation failed");
  return std::unique_ptr<DsrSigner>(new DsrSigner(pkey, std::move(domain)));
}

Result<std::string> DsrSigner::Sign(std::string_view body) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t len = sig.size();
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, Key(pkey_)) == 1 &&
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != 64) return Status::Internal("opendsr signer: signing failed");
  return Base64(sig);
}

std::string DsrSigner::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  PEM_write_bio_PUBKEY(bio, Key(pkey_));
  return BioString(bio);
}

std::string DsrSigner::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  PEM_write_bio_PrivateKey(bio, Key(pkey_), nullptr, nullptr, 0, nullptr, nullptr);
  return BioString(bio);
}

std::vector<std::pair<std::string, std::string>> DsrSigner::Headers(std::string_view body) const {
  Result<std::string> sig = Sign(body);
  if (!sig.ok()) return {};
  return {{"X-OpenDSR-Processor-Domain", domain_}, {"X-OpenDSR-Signature", *sig}};
}

bool DsrSigner::Verify(std::string_view public_pem, std::string_view body,
                       std::string_view signature_b64) {
  std::string sig;
  if (!DecodeBase64(signature_b64, &sig) || sig.size() != 64) return false;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  if (bio == nullptr) return false;
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519 &&
            EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

}  // namespace scrubd::subjects
