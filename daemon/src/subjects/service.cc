// Request lifecycle: pending -> in_progress -> completed (or cancelled while pending); an
// erasure under a legal hold -> deferred, until a release re-queues it (ResumeDeferred).
#include "subjects/service.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "ingest/decode.h"
#include "scrubd/audit/log.h"
#include "server/keys.h"
#include "subjects/access.h"
#include "subjects/deadlines.h"
#include "subjects/opendsr.h"
#include "subjects/posthog_eraser.h"

namespace scrubd::subjects {
namespace json = boost::json;

namespace {

bool KnownType(const std::string& t) {
  return t == "erasure" || t == "access" || t == "portability";
}

Status CheckIdentity(const Identity& i) {
  if (i.type != "distinct_id" && i.type != "email" && i.type != "session")
    return Status::InvalidInput("identity type must be distinct_id, email or session");
  if (i.format != "raw" && i.format != "sha256")
    return Status::InvalidInput("identity format must be raw or sha256");
  if (i.value.empty() || i.value.size() > 512)
    return Status::InvalidInput("identity value must be 1..512 bytes");
  if (i.format == "sha256" && i.value.size() != 64)
    return Status::InvalidInput("a sha256 identity is 64 hex digits");
  if (i.type == "session" && !ingest::ValidSessionId(i.value))
    return Status::InvalidInput("a session identity must be a session id");
  for (unsigned char c : i.value)
    if (c < 0x20 || c == 0x7f) return Status::InvalidInput("identity value has control characters");
  return Status::Ok();
}

}  // namespace

std::string NewRequestId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return {};
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 15];
  }
  return s;
}

Service::Service(Stores stores, ServiceOptions options)
    : stores_(std::move(stores)), options_(std::move(options)) {}

Status Service::Save(RequestRecord& record, const std::string& status) {
  bool changed = record.status != status;
  record.status = status;
  record.updated_ms = NowMs();
  if (Status s = stores_.index->PutRequest(record); !s.ok()) return s;
  if (changed && options_.on_status) options_.on_status(record);
  return Status::Ok();
}

