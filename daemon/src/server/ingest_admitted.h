// Internal to the ingest pipeline (ingest_pipeline.cc, consent_pipeline.cc): one batch between
// admission and the sink, and the request's consent view (the gate's, or without a gate the
// stateless reading of the request's and each event's evidence). Never include elsewhere.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "consent/gate.h"
#include "scrub/scrub.h"
#include "server/ingest_pipeline.h"

namespace scrubd::server {

// ConsentGate::RequestView, or (no gate: tests of other stages) evidence read per event: a
// denial drops, and opt_in without a grant drops (nothing to hold it in).
class ConsentView {
 public:
  ConsentView(consent::ConsentGate* gate, consent::RequestFacts facts);
  void Observe(const ingest::Event& ev, const policies::Policy& policy);
  consent::Action Decide(const ingest::Event& ev, const policies::Policy& policy);
  const std::set<consent::SessionKey>* granted_subjects() const;
  const std::set<consent::SessionKey>* denied_subjects() const;

 private:
  std::optional<consent::ConsentGate::RequestView> view_;
  std::optional<consent::RequestReading> reading_;  // without a gate
};

struct HeldEvent {
  ingest::Event* event;
  std::unique_ptr<IngestNote> note;
  const policies::Policy* policy;
  std::string subject;            // taken before the scrubber rewrote the distinct id
  rules::RedactionCounts counts;  // a recording's own redactions (its session row's, once stored)
};

struct IngestPipeline::Admitted {
  scrub::Report report;
  std::vector<ingest::Event*> recordings;
  std::vector<ingest::Event*> events;                              // analytics events
  std::vector<rules::RedactionCounts> recording_counts;            // of each recordings[i]
  policies::ClientIpMode ip_mode = policies::ClientIpMode::kPass;  // strictest admitted policy
  std::vector<std::unique_ptr<IngestNote>> notes;  // IngestHooks::Admit's, of stored events
  std::unique_ptr<ConsentView> consent;
  std::map<consent::SessionKey, consent::Action> sessions;  // the last decision per session
  std::vector<HeldEvent> held;             // scrubbed, waiting for consent (in batch order)
  std::string client;                      // peer and first X-Forwarded-For hop (consent budgets)
  std::string first_token, first_session;  // for the log line and the batch entry
};

// ingest_pipeline.cc helpers shared with consent_pipeline.cc.
boost::json::object CountsJson(const std::map<std::string, uint64_t>& m);
const char* EndpointName(ingest::Endpoint e);

}  // namespace scrubd::server
