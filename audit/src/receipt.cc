#include "scrubd/audit/receipt.h"

#include <boost/json.hpp>
#include <set>

#include "crypto.h"
#include "format.h"
#include "scrubd/audit/verify.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int kReceiptVersion = 1;
// Request fields a receipt must carry (and the entry must match).
constexpr std::string_view kRequiredRequestFields[] = {"request_id", "subject", "counts", "scan"};

Result<json::object> ParseObject(std::string_view text, const char* what) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Status::InvalidInput(std::string(what) + " is not a JSON object");
  }
  return std::move(v.as_object());
}

const json::object* ObjectField(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr ? v->if_object() : nullptr;
}

std::optional<std::string> StringField(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<uint64_t> UintField(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr) return std::nullopt;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return std::nullopt;
}

// Rejects keys outside `allowed`, so nothing unauthenticated rides along in a receipt.
Status OnlyKeys(const json::object& o, std::initializer_list<std::string_view> allowed,
                const char* where) {
  for (const auto& kv : o) {
    bool ok = false;
    for (std::string_view a : allowed) ok |= kv.key() == a;
    if (!ok)
      return Status::InvalidInput(std::string(where) + ": unknown field '" + std::string(kv.key()) +
                                  "'");
  }
  return Status::Ok();
}

// The entry type a request type is completed by.
std::optional<std::string_view> CompletionType(std::string_view request_type) {
  if (request_type == "erasure") return kErasureCompleted;
  if (request_type == "access" || request_type == "portability") return kAccessCompleted;
  return std::nullopt;
}

// Every request field must be in the entry's payload with the same value (`type` excepted:
// it must name the entry's type).
Status MatchRequest(const json::object& request, std::string_view entry_type,
                    std::string_view payload_text) {
  if (entry_type != kErasureCompleted && entry_type != kAccessCompleted) {
    return Status::Corruption("audit entry is a '" + std::string(entry_type) +
                              "' entry, not erasure_completed or access_completed");
  }
  auto payload = ParseObject(payload_text, "audit entry payload");
  if (!payload.ok()) return Status::Corruption(payload.status().message());
  for (std::string_view k : kRequiredRequestFields) {
    if (!request.contains(k))
      return Status::InvalidInput("receipt request lacks '" + std::string(k) + "'");
  }
  for (const auto& kv : request) {
    if (kv.key() == "type") {
      auto want = kv.value().is_string() ? CompletionType(kv.value().as_string()) : std::nullopt;
      if (!want || *want != entry_type) {
        return Status::Corruption("receipt request type does not match the " +
                                  std::string(entry_type) + " entry");
      }
      continue;
    }
    const json::value* got = payload->if_contains(kv.key());
    if (got == nullptr || *got != kv.value()) {
      return Status::Corruption("receipt request field '" + std::string(kv.key()) +
                                "' differs from the signed audit entry");
    }
  }
  return Status::Ok();
}

Result<InclusionProof> ProofFromJson(const json::object& audit) {
  if (Status s = OnlyKeys(
          audit, {"seq", "entry", "tree_size", "inclusion_path", "checkpoint", "public_key"},
          "receipt audit");
      !s.ok()) {
    return s;
  }
  InclusionProof p;
  auto seq = UintField(audit, "seq");
  auto size = UintField(audit, "tree_size");
  auto entry = StringField(audit, "entry");
  auto note = StringField(audit, "checkpoint");
  const json::value* path = audit.if_contains("inclusion_path");
  if (!seq || !size || !entry || !note || path == nullptr || !path->is_array()) {
    return Status::InvalidInput(
        "receipt audit: seq, entry, tree_size, inclusion_path and "
        "checkpoint are required");
  }
  auto body = Base64DecodeStrict(*entry);
  if (!body) return Status::Corruption("receipt audit entry is not canonical base64");
  for (const json::value& h : path->as_array()) {
    std::optional<std::string> raw;
    if (h.is_string()) raw = HexDecode(h.as_string());
    if (!raw || raw->size() != 32 || HexEncode(AsBytes(*raw)) != h.as_string()) {
      return Status::Corruption("receipt inclusion path holds a malformed hash");
    }
    Hash hash;
    std::copy(raw->begin(), raw->end(), hash.begin());
    p.path.push_back(hash);
  }
  p.seq = *seq;
  p.tree_size = *size;
  p.entry_body = std::move(*body);
  p.checkpoint_note = std::move(*note);
  return p;
}

