// Opening a data dir for the CLI's direct path (see local_stack.h).
#include "cli/local_stack.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "cli/consent_wiring.h"
#include "server/keys.h"
#include "subjects/sqlite_subject_store.h"

namespace scrubd::cli {
namespace fs = std::filesystem;

namespace {

// Keys and the holds, once the stores are open.
Status WireStores(const fs::path& data, LocalStack* st) {
  Result<std::unique_ptr<retention::HoldStore>> holds = retention::HoldStore::Open(data);
  if (!holds.ok()) return holds.status();
  st->holds = std::move(holds).value();
  Result<std::string> master = server::LoadOrCreateKey(data / "keys" / "identity.key", 32);
  if (!master.ok()) return master.status();
  Result<std::string> pseudo = server::LoadOrCreateKey(data / "keys" / "pseudonym.key", 32);
  if (!pseudo.ok()) return pseudo.status();
  subjects::Stores& s = st->stores;
  s.index = st->index.get();
  s.store = st->store.get();
  s.spool = st->spool.get();
  s.state = st->state.get();
  s.audit = st->log.get();
  s.data_dir = data;
  s.master_key = *master;
  s.pseudonym_key = *pseudo;
  s.holds_gate = &st->holds->gate();
  if (Result<std::unique_ptr<consent::Ledger>> l =
          consent::Ledger::Open(consent::LedgerPath(data), /*read_only=*/true);
      l.ok()) {
    st->ledger = std::move(l).value();
    s.consent_history = [ledger = st->ledger.get()](const auto& subjects, const auto& sessions) {
      return ConsentHistoryJson(ledger, subjects, sessions);
    };
  }
  s.held_by = [holds = st->holds.get(), index = st->index.get()](
                  const std::vector<sink::SessionKey>& sessions,
                  const std::vector<std::pair<std::string, std::string>>& ids) {
    return retention::HoldsCovering(*holds, index, sessions, ids);
  };
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LocalStack>> OpenLocal(const fs::path& data, bool* held) {
  if (!fs::is_directory(data / "audit"))  // never create a data dir by mistake
    return Status::InvalidInput(data.string() + " is not a scrubd data dir (no audit/)");
  auto st = std::make_unique<LocalStack>();
  Result<std::unique_ptr<audit::Log>> log = audit::Log::Open(data / "audit", {});
  *held = !log.ok() && log.status().code() == Code::kUnavailable;
  if (!log.ok()) return log.status();
  st->log = std::move(log).value();
  Result<std::unique_ptr<sink::LocalStore>> store = sink::LocalStore::Open(data);
  if (!store.ok()) return store.status();
  st->store = std::move(store).value();
  if (Status s = AuditStoreMigration(*st->store, *st->log); !s.ok()) return s;
  dom::StateStore::Options so;
  so.dir = data / "state";
  Result<std::unique_ptr<dom::StateStore>> state = dom::StateStore::Open(so);
  if (!state.ok()) return state.status();
  st->state = std::move(state).value();
  if (fs::exists(data / "spool")) {
    sink::Spool::Options spool_options;
    spool_options.dir = data / "spool";
    Result<std::unique_ptr<sink::Spool>> spool = sink::Spool::Open(spool_options);
    if (!spool.ok()) return spool.status();
    st->spool = std::move(spool).value();
  }
  Result<std::unique_ptr<subjects::SubjectStore>> index = subjects::OpenSqliteSubjectStore(data);
  if (!index.ok()) return index.status();
  st->index = std::move(index).value();
  if (Status s = WireStores(data, st.get()); !s.ok()) return s;
  return st;
}

Status AuditStoreMigration(const sink::LocalStore& store, audit::Log& log) {
  if (store.migrated_sessions() == 0) return Status::Ok();
  spdlog::info("store: lifecycle rows added for {} sessions (docs/retention.md)",
               store.migrated_sessions());
  Result<uint64_t> seq = log.Append(
      "store_migrated", boost::json::serialize(boost::json::object{
                            {"to", "lifecycle"}, {"sessions", store.migrated_sessions()}}));
  return seq.ok() ? Status::Ok() : seq.status();
}

}  // namespace scrubd::cli
