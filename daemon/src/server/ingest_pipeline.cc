// The ingest flow. Logs and audit entries carry ids, counts and rule names only; payload text
// never reaches spdlog or the audit log.
#include "server/ingest_pipeline.h"

#include <spdlog/spdlog.h>

#include <mutex>

#include "admit/admit.h"
#include "admit/page_gate.h"
#include "consent/gate.h"
#include "scrub/identity.h"
#include "scrub/scrub.h"
#include "server/auditor.h"
#include "server/ingest_admitted.h"
#include "server/keys.h"
#include "server/metrics.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {}  // namespace

json::object CountsJson(const std::map<std::string, uint64_t>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

const char* EndpointName(ingest::Endpoint e) {
  return e == ingest::Endpoint::kRecording ? "recording" : "events";
}

IngestPipeline::IngestPipeline(IngestConfig config, PolicySource policies, dom::StateStore* state,
                               BatchSink* sink, Auditor* auditor, Metrics* metrics)
    : config_(std::move(config)),
      policies_(std::move(policies)),
      state_(state),
      sink_(sink),
      auditor_(auditor),
      metrics_(metrics) {}

void IngestPipeline::SetHooks(IngestHooks* hooks, std::shared_mutex* erasure_lock) {
  hooks_ = hooks;
  erasure_lock_ = erasure_lock;
}

void IngestPipeline::SetConsent(consent::ConsentGate* gate, consent::Quarantine* quarantine) {
  consent_ = gate;
  quarantine_ = quarantine;
}

HttpResponse IngestPipeline::Reject(std::string_view endpoint, std::string_view reason,
                                    std::string_view detail, size_t bytes, HttpResponse answer) {
  metrics_->batches_rejected++;
  spdlog::warn("rejected {} batch: {}{}{} ({} bytes)", endpoint, reason, detail.empty() ? "" : ", ",
               detail, bytes);
  json::object entry{{"endpoint", endpoint}, {"reason", reason}};
  if (!detail.empty()) entry["detail"] = detail;
  entry["bytes"] = bytes;
  auditor_->Append("batch_rejected", json::serialize(entry));
  return answer;
}

HttpResponse IngestPipeline::Handle(const HttpRequest& req, ingest::Endpoint endpoint) {
  Deadline deadline(config_.request_deadline);  // [deadline] this request's CPU budget
  std::string_view target = req.target;
  size_t q = target.find('?');
  ingest::RequestView view{req.body, HeaderOf(req, "content-type"),
                           q == std::string_view::npos ? std::string_view() : target.substr(q + 1)};
  const char* ep_name = EndpointName(endpoint);
  Result<ingest::Batch> decoded = ingest::DecodeBatch(endpoint, view, config_.limits);
  if (!decoded.ok()) {
    const Status& s = decoded.status();
    return Reject(ep_name, CodeName(s.code()), s.message(), req.body.size(),
                  ErrorResponse(HttpStatusFor(s), CodeName(s.code()), s.message()));
  }
  ingest::Batch& batch = decoded.value();
  std::shared_ptr<const policies::PolicySet> set = policies_();  // this request's snapshot
  // A routing id shaped like personal data would be stored and logged raw: reject the whole
  // request (never logging the id).
  if (RoutingIdsLookPersonal(batch, *set))
    return Reject(ep_name, "invalid_input", "routing id", req.body.size(),
                  ErrorResponse(400, "invalid_input", "routing id looks like personal data"));
  // [erasure] held from the tombstone check until the batch is stored and indexed.
  std::shared_lock<std::shared_mutex> erasure;
  if (erasure_lock_) erasure = std::shared_lock<std::shared_mutex>(*erasure_lock_);
  Admitted admitted;
  AdmitAndScrub(req, batch, *set, &deadline, &admitted);
  if (admitted.report.deadline_exceeded || deadline.ExpiredNow()) {  // [deadline] none stored
    metrics_->deadline_exceeded++;
    return Reject(ep_name, "deadline_exceeded", "", req.body.size(),
                  ErrorResponse(503, "deadline_exceeded",
                                "the batch exceeded the per-request CPU deadline; retry later"));
  }
  if (Status s = ReleaseAndDiscard(admitted); !s.ok())
    return ErrorResponse(503, "unavailable", "storage is unavailable; retry later");
  HoldBack(req, endpoint, batch, admitted);
  return Store(req, endpoint, batch, admitted);
}

// Scanned with the event's policy or, for an unknown token, the first one.
bool IngestPipeline::RoutingIdsLookPersonal(const ingest::Batch& batch,
                                            const policies::PolicySet& set) const {
  for (const ingest::Event& ev : batch.events) {
    const policies::Policy* policy = set.ForToken(ev.token);
    if (!policy && !set.policies().empty()) policy = set.policies().front().get();
    if (policy && policy->scanner && scrub::RoutingIdLooksPersonal(ev, *policy->scanner))
      return true;
  }
  return false;
}

void IngestPipeline::AdmitAndScrub(const HttpRequest& req, ingest::Batch& batch,
                                   const policies::PolicySet& set, Deadline* deadline,
                                   Admitted* out) {
  std::string_view xff = HeaderOf(req, "x-forwarded-for");
  out->client = req.peer + "|" + std::string(xff.substr(0, std::min<size_t>(xff.find(','), 64)));
  consent::RequestFacts facts{std::string(HeaderOf(req, "cookie")), HeaderOf(req, "sec-gpc") == "1",
                              HeaderOf(req, "dnt") == "1", out->client};
  if (!batch.events.empty()) {
    out->first_token = batch.events.front().token;
    out->first_session = batch.events.front().session_id;
  }
  out->consent = std::make_unique<ConsentView>(consent_, std::move(facts));
  for (ingest::Event& ev : batch.events)  // pass 1: the evidence of the whole batch
    if (const policies::Policy* policy = set.ForToken(ev.token)) out->consent->Observe(ev, *policy);
  admit::PageGate page_gate(state_);  // blocking.urls, per window (docs/blocking.md)
  scrub::Scrubber scrubber(state_);
  scrubber.set_deadline(deadline);  // [deadline]
  scrub::Report& report = out->report;
  for (ingest::Event& ev : batch.events) {
    metrics_->events_in++;
    const policies::Policy* policy = set.ForToken(ev.token);
    admit::Verdict v = admit::Admit(ev, policy);
    consent::Action action = consent::Action::kAdmit;
    if (v == admit::Verdict::kAdmit) {
      action = out->consent->Decide(ev, *policy);
      out->sessions[{ev.token, ev.session_id}] = action;
      if (action == consent::Action::kDrop) v = admit::Verdict::kConsent;
    }
    std::unique_ptr<IngestNote> note;  // taken before the scrubber rewrites the ids in place
    std::string subject;
    if (action == consent::Action::kHold) subject = consent::ConsentGate::SubjectOf(ev, *policy);
    if (v == admit::Verdict::kAdmit && hooks_) {
      bool tombstoned = false;
      note = hooks_->Admit(ev, &tombstoned);
      if (tombstoned) v = admit::Verdict::kTombstone;
    }
    if (v != admit::Verdict::kAdmit) {
      report.dropped[admit::VerdictName(v)]++;
      report.events_in++;
      continue;
    }
    if (!page_gate.Apply(ev, *policy, &report.dropped, &report.events_in)) continue;
    // A recording's own counts go to its session's row (batch_sink.h); an analytics event
    // counts straight into the batch's report.
    scrub::Report one;
    scrub::Report* into = ev.is_snapshot ? &one : &report;
    const bool kept = scrubber.ScrubEvent(ev, *policy, into);
    if (into == &one) report.Add(one);
    if (!kept) continue;
    out->ip_mode = std::min(out->ip_mode, policy->identity.client_ip);
    if (action == consent::Action::kHold) {
      out->held.push_back(
          {&ev, std::move(note), policy, std::move(subject), std::move(one.counts)});
      continue;
    }
    if (hooks_) out->notes.push_back(std::move(note));
    (ev.is_snapshot ? out->recordings : out->events).push_back(&ev);
    if (ev.is_snapshot) out->recording_counts.push_back(std::move(one.counts));
  }
}

HttpResponse IngestPipeline::Store(const HttpRequest& req, ingest::Endpoint endpoint,
                                   const ingest::Batch& batch, Admitted& admitted) {
  const scrub::Report& report = admitted.report;
  const uint64_t held = admitted.held.size();
  (void)batch;  // its held events were moved to the quarantine: ids were taken before
  const std::string session = admitted.first_session;
  const std::string token = admitted.first_token;
  CleanBatch clean;
  clean.path = std::string(PathOf(req));
  clean.recording = endpoint == ingest::Endpoint::kRecording;
  clean.batch_id = session.empty() ? "" : Pseudonym(config_.pseudonym_key, session);
  clean.client_ip = scrub::ForwardedClientAddress(
      admitted.ip_mode, req.peer, HeaderOf(req, "x-forwarded-for"), HeaderOf(req, "x-real-ip"));
  clean.recordings = std::move(admitted.recordings);
  clean.events = std::move(admitted.events);
  clean.recording_counts = std::move(admitted.recording_counts);
  uint64_t dropped = 0;
  for (const auto& [k, n] : report.dropped) {
    dropped += n;
    dropped_.Add("reason=\"" + k + "\"", n);
  }
  json::object entry{{"endpoint", EndpointName(endpoint)},
                     {"token", token},
                     {"session", clean.batch_id},
                     {"events_in", report.events_in},
                     {"events_out", report.events_out},
                     {"redactions_by_rule", CountsJson(report.counts.by_rule)},
                     {"redactions_by_method", CountsJson(report.counts.by_method)},
                     {"scan_errors", report.counts.errors},
                     {"dropped", CountsJson(report.dropped)}};
  if (held > 0) entry["held"] = held;  // consent_held entries follow
  std::vector<uint64_t> spool_seqs;
  Result<uint64_t> stored = AuditThenSink(clean, std::move(entry), &spool_seqs);
  metrics_->redactions += report.counts.Total();
  metrics_->events_dropped += dropped;
  if (!stored.ok()) {
    metrics_->batches_rejected++;
    metrics_->sink_errors++;
    // Store and audit messages name the failed step and errno, never a path or a raw id.
    spdlog::error("sink failed for token={} session={}: {}", token, clean.batch_id,
                  stored.status().ToString());
    return ErrorResponse(503, "unavailable", "storage is unavailable; retry later");
  }
  if (hooks_ && !admitted.notes.empty()) {
    if (Status s = hooks_->OnStored(StoredBatch{admitted.notes, spool_seqs}); !s.ok()) {
      metrics_->batches_rejected++;
      metrics_->sink_errors++;
      spdlog::error("subject index write failed for token={} session={}: {}", token, clean.batch_id,
                    s.ToString());
      return ErrorResponse(503, "unavailable", "storage is unavailable; retry later");
    }
  }
  metrics_->batches_ok++;
  metrics_->events_stored += *stored;
  spdlog::info("{} batch token={} session={} in={} stored={} redactions={} dropped={}",
               EndpointName(endpoint), token, clean.batch_id, report.events_in, *stored,
               report.counts.Total(), dropped);
  return HttpResponse{200, "application/json", R"({"status":1})", {}};
}

// Fail closed (docs/audit.md "Ordering"): the batch entry is appended first, with the count
// about to be stored; only then is the batch written. No stored batch lacks its entry. If the
// sink then fails, a `batch_not_stored` entry names the first one's seq, so the log may
// over-report a 503 batch but never under-reports a stored one.
Result<uint64_t> IngestPipeline::AuditThenSink(const CleanBatch& batch, json::object entry,
                                               std::vector<uint64_t>* spool_seqs) {
  entry["stored"] = batch.Count();
  Result<uint64_t> seq = auditor_->Required("batch", json::serialize(entry));
  if (!seq.ok()) return Status::Unavailable("audit log unavailable");
  Result<SinkResult> r = sink_->Write(batch);
  if (!r.ok()) {
    auditor_->Append("batch_not_stored",
                     json::serialize(json::object{{"batch_seq", *seq},
                                                  {"session", batch.batch_id},
                                                  {"sink_error", CodeName(r.status().code())}}));
    return r.status();
  }
  *spool_seqs = std::move(r->spool_seqs);
  return r->stored;
}

}  // namespace scrubd::server
