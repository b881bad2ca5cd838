// The consent composition root for serve.
#include "cli/consent_wiring.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

#include "server/app.h"
#include "server/keys.h"

namespace scrubd::cli {
namespace json = boost::json;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::unique_ptr<ConsentRuntime> ConsentRuntime::Start(server::App* app, consent::Ledger* ledger,
                                                      const std::string& pseudonym_key,
                                                      uint64_t quarantine_bytes,
                                                      RaiseErasureFn raise_erasure) {
  std::unique_ptr<ConsentRuntime> rt(new ConsentRuntime());
  rt->app_ = app;
  consent::GateDeps deps;
  deps.ledger = ledger;
  deps.audit = [app](std::string_view type, const std::string& body) { app->Audit(type, body); };
  deps.pseudonym = [pseudonym_key](const std::string& session) {
    return session.empty() ? std::string() : server::Pseudonym(pseudonym_key, session);
  };
  deps.raise_erasure = std::move(raise_erasure);
  rt->gate_ = std::make_unique<consent::ConsentGate>(std::move(deps));
  consent::QuarantineLimits limits;
  limits.total_bytes = quarantine_bytes;
  limits.session_bytes = std::max<uint64_t>(1, quarantine_bytes / 8);
  limits.peer_bytes = std::max<uint64_t>(1, quarantine_bytes / 4);
  rt->quarantine_ = std::make_unique<consent::Quarantine>(limits);
  app->SetConsent(rt->gate_.get(), rt->quarantine_.get());
  rt->sweeper_ = std::thread([r = rt.get()] {
    while (!r->stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (uint64_t n = r->app_->ExpireHeld(NowMs()); n > 0)
        spdlog::info("consent: {} held batches timed out without consent", n);
    }
  });
  return rt;
}

ConsentRuntime::~ConsentRuntime() { Stop(); }

void ConsentRuntime::Stop() {
  if (stop_.exchange(true)) return;
  if (sweeper_.joinable()) sweeper_.join();
  if (uint64_t n = app_->DiscardAllHeld("shutdown"); n > 0)
    spdlog::info("consent: {} held batches deleted at shutdown (the quarantine is memory only)", n);
}

Result<std::string> ConsentHistoryJson(
    consent::Ledger* ledger, const std::vector<std::pair<std::string, std::string>>& subjects,
    const std::vector<std::string>& sessions) {
  Result<std::vector<consent::LedgerEntry>> all = ledger->ForSubjects(subjects);
  if (!all.ok()) return all.status();
  std::vector<consent::LedgerEntry> entries = std::move(all).value();
  for (const std::string& s : sessions) {
    Result<std::vector<consent::LedgerEntry>> more = ledger->ForSession(s);
    if (!more.ok()) return more.status();
    for (auto& e : *more) entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  json::array out;
  int64_t last = -1;
  for (const consent::LedgerEntry& e : entries) {
    if (e.seq == last) continue;
    last = e.seq;
    out.push_back(consent::LedgerEntryJson(e));
  }
  return json::serialize(json::object{{"entries", std::move(out)}});
}

}  // namespace scrubd::cli
