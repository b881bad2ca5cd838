// The subjects runtime of `serve` (see subjects_wiring.h).
#include "cli/subjects_wiring.h"

#include <spdlog/spdlog.h>

#include <future>

#include "cli/consent_wiring.h"
#include "retention/holds.h"
#include "retention/holds_api.h"
#include "retention/purge_api.h"
#include "server/app.h"
#include "server/work_queue.h"
#include "sink/upstream.h"
#include "subjects/api.h"
#include "subjects/callbacks.h"
#include "subjects/facts.h"
#include "subjects/posthog_eraser.h"
#include "subjects/service.h"
#include "subjects/sqlite_subject_store.h"

namespace scrubd::cli {
namespace {

// The subject index seen from ingest: each admitted event's facts (pseudonyms only) are
// computed once, before scrubbing, checked against the tombstones, and recorded once stored.
class IngestGate : public server::IngestHooks {
 public:
  struct Note : server::IngestNote {
    subjects::EventFacts facts;
  };
  IngestGate(subjects::SubjectStore* index, std::string key)
      : index_(index), key_(std::move(key)) {}
  std::unique_ptr<server::IngestNote> Admit(const ingest::Event& ev, bool* tombstoned) override {
    auto note = std::make_unique<Note>();
    note->facts = subjects::FactsOf(ev, key_);
    *tombstoned = subjects::IsSuppressed(*index_, note->facts);
    return note;
  }
  Status OnStored(const server::StoredBatch& b) override {
    subjects::BatchFacts facts;
    for (const auto& n : b.notes)
      if (n) facts.events.push_back(static_cast<const Note&>(*n).facts);
    if (b.spool_seqs.empty()) return index_->Record(facts);
    for (uint64_t seq : b.spool_seqs) {  // one batch may be several spool records
      facts.spool_seq = seq;
      if (Status s = index_->Record(facts); !s.ok()) return s;
    }
    return Status::Ok();
  }
  bool Suppressed(const server::IngestNote& note) override {
    return subjects::IsSuppressed(*index_, static_cast<const Note&>(note).facts);
  }

