// The workbench runner (runner.h): serve's App, consent wiring and store over a scratch dir.
#include "workbench/runner.h"

#include <boost/json.hpp>

#include "cli/config.h"
#include "cli/consent_wiring.h"
#include "cli/serve_setup.h"
#include "consent/ledger.h"
#include "dom/state_store.h"
#include "ingest/decode.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "server/batch_sink.h"
#include "server/keys.h"
#include "workbench/run_store.h"

namespace scrubd::workbench {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kKeyBytes = 32;

// This process's keys: random, made once (pseudonyms agree between the runs of one process).
const cli::ServeInputs& WorkbenchKeys() {
  static const cli::ServeInputs keys = [] {
    cli::ServeInputs in;
    auto key = [] {
      Result<std::string> r = server::RandomBytes(kKeyBytes);
      return r.ok() ? *r : std::string();
    };
    in.hash_key = key();
    in.pseudonym_key = key();
    in.identity_key = key();
    in.admin_token = server::HexEncode(key());  // never given out: admin routes stay closed
    in.policy_options = {in.hash_key, in.identity_key};
    return in;
  }();
  return keys;
}

// What a run opens in its data dir, in serve's order.
struct Stack {
  std::unique_ptr<audit::Log> log;
  std::unique_ptr<sink::LocalStore> store;
  std::unique_ptr<dom::StateStore> state;
  std::unique_ptr<consent::Ledger> ledger;
};

Result<Stack> OpenStack(const fs::path& data, const cli::ServeConfig& cfg) {
  Stack st;
  Result<std::unique_ptr<audit::Log>> log = audit::Log::Open(data / "audit", {});
  if (!log.ok()) return log.status();
  st.log = std::move(log).value();
  Result<std::unique_ptr<sink::LocalStore>> store = sink::LocalStore::Open(data);
  if (!store.ok()) return store.status();
  st.store = std::move(store).value();
  dom::StateStore::Options so;
  so.dir = data / "state";
  so.max_bytes = cfg.dom_max_bytes;
  so.idle_timeout = std::chrono::seconds(cfg.dom_idle_timeout_s);
  Result<std::unique_ptr<dom::StateStore>> state = dom::StateStore::Open(so);
  if (!state.ok()) return state.status();
  st.state = std::move(state).value();
  Result<std::unique_ptr<consent::Ledger>> ledger =
      consent::Ledger::Open(consent::LedgerPath(data), /*read_only=*/false);
  if (!ledger.ok()) return ledger.status();
  st.ledger = std::move(ledger).value();
  return st;
}

// "0004: 400 invalid_input" (the error code of a JSON answer; never its message).
std::string Rejection(const std::string& name, const server::HttpResponse& r) {
  std::string code;
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object())
    if (const json::value* e = v.as_object().if_contains("error"); e && e->is_string())
      code = std::string(e->as_string());
  return name + ": " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
}

// Closes the run as serve's shutdown does, then reads everything back.
Result<RunResult> Finish(const fs::path& data, Stack& st, const LogCapture& logs, RunResult out) {
  if (Status s = st.state->PersistAll(); !s.ok()) return s;
  if (Status s = st.log->Close(); !s.ok()) return s;
  Result<std::vector<audit::LogEntry>> entries = audit::ReadEntries(data / "audit");
  if (!entries.ok()) return entries.status();
  CountFromAudit(*entries, &out);
  if (Status s = ReadStored(*st.store, &out); !s.ok()) return s;
  if (Status s = CollectBytes(data, *st.store, &out); !s.ok()) return s;
  out.bytes.append(logs.Text());
  AppendDecodedForms(&out);
  return out;
}

}  // namespace

