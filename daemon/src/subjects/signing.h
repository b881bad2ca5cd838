// Signs OpenDSR responses and callbacks (X-OpenDSR-Processor-Domain, X-OpenDSR-Signature):
// an Ed25519 signature over the raw body bytes, base64. Immutable after creation; Sign, Verify
// and Headers may be called from any thread (each call has its own EVP_MD_CTX).
// Deviation from the spec (FIPS 186-4, CA-issued X.509): see docs/subjects.md, "Signing".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::subjects {

class DsrSigner {
 public:
  ~DsrSigner();
  DsrSigner(const DsrSigner&) = delete;
  DsrSigner& operator=(const DsrSigner&) = delete;

  // `domain` is the X-OpenDSR-Processor-Domain value. kInvalidConfig on a bad key.
  static Result<std::unique_ptr<DsrSigner>> FromPrivatePem(std::string_view pem,
                                                           std::string domain);
  static Result<std::unique_ptr<DsrSigner>> Generate(std::string domain);

  Result<std::string> Sign(std::string_view body) const;  // base64 of the 64-byte signature
  std::string PublicPem() const;                          // what processor_certificate serves
  std::string PrivatePem() const;                         // for persisting a generated key
  // The two headers, or none when signing fails (never happens with a valid key).
  std::vector<std::pair<std::string, std::string>> Headers(std::string_view body) const;

  // Checks a base64 signature of `body` against a PEM public key (controllers, tests).
  static bool Verify(std::string_view public_pem, std::string_view body,
                     std::string_view signature_b64);

 private:
  DsrSigner(void* pkey, std::string domain) : pkey_(pkey), domain_(std::move(domain)) {}
  void* pkey_;  // EVP_PKEY*
  std::string domain_;
};

}  // namespace scrubd::subjects
