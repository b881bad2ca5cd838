// The OpenDSR 2.0 wire format (github.com/opengdpr/OpenDSR, specification.md): parsing and
// validating request bodies, and building the discovery, 201, status, 202 and error bodies.
// Pure functions, no sockets, no logging, no state: any thread may call them. Messages name
// fields and indices only; they never quote a value taken from the request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::subjects {

struct DsrIdentity {
  std::string type;    // "controller_customer_id" (a distinct id) | "email"
  std::string value;   // as given; sha256 values lower-cased
  std::string format;  // "raw" | "sha256"
};

struct DsrRequest {
  std::string subject_request_id;    // lowercase UUID v4
  std::string subject_request_type;  // "erasure" | "access" | "portability"
  std::string regulation;            // "gdpr" | "ccpa"
  int64_t submitted_ms = 0;          // submitted_time, Unix ms UTC
  std::vector<DsrIdentity> identities;
  std::vector<std::string> callback_urls;  // each checked by ParseCallbackUrl (callbacks.h)
  std::string api_version;                 // "" when absent
};

// Bounds on what a request may carry; over a bound is a 400 like any other invalid field.
struct DsrLimits {
  size_t max_body_bytes = 64 * 1024;
  size_t max_depth = 16;  // JSON nesting (extensions may nest a little)
  size_t max_identities = 16;
  size_t max_identity_value_bytes = 512;
  size_t max_callback_urls = 8;
  size_t max_url_bytes = 2048;
  size_t max_api_version_bytes = 16;
  size_t max_extensions_bytes = 16 * 1024;  // serialized size of `extensions`
};

// Validates a POST /v1/requests body (rules in docs/subjects.md, "OpenDSR API"). Unknown
// top-level fields are ignored (the spec evolves by adding optional fields), `extensions` is
// checked for shape and size and then ignored. Errors: kTooLarge for an over-limit body or
// nesting, kInvalidInput for the rest; turn either into a 400 with DsrErrorBody(status).
Result<DsrRequest> ParseDsrRequest(std::string_view body, const DsrLimits& limits = {});

// True for a lowercase UUID v4: 8-4-4-4-12 hex, version nibble 4, variant 8, 9, a or b.
bool IsUuidV4(std::string_view s);

struct DsrErrorDetail {
  std::string domain;   // "Validation", "Authorization", "Request"
  std::string reason;   // "IllegalArgumentException", "RequestTooLarge", ...
  std::string message;  // never an identity value
};
// {"error": {"code": 400, "message": ..., "errors": [{"domain", "reason", "message"}]}}
std::string DsrErrorBody(int code, std::string_view message,
                         const std::vector<DsrErrorDetail>& errors);
// The 400 body for a ParseDsrRequest failure (domain "Validation"; reason
// "RequestTooLarge" for kTooLarge, else "IllegalArgumentException").
std::string DsrErrorBody(const Status& status);

// 201 body: controller_id, expected_completion_time, received_time, encoded_request (base64
// of `raw_body`, exactly as received), subject_request_id.
std::string CreatedResponse(std::string_view controller_id, std::string_view subject_request_id,
                            int64_t received_ms, int64_t expected_ms, std::string_view raw_body);

// 202 body for DELETE: controller_id, subject_request_id, received_time (of the cancellation),
// api_version "2.0".
std::string CancelledResponse(std::string_view controller_id, std::string_view subject_request_id,
                              int64_t received_ms);

// What a status or callback body needs from a request record (subjects::RequestRecord has
// these fields; the templates below take it directly).
struct DsrRecordView {
  std::string_view id, type, regulation, status;
  int64_t received_ms = 0, expected_ms = 0;
};
template <class Record>
DsrRecordView ViewOf(const Record& r) {
  return {r.id, r.type, r.regulation, r.status, r.received_ms, r.expected_ms};
}

// The spec's request_status for a stored status: pending, in_progress, completed, cancelled
// pass through; anything else (deferred under a hold, failed and awaiting a retry) is
// "in_progress", since the request was accepted and is neither done nor cancellable.
std::string_view WireStatus(std::string_view stored_status);

// GET /v1/requests/{id} body: controller_id, subject_request_id, request_status,
// expected_completion_time, received_time, api_version; `results_url` when the type is access
// or portability and it is non-empty; for a completed erasure, `receipt` = the parsed
// `receipt_json` object (omitted when empty or not a JSON object).
std::string StatusResponse(const DsrRecordView& r, std::string_view results_url,
                           std::string_view receipt_json, std::string_view controller_id);
template <class Record>
std::string StatusResponse(const Record& r, std::string_view results_url,
                           std::string_view receipt_json, std::string_view controller_id) {
  return StatusResponse(ViewOf(r), results_url, receipt_json, controller_id);
}

struct DiscoveryOptions {
  std::string processor_certificate;  // URL of the signing key/certificate; "" omits it
  bool access = true;                 // offer access and portability (erasure is always on)
};
// GET /v1/discovery body: api_version "2.0", supported_identities (controller_customer_id and
// email, each raw and sha256), supported_subject_request_types, processor_certificate.
// `controller_id` is not part of the 2.0 discovery shape and is not emitted (kept so that the
// service can pass the same arguments to every builder).
std::string DiscoveryResponse(std::string_view controller_id, const DiscoveryOptions& opts = {});

// Standard base64 with padding (encoded_request, signatures).
std::string Base64(std::string_view bytes);

}  // namespace scrubd::subjects
