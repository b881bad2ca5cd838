// The ingest pipeline's consent half: batches of opt_in sessions without evidence are held
// (already scrubbed) in the quarantine, stored in arrival order when evidence grants, and
// deleted and counted when it denies or the wait ends (docs/consent.md "Before consent").
// Audit entries carry pseudonyms and counts only.
#include <spdlog/spdlog.h>

#include <chrono>

#include "consent/quarantine.h"
#include "scrub/identity.h"
#include "server/auditor.h"
#include "server/ingest_admitted.h"
#include "server/keys.h"

namespace scrubd::server {
namespace json = boost::json;

namespace {

constexpr uint64_t kHeldOverheadBytes = 4096, kJsonExpansion = 4;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a held batch keeps: the scrubbed events (moved out of the request's batch) and what
// storing them later needs.
struct HeldIngest : consent::HeldPayload {
  std::string path;
  bool recording = false;
  std::string client_ip;
  std::vector<ingest::Event> recordings, events;
  std::vector<rules::RedactionCounts> recording_counts;  // of each recordings[i]
  std::vector<std::unique_ptr<IngestNote>> notes;
};

}  // namespace

ConsentView::ConsentView(consent::ConsentGate* gate, consent::RequestFacts facts) {
  if (gate)
    view_.emplace(gate, std::move(facts));
  else
    reading_.emplace(std::move(facts));
}

void ConsentView::Observe(const ingest::Event& ev, const policies::Policy& policy) {
  if (view_) view_->Observe(ev, policy);
}

consent::Action ConsentView::Decide(const ingest::Event& ev, const policies::Policy& policy) {
  if (view_) return view_->Decide(ev, policy);
  std::optional<consent::Evidence> c = reading_->For(ev, policy);
  if (c && c->state == consent::ConsentState::kDenied) return consent::Action::kDrop;
  bool granted = c && c->state == consent::ConsentState::kGranted;
  if (policy.consent.mode == policies::ConsentMode::kOptIn && !granted)
    return consent::Action::kDrop;
  return consent::Action::kAdmit;
}

const std::set<consent::SessionKey>* ConsentView::granted_subjects() const {
  return view_ ? &view_->granted_subjects() : nullptr;
}
const std::set<consent::SessionKey>* ConsentView::denied_subjects() const {
  return view_ ? &view_->denied_subjects() : nullptr;
}

void IngestPipeline::HoldBack(const HttpRequest& req, ingest::Endpoint endpoint,
                              ingest::Batch& batch, Admitted& admitted) {
  if (admitted.held.empty() || !quarantine_) return;
  std::map<consent::SessionKey, std::vector<HeldEvent*>> groups;
  for (HeldEvent& h : admitted.held) groups[{h.event->token, h.event->session_id}].push_back(&h);
  const int64_t now = NowMs();
  std::vector<HeldKey> keys;
  const std::string client_ip = scrub::ForwardedClientAddress(
      admitted.ip_mode, req.peer, HeaderOf(req, "x-forwarded-for"), HeaderOf(req, "x-real-ip"));
  for (auto& [key, members] : groups) {
    auto payload = std::make_unique<HeldIngest>();
    payload->path = std::string(PathOf(req));
    payload->recording = endpoint == ingest::Endpoint::kRecording;
    payload->client_ip = client_ip;
    consent::HeldBatch held;
    held.token = key.first;
    held.session = key.second;
    held.subject = members.front()->subject;  // taken before the scrubber ran
    held.peer = admitted.client;
    held.held_ms = now;
    held.deadline_ms = now + members.front()->policy->consent.wait_seconds * 1000;
    // Parsed JSON takes several times its text; every batch has its own overhead too.
    held.bytes = kHeldOverheadBytes + kJsonExpansion * (batch.decoded_bytes / groups.size());
    for (HeldEvent* h : members) {
      held.events += h->event->is_snapshot ? ingest::SnapshotItems(h->event->json)->size() : 1;
      auto& into = h->event->is_snapshot ? payload->recordings : payload->events;
      into.push_back(std::move(*h->event));
      if (into.back().is_snapshot) payload->recording_counts.push_back(std::move(h->counts));
      if (hooks_) payload->notes.push_back(std::move(h->note));
    }
    held.payload = std::move(payload);
    const std::string session = Pseudonym(config_.pseudonym_key, held.session);
    const uint64_t events = held.events, bytes = held.bytes;
    const std::string held_subject = held.subject;
    if (consent::Quarantine::HoldResult hr = quarantine_->Hold(held);
        hr != consent::Quarantine::HoldResult::kHeld) {
      std::vector<consent::HeldBatch> refused;
      refused.push_back(std::move(held));
      Discard(std::move(refused), hr == consent::Quarantine::HoldResult::kFull
                                      ? "consent_quarantine_full"
                                      : "consent_timeout");
      continue;
    }
    held_total_++;
    keys.push_back({key.first, key.second, held_subject, admitted.client});
    auditor_->Append(
        "consent_held",
        json::serialize(json::object{
            {"token", key.first}, {"session", session}, {"events", events}, {"bytes", bytes}}));
  }
  Recheck(keys);
}

Status IngestPipeline::StoreHeld(consent::HeldBatch& held) {
  auto* p = static_cast<HeldIngest*>(held.payload.get());
  // The subject may have been erased while this waited: its tombstone wins over the consent.
  if (hooks_)
    for (const auto& note : p->notes)
      if (note && hooks_->Suppressed(*note)) {
        std::vector<consent::HeldBatch> erased;
        erased.push_back(std::move(held));
        Discard(std::move(erased), "tombstone");
        return Status::Ok();
      }
  CleanBatch clean;
  clean.path = p->path;
  clean.recording = p->recording;
  clean.batch_id = Pseudonym(config_.pseudonym_key, held.session);
  clean.client_ip = p->client_ip;
  for (ingest::Event& ev : p->recordings) clean.recordings.push_back(&ev);
  for (ingest::Event& ev : p->events) clean.events.push_back(&ev);
  clean.recording_counts = p->recording_counts;
  json::object entry{{"endpoint", p->recording ? "recording" : "events"},
                     {"token", held.token},
                     {"session", clean.batch_id},
                     {"events_in", held.events},
                     {"released_from", "consent_quarantine"}};
  std::vector<uint64_t> spool_seqs;
  Result<uint64_t> stored = AuditThenSink(clean, std::move(entry), &spool_seqs);
  if (!stored.ok()) return stored.status();
  if (hooks_ && !p->notes.empty())
    if (Status s = hooks_->OnStored(StoredBatch{p->notes, spool_seqs}); !s.ok()) return s;
  metrics_->events_stored += *stored;
  released_total_++;
  auditor_->Append("consent_released",
                   json::serialize(json::object{{"token", held.token},
                                                {"session", clean.batch_id},
                                                {"events", held.events},
                                                {"held_ms", NowMs() - held.held_ms}}));
  return Status::Ok();
}

void IngestPipeline::Discard(std::vector<consent::HeldBatch> batches, std::string_view reason) {
  for (const consent::HeldBatch& b : batches) {
    dropped_.Add("reason=\"" + std::string(reason) + "\"", b.events);
    metrics_->events_dropped += b.events;
    (reason == "consent_timeout" ? timeout_total_ : discarded_total_)++;
    json::object o{{"token", b.token},
                   {"session", Pseudonym(config_.pseudonym_key, b.session)},
                   {"events", b.events},
                   {"bytes", b.bytes}};
    if (reason != "consent_timeout") o["reason"] = reason;
    auditor_->Append(reason == "consent_timeout" ? "consent_timeout" : "consent_discarded",
                     json::serialize(o));
  }
}

// Stores `release` in order; on a failure puts the rest back in front. Caller holds release_mu_.
Status IngestPipeline::StoreReleased(std::vector<consent::HeldBatch> release) {
  for (size_t i = 0; i < release.size(); ++i) {
    if (Status s = StoreHeld(release[i]); !s.ok()) {
      spdlog::error("releasing held batches failed: {}", s.ToString());
      metrics_->sink_errors++;
      quarantine_->PutBack(std::vector<consent::HeldBatch>(
          std::make_move_iterator(release.begin() + i), std::make_move_iterator(release.end())));
      return s;
    }
  }
  return Status::Ok();
}

// Releases are serialised (release_mu_), and a batch stored directly waits for a release in
// flight, so a session's held batches always reach the sink before its later ones. The
// quarantine is read before the counter: a release that already took everything has counted.
Status IngestPipeline::ReleaseAndDiscard(Admitted& admitted) {
  if (!quarantine_) return Status::Ok();
  if (quarantine_->Stats().batches == 0 && releasing_.load() == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(release_mu_);
  releasing_++;
  std::vector<consent::HeldBatch> release, drop;
  auto take = [&](std::vector<consent::HeldBatch> got, std::vector<consent::HeldBatch>* into) {
    for (auto& b : got) into->push_back(std::move(b));
  };
  for (const auto& [key, action] : admitted.sessions) {
    if (action == consent::Action::kHold) continue;
    take(quarantine_->Take(key.first, key.second),
         action == consent::Action::kAdmit ? &release : &drop);
  }
  if (const auto* g = admitted.consent->granted_subjects())
    for (const auto& [token, subject] : *g)
      take(quarantine_->TakeSubject(token, subject), &release);
  if (const auto* d = admitted.consent->denied_subjects())
    for (const auto& [token, subject] : *d) take(quarantine_->TakeSubject(token, subject), &drop);
  Discard(std::move(drop), "consent");
  Status s = StoreReleased(std::move(release));
  releasing_--;
  return s;
}

// A batch decided "hold" may reach the quarantine after another request granted or denied its
// session (and took what was held then): look again, so it is not left to time out.
void IngestPipeline::Recheck(const std::vector<HeldKey>& keys) {
  if (!consent_ || keys.empty()) return;
  std::lock_guard<std::mutex> lock(release_mu_);
  releasing_++;
  for (const HeldKey& k : keys) {
    consent::ConsentState now = consent_->Current(k.token, k.session, k.subject, k.client);
    if (now == consent::ConsentState::kUnknown) continue;
    std::vector<consent::HeldBatch> got = quarantine_->Take(k.token, k.session);
    if (now == consent::ConsentState::kDenied)
      Discard(std::move(got), "consent");
    else
      (void)StoreReleased(std::move(got));
  }
  releasing_--;
}

uint64_t IngestPipeline::ExpireHeld(int64_t now_ms) {
  if (!quarantine_) return 0;
  std::vector<consent::HeldBatch> expired = quarantine_->TakeExpired(now_ms);
  const uint64_t n = expired.size();
  Discard(std::move(expired), "consent_timeout");
  return n;
}

uint64_t IngestPipeline::DiscardAllHeld(std::string_view reason) {
  if (!quarantine_) return 0;
  std::vector<consent::HeldBatch> all = quarantine_->TakeAll();
  const uint64_t n = all.size();
  Discard(std::move(all), reason);
  return n;
}

std::string IngestPipeline::MetricsText() const {
  std::string out = dropped_.Text();
  auto line = [&](const char* name, uint64_t v) {
    out += std::string(name) + " " + std::to_string(v) + "\n";
  };
  line("scrubd_consent_held_batches_total", held_total_);
  line("scrubd_consent_released_batches_total", released_total_);
  line("scrubd_consent_timeout_batches_total", timeout_total_);
  line("scrubd_consent_discarded_batches_total", discarded_total_);
  if (quarantine_) {
    consent::QuarantineStats st = quarantine_->Stats();
    line("scrubd_consent_quarantine_batches", st.batches);
    line("scrubd_consent_quarantine_bytes", st.bytes);
  }
  if (consent_) line("scrubd_consent_ledger_errors_total", consent_->errors());
  return out;
}

}  // namespace scrubd::server