Result<RequestRecord> Service::Submit(NewRequest req) {
  if (req.id.empty()) req.id = NewRequestId();
  if (!IsUuidV4(req.id)) return Status::InvalidInput("request id must be a lowercase UUID v4");
  if (!KnownType(req.type)) return Status::InvalidInput("unknown request type");
  if (req.regulation != "gdpr" && req.regulation != "ccpa")
    return Status::InvalidInput("regulation must be gdpr or ccpa");
  if (req.identities.empty()) return Status::InvalidInput("no subject identity");
  for (const Identity& i : req.identities)
    if (Status s = CheckIdentity(i); !s.ok()) return s;
  Result<std::vector<std::pair<std::string, std::string>>> seeds = SeedsOf(stores_, req.identities);
  if (!seeds.ok()) return seeds.status();
  Result<std::optional<RequestRecord>> existing = stores_.index->GetRequest(req.id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {  // the same request again is answered as it stands
    const RequestRecord& old = **existing;
    if (old.type != req.type || old.regulation != req.regulation)
      return Status::InvalidInput("subject_request_id is already used by another request");
    return old;
  }
  RequestRecord r;
  r.id = req.id;
  r.type = req.type;
  r.regulation = req.regulation;
  r.received_ms = NowMs();
  r.submitted_ms = req.submitted_ms ? req.submitted_ms : r.received_ms;
  r.expected_ms = ExpectedCompletionMs(r.regulation, r.received_ms, false);
  for (const auto& [token, node] : *seeds) r.seeds.push_back(JoinSeed(token, node));
  r.callback_urls = req.callback_urls;
  // The operator's free text may name the person: only its keyed hash is kept (docs).
  r.reason =
      req.reason.empty() ? "" : "hmac:" + server::Pseudonym(stores_.pseudonym_key, req.reason);
  r.status = "pending";
  r.updated_ms = r.received_ms;
  if (Status s = stores_.index->PutRequest(r); !s.ok()) return s;
  if (stores_.audit) {
    Result<uint64_t> seq =
        stores_.audit->Append(r.type == "erasure" ? "erasure_requested" : "access_requested",
                              json::serialize(json::object{{"request_id", r.id},
                                                           {"type", r.type},
                                                           {"regulation", r.regulation},
                                                           {"subject", SubjectId(stores_, r.seeds)},
                                                           {"identities", req.identities.size()},
                                                           {"seeds", r.seeds.size()}}));
    if (!seq.ok()) return seq.status();  // fail closed: an unaudited request is not taken
  }
  if (options_.on_status) options_.on_status(r);
  {
    std::lock_guard lock(mu_);
    raw_[r.id] = std::move(req.identities);
  }
  Queue(r.id);
  return r;
}

void Service::Queue(const std::string& id) {
  if (options_.post)
    options_.post([this, id] { Run(id); });
  else
    Run(id);
}

Result<std::optional<RequestRecord>> Service::Get(const std::string& id) {
  return stores_.index->GetRequest(id);
}

Result<RequestRecord> Service::Cancel(const std::string& id) {
  std::lock_guard run(run_mu_);  // not while it runs
  Result<std::optional<RequestRecord>> r = stores_.index->GetRequest(id);
  if (!r.ok()) return r.status();
  if (!r->has_value()) return Status::NotFound("no such request");
  RequestRecord rec = **r;
  if (rec.status != "pending")
    return Status::InvalidInput("only a pending request can be cancelled");
  if (Status s = Save(rec, "cancelled"); !s.ok()) return s;
  std::lock_guard lock(mu_);
  raw_.erase(id);
  return rec;
}

Status Service::Resume() {
  Result<std::vector<RequestRecord>> open = stores_.index->Unfinished();
  if (!open.ok()) return open.status();
  for (const RequestRecord& r : *open) Queue(r.id);
  if (!open->empty()) spdlog::info("subjects: resuming {} unfinished requests", open->size());
  return Status::Ok();
}

void Service::ResumeDeferred() {
  Result<std::vector<RequestRecord>> open = stores_.index->Unfinished();
  if (!open.ok()) {
    spdlog::error("subjects: deferred requests cannot be read: {}", open.status().ToString());
    return;
  }
  size_t n = 0;
  for (const RequestRecord& r : *open) {
    if (r.status != "deferred") continue;
    Queue(r.id);
    ++n;
  }
  if (n > 0) spdlog::info("subjects: re-running {} deferred erasures", n);
}

void Service::Tick() {
  std::vector<std::string> due;
  int64_t now = NowMs();
  {
    std::lock_guard lock(mu_);
    for (auto it = retry_at_ms_.begin(); it != retry_at_ms_.end();) {
      if (it->second <= now) {
        due.push_back(it->first);
        it = retry_at_ms_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::string& id : due) Queue(id);
}

void Service::Run(const std::string& id) {
  std::lock_guard run(run_mu_);
  Result<std::optional<RequestRecord>> r = stores_.index->GetRequest(id);
  if (!r.ok() || !r->has_value()) {
    spdlog::error("subjects: request {} cannot be read", id);
    return;
  }
  RequestRecord rec = **r;
  if (rec.status == "completed" || rec.status == "cancelled") return;
  std::chrono::milliseconds retry_after{0};
  if (Status s = RunOne(rec, &retry_after); !s.ok()) {
    // Faults are retried like an upstream failure; the request stays in_progress.
    spdlog::error("subjects: request {} failed a step: {}", id, s.ToString());
    std::lock_guard lock(mu_);
    uint32_t n = ++attempts_[id];
    int64_t delay = options_.retry_delay_ms ? options_.retry_delay_ms(n) : RetryDelay(n).count();
    retry_at_ms_[id] = NowMs() + std::max<int64_t>(delay, retry_after.count());
  }
}

Status Service::RunOne(RequestRecord& rec, std::chrono::milliseconds* retry_after) {
  // A deferred erasure stays deferred while it checks its holds again (no status flapping).
  if (rec.status != "deferred")
    if (Status s = Save(rec, "in_progress"); !s.ok()) return s;
  std::vector<Identity> raw;
  {
    std::lock_guard lock(mu_);
    if (auto it = raw_.find(rec.id); it != raw_.end()) raw = it->second;
  }
  if (rec.type == "erasure") {
    Result<ErasureOutcome> out = RunErasure(stores_, rec, raw);
    if (!out.ok()) return out.status();
    if (out->status == "deferred") {  // runs again when a hold is released, not on a timer
      rec.result_json = InterimJson(*out);
      return Save(rec, "deferred");
    }
    if (out->status != "completed") {
      rec.result_json = InterimJson(*out);
      *retry_after = out->retry_after;
      if (Status s = Save(rec, "in_progress"); !s.ok()) return s;
      return Status::Unavailable("upstream erasure pending");
    }
    rec.result_json = out->receipt_json;
    rec.seeds.clear();  // the receipt names the subject; its pseudonyms need not outlive it
  } else {
    Result<AccessOutcome> out = RunAccess(stores_, rec);
    if (!out.ok()) return out.status();
    rec.result_json = out->summary_json;
  }
  if (Status s = Save(rec, "completed"); !s.ok()) return s;
  std::lock_guard lock(mu_);
  raw_.erase(rec.id);
  attempts_.erase(rec.id);
  return Status::Ok();
}

Result<std::string> Service::ReadResults(const std::string& id) {
  Result<std::optional<RequestRecord>> r = stores_.index->GetRequest(id);
  if (!r.ok()) return r.status();
  if (!r->has_value() || (*r)->type == "erasure") return Status::NotFound("no results");
  if ((*r)->status != "completed") return Status::NotFound("not completed");
  Result<std::string> bytes = Env::Default()->ReadFile(BundlePath(stores_, id));
  if (!bytes.ok()) return Status::NotFound("the bundle is gone");
  return bytes;
}

}  // namespace scrubd::subjects