 private:
  subjects::SubjectStore* index_;
  std::string key_;
};

server::HttpResponse ToHttp(subjects::ApiReply r) {
  return server::HttpResponse{r.status, std::move(r.content_type), std::move(r.body), {}};
}

subjects::ApiRequest ToApi(const server::HttpRequest& req) {
  std::string_view t = req.target;
  return {req.method, std::string(t.substr(0, t.find('?'))), req.body};
}

std::vector<std::string> PolicyVersions(const policies::PolicySet& set) {
  std::vector<std::string> out;
  for (const auto& p : set.policies())
    out.push_back(p->name + " v" + std::to_string(p->version) + " " + p->sha256);
  return out;
}

}  // namespace

struct SubjectsRuntime::Parts {
  std::shared_mutex erasure_lock;
  std::unique_ptr<subjects::SubjectStore> index;
  std::unique_ptr<retention::HoldStore> holds;
  retention::HoldsContext holds_ctx;
  std::unique_ptr<IngestGate> gate;
  std::unique_ptr<sink::UpstreamClient> posthog_client;
  std::unique_ptr<subjects::UpstreamEraser> eraser;
  std::unique_ptr<subjects::CallbackSender> callbacks;
  std::unique_ptr<server::WorkQueue> queue;
  std::unique_ptr<subjects::Service> service;
  subjects::ApiOptions api;
};

namespace {

Status OpenEraser(const ServeConfig& cfg, SubjectsRuntime::Parts* p);
void MountHolds(server::App* app, SubjectsRuntime::Parts* p);
void MountPurge(server::App* app, SubjectsRuntime::Parts* p, const ServeConfig& cfg);

Status OpenIndexAndHolds(const std::filesystem::path& data_dir, SubjectsRuntime::Parts* p) {
  Result<std::unique_ptr<subjects::SubjectStore>> index =
      subjects::OpenSqliteSubjectStore(data_dir);
  if (!index.ok()) return index.status();
  p->index = std::move(index).value();
  Result<std::unique_ptr<retention::HoldStore>> holds = retention::HoldStore::Open(data_dir);
  if (!holds.ok()) return holds.status();
  p->holds = std::move(holds).value();
  return Status::Ok();
}

// What erasure and access work on: the deps, the index, the eraser, the policy's
// suppress_days, and the legal holds (erasure defers what they cover).
subjects::Stores StoresOf(const SubjectsDeps& d, SubjectsRuntime::Parts* p) {
  server::App* app = d.app;
  subjects::Stores stores{p->index.get(), d.store,         d.spool,          d.state,
                          d.log,          p->eraser.get(), &p->erasure_lock, d.data_dir,
                          d.identity_key, d.pseudonym_key};
  stores.suppress_days_for = [app](std::string_view token) -> int64_t {
    const policies::Policy* policy = app->policies()->ForToken(token);
    return policy ? policy->erasure.suppress_days : subjects::kDefaultSuppressDays;
  };
  stores.policy_versions = PolicyVersions(*app->policies());
  stores.holds_gate = &p->holds->gate();
  if (consent::Ledger* ledger = d.ledger)
    stores.consent_history = [ledger](const auto& subjects, const auto& sessions) {
      return ConsentHistoryJson(ledger, subjects, sessions);
    };
  stores.held_by = [holds = p->holds.get(), index = p->index.get()](
                       const std::vector<sink::SessionKey>& sessions,
                       const std::vector<std::pair<std::string, std::string>>& distinct_ids) {
    return retention::HoldsCovering(*holds, index, sessions, distinct_ids);
  };
  return stores;
}

}  // namespace

Result<std::unique_ptr<SubjectsRuntime>> SubjectsRuntime::Start(const ServeConfig& cfg,
                                                                const SubjectsDeps& d) {
  std::unique_ptr<SubjectsRuntime> rt(new SubjectsRuntime());
  rt->parts_ = std::make_unique<Parts>();
  Parts* p = rt->parts_.get();
  if (Status s = OpenIndexAndHolds(d.data_dir, p); !s.ok()) return s;
  if (Status s = OpenEraser(cfg, p); !s.ok()) return s;
  subjects::CallbackOptions copts;
  copts.policy.allow_loopback = cfg.dsr_callbacks_allow_loopback;
  p->callbacks = std::make_unique<subjects::CallbackSender>(copts);
  p->callbacks->Start();
  p->queue = std::make_unique<server::WorkQueue>();
  server::App* app = d.app;
  subjects::ServiceOptions sopts;
  server::WorkQueue* queue = p->queue.get();
  sopts.post = [queue](std::function<void()> job) {
    if (!queue->Post(std::move(job))) spdlog::error("subjects: work queue refused a job");
  };
  subjects::CallbackSender* cb = p->callbacks.get();
  std::string controller = p->api.controller_id;
  sopts.on_status = [cb, controller](const subjects::RequestRecord& r) {
    std::string results =
        r.type != "erasure" && r.status == "completed" ? "/v1/requests/" + r.id + "/results" : "";
    for (const std::string& url : r.callback_urls)
      if (Status s = cb->Enqueue(r.id, url, subjects::CallbackBody(controller, url, r, results));
          !s.ok())
        spdlog::warn("subjects: callback for {} not queued: {}", r.id, CodeName(s.code()));
  };
  p->service = std::make_unique<subjects::Service>(StoresOf(d, p), sopts);
  p->gate = std::make_unique<IngestGate>(p->index.get(), d.identity_key);
  app->SetIngestHooks(p->gate.get(), &p->erasure_lock);
  subjects::Service* svc = p->service.get();
  subjects::ApiOptions api = p->api;
  app->Mount("/admin/subjects/", server::Role::kDsr,
             [svc, api](const server::HttpRequest& req, const server::AdminCaller&) {
               return ToHttp(subjects::HandleAdminSubjects(*svc, ToApi(req), api));
             });
  app->Mount("/v1/", server::Role::kDsr,
             [svc, api](const server::HttpRequest& req, const server::AdminCaller&) {
               return ToHttp(subjects::HandleOpenDsr(*svc, ToApi(req), api));
             });
  MountHolds(app, p);
  MountPurge(app, p, cfg);
  const retention::HoldsContext* holds_ctx = &p->holds_ctx;
  app->SetConsoleLists(
      [svc](std::string_view query) { return ToHttp(subjects::ListRequests(*svc, query)); },
      [holds_ctx](std::string_view query) {
        std::string target = "/admin/holds";
        if (!query.empty()) target += "?" + std::string(query);
        return ToHttp(retention::HandleAdminHolds(*holds_ctx, {"GET", target, ""}, "console"));
      });
  app->AddMetricsSource([cb] { return cb->MetricsText(); });
  if (Status s = p->service->Resume(); !s.ok()) return s;
  rt->ticker_ = std::thread([r = rt.get()] {
    for (int i = 0; !r->stop_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      r->parts_->service->Tick();
      if (i % 7200 == 0) {  // hourly
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        if (Result<uint64_t> n = r->parts_->index->ExpireTombstones(now); n.ok() && *n > 0)
          spdlog::info("subjects: {} tombstones expired", *n);
      }
    }
  });
  return rt;
}

Result<std::string> SubjectsRuntime::RaiseErasure(const std::string& token,
                                                  const std::string& distinct_id) {
  (void)token;  // a distinct id request covers every project the index has seen it in
  subjects::NewRequest req;
  req.type = "erasure";
  req.identities.push_back({"distinct_id", distinct_id, "raw"});
  req.reason = "consent withdrawn";
  req.submitted_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  Result<subjects::RequestRecord> r = parts_->service->Submit(std::move(req));
  if (!r.ok()) return r.status();
  return r->id;
}

namespace {

Status OpenEraser(const ServeConfig& cfg, SubjectsRuntime::Parts* p) {
  if (cfg.posthog_api_host.empty()) return Status::Ok();
  Result<subjects::PosthogEraseConfig> pc = subjects::LoadPosthogEraseConfig(
      cfg.posthog_api_host, cfg.posthog_project_id, cfg.posthog_api_key_file);
  if (!pc.ok()) return pc.status();
  Result<std::unique_ptr<sink::UpstreamClient>> client =
      subjects::MakePosthogApiClient(*pc, cfg.upstream_insecure);
  if (!client.ok()) return client.status();
  p->posthog_client = std::move(client).value();
  p->eraser = subjects::MakePosthogEraser(*pc, p->posthog_client.get());
  return Status::Ok();
}

// /admin/holds: admin; auditors may list. A release re-runs the deferred erasures.
void MountHolds(server::App* app, SubjectsRuntime::Parts* p) {
  subjects::Service* svc = p->service.get();
  p->holds_ctx = {p->holds.get(), &svc->stores(), [svc] { svc->ResumeDeferred(); }};
  const retention::HoldsContext* ctx = &p->holds_ctx;
  app->Mount(
      "/admin/holds", server::Role::kAdmin,
      [ctx](const server::HttpRequest& req, const server::AdminCaller& caller) {
        subjects::ApiRequest api{req.method, req.target, req.body};
        return ToHttp(retention::HandleAdminHolds(*ctx, api, caller.name));
      },
      server::Role::kAuditor);
}

// /admin/purge: admin only. The purge runs on the subjects work queue, so it never overlaps
// an erasure; the request waits for it.
void MountPurge(server::App* app, SubjectsRuntime::Parts* p, const ServeConfig& cfg) {
  subjects::Service* svc = p->service.get();
  server::WorkQueue* queue = p->queue.get();
  retention::HoldStore* holds = p->holds.get();
  const int64_t request_days = cfg.request_retention_days, bundle_days = cfg.bundle_retention_days;
  retention::PurgeRunner run = [=](const retention::PurgeOptions& given) {
    retention::PurgeOptions o = given;
    o.request_days = request_days;
    o.bundle_days = bundle_days;
    auto done = std::make_shared<std::promise<Result<retention::PurgeReport>>>();
    std::future<Result<retention::PurgeReport>> result = done->get_future();
    if (!queue->Post([=] {
          done->set_value(retention::PurgeWith(svc->stores(), holds, app->policies(), o));
        }))
      return Result<retention::PurgeReport>(Status::Unavailable("work queue refused the purge"));
    return result.get();
  };
  app->Mount("/admin/purge", server::Role::kAdmin,
             [run](const server::HttpRequest& req, const server::AdminCaller&) {
               subjects::ApiRequest api{req.method, req.target, req.body};
               return ToHttp(retention::HandleAdminPurge(run, api, subjects::NowMs()));
             });
}

}  // namespace

retention::HoldStore* SubjectsRuntime::holds() const {
  return parts_ ? parts_->holds.get() : nullptr;
}

void SubjectsRuntime::Stop() {
  if (stop_.exchange(true)) return;
  if (ticker_.joinable()) ticker_.join();
  if (parts_) {
    parts_->queue->Stop();
    parts_->callbacks->Stop();
  }
}

SubjectsRuntime::~SubjectsRuntime() { Stop(); }

}  // namespace scrubd::cli
