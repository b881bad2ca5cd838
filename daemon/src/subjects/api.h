// The HTTP surface of subject requests, socket-free: the admin routes the CLI uses
// (/admin/subjects/requests...) and OpenDSR 2.0 (/v1/...). The server authenticates and
// routes here; these handlers only parse, call the Service and render (docs/subjects.md).
// Thread-safe (the Service is).
#pragma once

#include <string>

#include "subjects/service.h"

namespace scrubd::subjects {

struct ApiRequest {
  std::string method;
  std::string path;  // without the query
  std::string body;
};

struct ApiReply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
};

struct ApiOptions {
  std::string controller_id = "scrubd";
  size_t max_body_bytes = 64 << 10;
};

// POST /admin/subjects/requests {"type", "identities": [{"type", "value", "format"}],
//   "regulation", "reason"} -> 201 record; GET /admin/subjects/requests/<id> -> record (with
//   the receipt once an erasure completed); GET /admin/subjects/requests/<id>/bundle -> zip.
ApiReply HandleAdminSubjects(Service& service, const ApiRequest& req, const ApiOptions& opts);

// The console's list (GET /admin/api/subjects/requests, no query): {"requests": [record,
// newest received first, at most kMaxListedRequests], "total": every request}.
inline constexpr size_t kMaxListedRequests = 200;
ApiReply ListRequests(Service& service, std::string_view query);

// GET /v1/discovery, POST /v1/requests, GET and DELETE /v1/requests/<id>,
// GET /v1/requests/<id>/results (the access bundle).
ApiReply HandleOpenDsr(Service& service, const ApiRequest& req, const ApiOptions& opts);

// {"error": code, "message": message} with `status`: the error body of every admin route here
// and of the retention routes.
ApiReply ErrorReply(unsigned status, std::string_view code, std::string_view message);

// The record as JSON: id, type, regulation, status, times (RFC 3339), and the receipt or the
// results summary. Never the identities (the record holds pseudonyms only anyway).
std::string RecordJson(const RequestRecord& r);

}  // namespace scrubd::subjects