Result<RunResult> RunPolicy(std::shared_ptr<const policies::PolicySet> set,
                            const std::vector<CapturedRequest>& in) {
  if (!set) return Status::InvalidInput("no policy set");
  Result<std::unique_ptr<ScratchDir>> dir = ScratchDir::Create();
  if (!dir.ok()) return dir.status();
  const fs::path& data = (*dir)->path();
  LogCapture logs;
  const cli::ServeConfig cfg;  // serve's defaults
  Result<Stack> st = OpenStack(data, cfg);
  if (!st.ok()) return st.status();
  cli::ServeInputs inputs = WorkbenchKeys();
  RunResult out;
  {
    server::App app(cli::AppConfigOf(cfg, inputs), set, st->store.get(), st->state.get(),
                    st->log.get());
    app.AuditPolicies("policy_load", "workbench");
    std::unique_ptr<cli::ConsentRuntime> consent = cli::ConsentRuntime::Start(
        &app, st->ledger.get(), inputs.pseudonym_key, cfg.consent_quarantine_bytes, {});
    for (const CapturedRequest& c : in) {
      server::HttpRequest req = c.request;
      server::HttpResponse r = app.HandleRaw(req, server::Surface::kPublic);
      if (r.status < 200 || r.status > 299) out.rejected.push_back(Rejection(c.name, r));
    }
    consent->Stop();  // what still waits for consent is dropped, as at serve's shutdown
    app.FlushAuditAggregates(/*all=*/true);
  }
  return Finish(data, *st, logs, std::move(out));
}

namespace {

// One request decoded as serve's ingest decodes it and stored unscrubbed by the local sink.
// Other routes are skipped (they store nothing). Non-ok: the rejection to report.
std::optional<std::string> DecodeAndStore(const CapturedRequest& c,
                                          const ingest::DecodeLimits& limits,
                                          server::BatchSink& sink, RunResult* out) {
  const server::HttpRequest& req = c.request;
  ingest::Endpoint ep = ingest::ClassifyPath(server::PathOf(req));
  if (ep != ingest::Endpoint::kRecording && ep != ingest::Endpoint::kEvents) return {};
  size_t q = req.target.find('?');
  ingest::RequestView view{
      req.body, server::HeaderOf(req, "content-type"),
      q == std::string::npos ? std::string_view() : std::string_view(req.target).substr(q + 1)};
  Result<ingest::Batch> batch = ingest::DecodeBatch(ep, view, limits);
  auto fail = [&](const Status& s) {
    return c.name + ": " + std::to_string(server::HttpStatusFor(s)) + " " + CodeName(s.code());
  };
  if (!batch.ok()) return fail(batch.status());
  server::CleanBatch clean;
  clean.path = std::string(server::PathOf(req));
  clean.recording = ep == ingest::Endpoint::kRecording;
  for (ingest::Event& ev : batch->events)
    (ev.is_snapshot ? clean.recordings : clean.events).push_back(&ev);
  out->events_in += batch->events.size();
  Result<server::SinkResult> r = sink.Write(clean);
  if (!r.ok()) return fail(r.status());
  out->events_stored += r->stored;
  return {};
}

}  // namespace

Result<RunResult> DecodeOnly(const std::vector<CapturedRequest>& in) {
  Result<std::unique_ptr<ScratchDir>> dir = ScratchDir::Create();
  if (!dir.ok()) return dir.status();
  const fs::path& data = (*dir)->path();
  LogCapture logs;
  const cli::ServeConfig cfg;
  Result<Stack> st = OpenStack(data, cfg);
  if (!st.ok()) return st.status();
  const ingest::DecodeLimits limits = cli::AppConfigOf(cfg, WorkbenchKeys()).limits;
  server::LocalSink sink(st->store.get());
  RunResult out;
  for (const CapturedRequest& c : in)
    if (std::optional<std::string> rejected = DecodeAndStore(c, limits, sink, &out))
      out.rejected.push_back(std::move(*rejected));
  return Finish(data, *st, logs, std::move(out));
}

const StoredSession* RunResult::FindSession(const std::string& token,
                                            const std::string& session_id) const {
  for (const StoredSession& s : sessions)
    if (s.token == token && s.session_id == session_id) return &s;
  return nullptr;
}

Result<std::shared_ptr<const policies::PolicySet>> LoadPolicies(
    const std::vector<std::string>& files) {
  return policies::LoadPolicySet(files, WorkbenchKeys().policy_options);
}

}  // namespace scrubd::workbench