std::string ReceiptJson(const json::object& request, const InclusionProof& proof,
                        const std::string& signer_pem) {
  json::array path;
  for (const Hash& h : proof.path) path.emplace_back(HexEncode(h));
  json::object audit;
  audit["seq"] = proof.seq;
  audit["entry"] = Base64Encode(AsBytes(proof.entry_body));
  audit["tree_size"] = proof.tree_size;
  audit["inclusion_path"] = std::move(path);
  audit["checkpoint"] = proof.checkpoint_note;
  audit["public_key"] = signer_pem;
  json::object r;
  r["receipt_version"] = kReceiptVersion;
  r["request"] = request;
  r["audit"] = std::move(audit);
  return json::serialize(r) + "\n";
}

}  // namespace

Status VerifyReceipt(std::string_view receipt_json, std::string_view public_key_pem) {
  return VerifyReceipt(receipt_json, public_key_pem, nullptr);
}

Status VerifyReceipt(std::string_view receipt_json, std::string_view public_key_pem,
                     ReceiptSummary* summary) {
  auto r = ParseObject(receipt_json, "receipt");
  if (!r.ok()) return r.status();
  if (Status s = OnlyKeys(*r, {"receipt_version", "request", "audit"}, "receipt"); !s.ok()) {
    return s;
  }
  if (UintField(*r, "receipt_version") != uint64_t{kReceiptVersion}) {
    return Status::InvalidInput("receipt_version is not 1");
  }
  const json::object* request = ObjectField(*r, "request");
  const json::object* audit = ObjectField(*r, "audit");
  if (request == nullptr || audit == nullptr) {
    return Status::InvalidInput("receipt needs a 'request' and an 'audit' object");
  }
  auto proof = ProofFromJson(*audit);
  if (!proof.ok()) return proof.status();
  Status s = VerifyInclusionProof(proof.value(), public_key_pem);
  if (!s.ok()) return Status::Corruption(s.message());
  format::Entry e;
  std::string why;
  if (!format::DecodeBody(proof->entry_body, &e, &why)) {
    return Status::Corruption("receipt entry: " + why);
  }
  if (Status m = MatchRequest(*request, e.type, e.payload); !m.ok()) return m;
  if (summary != nullptr) {
    summary->seq = proof->seq;
    summary->tree_size = proof->tree_size;
    summary->entry_type = std::string(e.type);
    summary->request_id = StringField(*request, "request_id").value_or("");
  }
  return Status::Ok();
}

Result<std::string> MakeReceipt(Log& log, const fs::path& audit_dir, uint64_t seq,
                                std::string_view request_json) {
  auto request = ParseObject(request_json, "receipt request");
  if (!request.ok()) return request.status();
  std::string signer_pem;
  Result<InclusionProof> proof = log.ProveRecent(seq, &signer_pem);
  if (!proof.ok() && proof.status().code() == Code::kNotFound && seq < log.Size()) {
    // Older than the writer's window: prove from the files (verifies the whole log).
    proof = Prove(audit_dir, audit_dir / format::kPublicKeyFile, seq);
    signer_pem = log.PublicKeyPem();
  }
  if (!proof.ok()) return proof.status();
  std::string text = ReceiptJson(request.value(), proof.value(), signer_pem);
  if (Status s = VerifyReceipt(text, signer_pem); !s.ok()) {
    return Status::InvalidInput("receipt does not verify: " + s.message());
  }
  return text;
}

}  // namespace scrubd::audit
