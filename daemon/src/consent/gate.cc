// Consent state per session and per subject, and the admit / drop / hold decision. A session's
// own evidence wins; without any, it inherits its subject's newest state (recorded once, source
// "subject"). A state the ledger could not read counts as denied (fail closed).
#include "consent/gate.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <chrono>

#include "scrub/identity.h"

namespace scrubd::consent {
namespace json = boost::json;
using policies::ConsentMode;

namespace {

std::string Key(const std::string& token, const std::string& id) {
  std::string k = token;
  k.push_back('\0');
  k += id;
  return k;
}

bool SameEvidence(ConsentState state, const std::string& signal, const std::string& sha,
                  const std::vector<std::string>& purposes, const Evidence& e) {
  return state == e.state && signal == e.signal && sha == e.value_sha256 && purposes == e.purposes;
}

}  // namespace

ConsentGate::ConsentGate(GateDeps deps) : deps_(std::move(deps)) {}

int64_t ConsentGate::Now() const {
  if (deps_.now_ms) return deps_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t ConsentGate::errors() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

std::string ConsentGate::SubjectOf(const ingest::Event& ev, const policies::Policy& policy) {
  if (ev.distinct_id.empty() || policy.identity.master_key.empty()) return "";
  return scrub::IdentifierPseudonym(policy.identity.master_key, ev.token, ev.distinct_id);
}

void ConsentGate::Trim() {
  if (sessions_.size() + subjects_.size() <= deps_.cache_entries) return;
  sessions_.clear();  // the ledger is the truth: states are read again on the next miss
  subjects_.clear();
}

// The cached state of a session / subject, read from the ledger on a miss; null when the
// ledger cannot be read (the caller decides as denied and records nothing).
ConsentGate::Known* ConsentGate::SessionLocked(const std::string& token,
                                               const std::string& session) {
  const std::string key = Key(token, session);
  if (auto it = sessions_.find(key); it != sessions_.end()) return &it->second;
  auto r = deps_.ledger->LatestForSession(token, session);
  if (!r.ok()) {
    ++errors_;
    spdlog::error("consent ledger read failed: {}", r.status().ToString());
    return nullptr;
  }
  Known& k = sessions_[key];
  if (*r) {
    k.state = (*r)->state;
    k.signal = (*r)->signal;
    k.value_sha256 = (*r)->value_sha256;
    k.purposes = (*r)->purposes;
  }
  return &k;
}

ConsentGate::Known* ConsentGate::SubjectLocked(const std::string& token,
                                               const std::string& subject) {
  const std::string key = Key(token, subject);
  if (auto it = subjects_.find(key); it != subjects_.end()) return &it->second;
  auto r = deps_.ledger->LatestForSubject(token, subject);
  if (!r.ok()) {
    ++errors_;
    spdlog::error("consent ledger read failed: {}", r.status().ToString());
    return nullptr;
  }
  Known& k = subjects_[key];
  if (*r) {
    k.state = (*r)->state;
    k.source = (*r)->source;  // grant_client is unknown after a restart: not carried over
  }
  return &k;
}

void ConsentGate::AuditEntry(const LedgerEntry& e) {
  if (!deps_.audit) return;
  json::object o{{"ledger_seq", e.seq},
                 {"token", e.token},
                 {"session", deps_.pseudonym ? deps_.pseudonym(e.session) : ""},
                 {"subject", e.subject},
                 {"state", StateName(e.state)},
                 {"source", e.source},
                 {"signal", e.signal},
                 {"value_sha256", e.value_sha256},
                 {"purposes", e.purposes.size()},
                 {"vendors", e.vendors.size()},
                 {"policy_sha256", e.policy_sha256}};
  if (!e.erasure_request.empty()) o["erasure_request"] = e.erasure_request;
  deps_.audit("consent_recorded", json::serialize(o));
}

// One erasure per subject, for a withdrawal of a grant this session had (or of data stored
// under opt_out), from explicit evidence: never for an unreadable value, and not again when
// the ledger already links one to the subject.
bool ConsentGate::ShouldErase(const ingest::Event& ev, const policies::Policy& policy,
                              const Known* session, const std::string& subject, const Evidence& e) {
  if (e.state != ConsentState::kDenied || e.invalid || !session) return false;
  if (session->state != ConsentState::kGranted && !session->admitted) return false;
  if (policy.consent.on_withdrawal != policies::ConsentWithdrawal::kErase) return false;
  if (!deps_.raise_erasure || ev.distinct_id.empty() || subject.empty()) return false;
  auto rows = deps_.ledger->ForSubjects({{ev.token, subject}});
  if (!rows.ok()) return false;
  for (const LedgerEntry& r : *rows)
    if (!r.erasure_request.empty()) return false;
  return true;
}

bool ConsentGate::RecordLocked(const ingest::Event& ev, const policies::Policy& policy,
                               const std::string& subject, const Evidence& e,
                               const std::string& client) {
  const bool has_session = !ev.session_id.empty(), has_subject = !subject.empty();
  Known* session = has_session ? SessionLocked(ev.token, ev.session_id) : nullptr;
  Known* subj = has_subject ? SubjectLocked(ev.token, subject) : nullptr;
  // A state that could not be read counts as changed: the evidence is recorded again.
  bool session_same =
      !has_session || (session && SameEvidence(session->state, session->signal,
                                               session->value_sha256, session->purposes, e));
  // Unreadable evidence is this session's only: it never becomes the subject's state.
  bool subject_same = !has_subject || e.invalid || (subj && subj->state == e.state);
  if (session_same && subject_same) return false;
  LedgerEntry row{
      0,        Now(),      ev.token,  ev.session_id,  subject,     e.state,       e.source,
      e.signal, e.purposes, e.vendors, e.value_sha256, policy.name, policy.sha256, policy.version};
  if (e.invalid) row.subject.clear();  // the session's alone (see subject_same)
  if (ShouldErase(ev, policy, session, subject, e)) {
    Result<std::string> id = deps_.raise_erasure(ev.token, ev.distinct_id);
    if (id.ok())
      row.erasure_request = *id;
    else
      spdlog::error("consent withdrawal: raising the erasure failed: {}", id.status().ToString());
  }
  if (Status s = deps_.ledger->Append(&row); !s.ok()) {
    ++errors_;
    spdlog::error("consent ledger write failed: {}", s.ToString());
    // A denial still applies in memory; a grant the ledger cannot prove does not.
    if (e.state != ConsentState::kDenied) return false;
  } else {
    AuditEntry(row);
  }
  if (session) {
    session->state = e.state;
    session->signal = e.signal;
    session->value_sha256 = e.value_sha256;
    session->purposes = e.purposes;
  }
  if (subj && !e.invalid && e.source != "subject") {
    subj->state = e.state;
    subj->source = e.source;
    subj->grant_client = e.state == ConsentState::kGranted ? client : "";
  }
  return true;
}

// The session's own state, else its subject's (recorded for the session as inherited).
// Whether a subject's state carries to a session of `client`: a grant learnt from an event
// (forgeable by anyone who knows the distinct id) only to the client that sent it.
static bool Carries(const std::string& source, const std::string& grant_client, ConsentState state,
                    const std::string& client) {
  if (state != ConsentState::kGranted || source != "event") return true;
  return !grant_client.empty() && grant_client == client;
}

ConsentState ConsentGate::EffectiveLocked(const ingest::Event& ev, const policies::Policy& policy,
                                          const std::string& subject, const std::string& client,
                                          bool* error) {
  const bool has_session = !ev.session_id.empty();
  Known* session = has_session ? SessionLocked(ev.token, ev.session_id) : nullptr;
  if (has_session && !session) return *error = true, ConsentState::kDenied;
  if (session && session->state != ConsentState::kUnknown) return session->state;
  if (subject.empty()) return ConsentState::kUnknown;
  Known* subj = SubjectLocked(ev.token, subject);
  if (!subj) return *error = true, ConsentState::kDenied;
  if (!Carries(subj->source, subj->grant_client, subj->state, client))
    return ConsentState::kUnknown;
  if (subj->state == ConsentState::kUnknown || !session) return subj->state;
  const ConsentState inherited_state = subj->state;
  Evidence inherited;
  inherited.state = inherited_state;
  inherited.source = "subject";
  inherited.signal = "subject";
  RecordLocked(ev, policy, subject, inherited, client);
  return inherited_state;
}

ConsentState ConsentGate::Current(const std::string& token, const std::string& session,
                                  const std::string& subject, const std::string& client) {
  std::lock_guard<std::mutex> lock(mu_);
  Trim();
  if (!session.empty()) {
    Known* k = SessionLocked(token, session);
    if (!k) return ConsentState::kDenied;
    if (k->state != ConsentState::kUnknown) return k->state;
  }
  if (subject.empty()) return ConsentState::kUnknown;
  Known* s = SubjectLocked(token, subject);
  if (!s) return ConsentState::kDenied;
  return Carries(s->source, s->grant_client, s->state, client) ? s->state : ConsentState::kUnknown;
}

void ConsentGate::RequestView::Observe(const ingest::Event& ev, const policies::Policy& policy) {
  std::optional<Evidence> combined = reading_.For(ev, policy);
  if (!combined) return;
  const std::string subject = SubjectOf(ev, policy);
  std::lock_guard<std::mutex> lock(gate_->mu_);
  gate_->Trim();  // only here and in Decide: pointers into the maps live for one call
  if (gate_->RecordLocked(ev, policy, subject, *combined, reading_.facts().client) &&
      !subject.empty() && !combined->invalid)
    (combined->state == ConsentState::kGranted ? granted_subjects_ : denied_subjects_)
        .insert({ev.token, subject});
}

Action ConsentGate::RequestView::Decide(const ingest::Event& ev, const policies::Policy& policy) {
  const std::string subject = SubjectOf(ev, policy);
  std::lock_guard<std::mutex> lock(gate_->mu_);
  gate_->Trim();
  bool error = false;
  ConsentState state = gate_->EffectiveLocked(ev, policy, subject, reading_.facts().client, &error);
  if (error || state == ConsentState::kDenied) return Action::kDrop;
  const policies::ConsentPolicy& c = policy.consent;
  // Without a session there is nothing to hold by: all sessionless events would share a queue.
  if (state == ConsentState::kUnknown && c.mode == ConsentMode::kOptIn)
    return c.wait_seconds > 0 && !ev.session_id.empty() ? Action::kHold : Action::kDrop;
  if (!ev.session_id.empty())
    if (Known* k = gate_->SessionLocked(ev.token, ev.session_id)) k->admitted = true;
  return Action::kAdmit;
}

}  // namespace scrubd::consent
