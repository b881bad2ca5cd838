// Tests only: the consent fixture of consent_pipeline_test.cc and consent_attack_test.cc: an
// App with a real store, audit log, ledger, consent gate and quarantine, and helpers that post
// the real /s/ fixture (under any session id) and /e/ events through App::HandleRaw.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <functional>

#include "consent/evidence.h"
#include "consent/gate.h"
#include "consent/ledger.h"
#include "consent/quarantine.h"
#include "consent/tcf.h"
#include "dom/dom_masker.h"
#include "ingest/gzip.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "server/ingest_pipeline.h"
#include "sink/local_store.h"
#include "support/fixtures.h"
#include "support/tc_string.h"

namespace scrubd::server::consent_testing {
using scrubd::testing::AnyFileContains;
using scrubd::testing::Fixture;
using scrubd::testing::TempDir;

inline constexpr char kSession[] = "01a20355-1c58-723a-837c-2bcc756c76c4";
inline constexpr char kOther[] = "01a20355-1c58-723a-837c-2bcc756c0000";
inline constexpr char kDistinct[] = "01a20355-1c26-7bcc-9c69-edbf0328ba49";
inline constexpr char kToken[] = "phc_testkey123";

// A hook whose Admit can run a callback (to interleave another request) and tombstone ids.
class FakeHooks : public IngestHooks {
 public:
  std::unique_ptr<IngestNote> Admit(const ingest::Event& ev, bool* tombstoned) override {
    if (tombstone_all) *tombstoned = true;
    if (on_admit && !busy) {
      busy = true;
      auto f = std::move(on_admit);
      on_admit = nullptr;
      f(ev);
      busy = false;
    }
    return std::make_unique<IngestNote>();
  }
  Status OnStored(const StoredBatch&) override { return Status::Ok(); }
  bool Suppressed(const IngestNote&) override { return tombstone_all; }
  bool tombstone_all = false;
  bool busy = false;
  std::function<void(const ingest::Event&)> on_admit;
};

class ConsentFixture : public ::testing::Test {
 protected:
  void Start(const std::string& consent_yaml, consent::QuarantineLimits limits = {},
             bool require_session = true, const std::string& prefix = "") {
    policies::LoadOptions lo{"0123456789abcdef0123456789abcdef", "identity-key-for-consent-tests"};
    auto p = policies::ParsePolicy("p.yaml", "version: 1\nname: c\n" + consent_yaml, lo);
    ASSERT_TRUE(p.ok()) << p.status().message();
    policy_ = *p;
    auto set = std::make_shared<const policies::PolicySet>(
        std::vector<std::shared_ptr<const policies::Policy>>{*p});
    store_ = std::move(sink::LocalStore::Open(dir_.path()).value());
    dom::StateStore::Options o;
    o.dir = dir_.path() / "state";
    state_ = std::move(dom::StateStore::Open(o).value());
    log_ = std::move(audit::Log::Open(dir_.path() / "audit", {}).value());
    ledger_ = std::move(consent::Ledger::Open(consent::LedgerPath(dir_.path()), false).value());
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    cfg.limits.events_require_session_id = require_session;
    cfg.path_prefix = prefix;  // serve: events_require_session_id
    app_ = std::make_unique<App>(cfg, set, store_.get(), state_.get(), log_.get());
    NewGate();
    quarantine_ = std::make_unique<consent::Quarantine>(limits);
    app_->SetConsent(gate_.get(), quarantine_.get());
  }
  void NewGate() {  // a restart of the gate over the same ledger
    consent::GateDeps deps;
    deps.ledger = ledger_.get();
    deps.audit = [this](std::string_view t, const std::string& b) { app_->Audit(t, b); };
    deps.pseudonym = [](const std::string& s) { return "ps_" + std::to_string(s.size()); };
    deps.raise_erasure = [this](const std::string& token, const std::string& id) {
      erasures_.push_back(token + "/" + id);
      return Result<std::string>(std::string("req-") + std::to_string(erasures_.size()));
    };
    gate_ = std::make_unique<consent::ConsentGate>(std::move(deps));
    if (quarantine_) app_->SetConsent(gate_.get(), quarantine_.get());
  }
  HttpResponse Post(const std::string& target, std::string body,
                    std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    r.headers["content-type"] = "text/plain";
    r.peer = "10.0.0.1";  // the reverse proxy (PostHog's recommended /ingest deployment)
    return app_->HandleRaw(r, Surface::kAll);
  }
  HttpResponse Snapshot(const std::string& session = kSession,
                        std::map<std::string, std::string> headers = {}) {
    std::string body = ingest::Gunzip(Fixture("0008.body"), {}).value();
    if (session != kSession)
      for (size_t at; (at = body.find(kSession)) != std::string::npos;)
        body.replace(at, std::strlen(kSession), session);
    return Post("/s/", body, std::move(headers));
  }
  // An /e/ event; session "" leaves $session_id out.
  HttpResponse Event(const std::string& name, const std::string& session = kSession,
                     const std::string& distinct = kDistinct, const std::string& props = "") {
    std::string body = R"([{"event":")" + name + R"(","properties":{)" +
                       (session.empty() ? "" : R"("$session_id":")" + session + "\",") +
                       R"("distinct_id":")" + distinct + R"(","token":")" + kToken + "\"" + props +
                       "}}]";
    return Post("/e/", body);
  }
  bool Stored(const std::string& session = kSession) {
    return store_->ExportSession(session, "").ok();
  }
  std::string Metrics() {
    HttpRequest m;
    m.method = "GET";
    m.target = "/metrics";
    return app_->Handle(m).body;
  }
  std::vector<consent::LedgerEntry> Ledger(const std::string& session = kSession) {
    return ledger_->ForSession(session).value();
  }
  int64_t Now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  TempDir dir_;
  std::shared_ptr<const policies::Policy> policy_;
  std::unique_ptr<sink::LocalStore> store_;
  std::unique_ptr<dom::StateStore> state_;
  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<consent::Ledger> ledger_;
  std::unique_ptr<App> app_;
  std::unique_ptr<consent::ConsentGate> gate_;
  std::unique_ptr<consent::Quarantine> quarantine_;
  std::vector<std::string> erasures_;
};

}  // namespace scrubd::server::consent_testing
