// scrubd command line: serve, policy check, export, audit. Exit codes: 0 success, 1 the
// command ran and found a failure (invalid policy, missing session), 2 usage error,
// 78 (EX_CONFIG) serve refused to start on a bad configuration.
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/capture_cli.h"
#include "cli/config.h"
#include "cli/consent_cli.h"
#include "cli/consent_wiring.h"
#include "cli/export.h"
#include "cli/hold_cli.h"
#include "cli/local_stack.h"
#include "cli/policy_preview_cli.h"
#include "cli/policy_test_cli.h"
#include "cli/purge_cli.h"
#include "cli/serve_setup.h"
#include "cli/subjects_cli.h"
#include "cli/subjects_wiring.h"
#include "dom/dom_masker.h"
#include "scrubd/audit/cli.h"
#include "scrubd/audit/log.h"
#include "scrubd/common/env.h"
#include "scrubd/policies/policy.h"
#include "server/app.h"
#include "server/http_server.h"
#include "server/keys.h"
#include "server/roles.h"
#include "sink/local_store.h"
#include "sink/upstream.h"

namespace {

using namespace scrubd;  // NOLINT: the CLI is the composition root
namespace json = boost::json;
constexpr int kExitUsage = 2;
constexpr int kExitConfig = 78;

const char* kUsage = R"(scrubd - privacy enforcement sidecar for posthog-js / rrweb session replay

usage: scrubd <command> [options]

commands:
  serve          run the ingest proxy (posthog-js api_host points here)
  capture        capture-only server for staging: writes raw requests to a directory
                 (personal data!) for policy test / preview (docs/capture.md)
  policy check   validate policy files (exit 1 with file:line:col on error)
  policy test    run a policy's test cases over captured requests (docs/workbench.md)
  policy preview HTML before/after report of a policy change over captured requests
  policy diff    the same comparison as text or JSON, for a pull request (docs/preview.md)
  export         write one stored session as a JSON array of rrweb events, or with
                 --distinct-id / --email a person's access bundle (.zip)
  forget         erase a person (--distinct-id, --email or --session) and print the receipt
  hold           add / list / release legal holds (held data survives purge and erasure)
  purge          remove what is past its retention (--dry-run lists it; docs/retention.md)
  consent        decode-tcf: read a TC string; show: a subject's consent ledger (docs/consent.md)
  audit          verify / prove / rotate-key / export-key on the signed audit log
  version        print the version

run 'scrubd <command> --help' for the options of each command.
)";

const char* kServeUsage = R"(usage: scrubd serve [options]

  --listen HOST:PORT       address to listen on (default 127.0.0.1:8080; port 0 = any free)
  --policy FILE            policy file; repeat for several (default: embedded default.yaml)
  --data-dir DIR           store, keys, DOM state and audit log (default ./var)
  --config FILE            scrubd.yaml; every flag can be set there, flags win
  --check                  load config, keys and policies as serve does, print a summary
                           and exit (0, or 78 with serve's error); binds nothing, writes nothing
  --max-body-bytes N       request body cap (default 26214400, 413 above)
  --max-decompressed-bytes N  cap on inflated bytes per request (default 67108864)
  --max-inflight-body-bytes N body bytes received and not yet answered (default 268435456;
                           503 above); charged as bytes arrive, never from Content-Length
  --max-peer-inflight-body-bytes N  the same per client address (default: max(max body,
                           a quarter of the global budget); 503 above)
  --max-connections N      open connections (default: RLIMIT_NOFILE minus a quarter, 64..512,
                           of headroom for files); idle ones are shed first near the cap
  --max-connections-per-peer N  per client address (default max(64, cap/4); 503 + close)
  --idle-timeout-seconds N wait for a request's headers, keep-alive too (default 30; 3 when
                           the server is at 3/4 of its connection cap)
  --admin-origin ORIGIN    the one Origin given CORS headers on /admin/* (default: none)
  --path-prefix /ingest    answer the posthog routes under this prefix only (the site's own
                           origin through its reverse proxy, so consent cookies arrive);
                           /healthz, /metrics and /admin stay at the root
  --consent-quarantine-bytes N  memory for opt_in batches waiting for consent (default
                           67108864; a session gets an eighth, a client address a quarter)
  --admin-token-file FILE  bearer token of role admin (default DIR/keys/admin.token, created)
  --admin-tokens-file FILE more bearer tokens with roles, '<role> <token>' per line (roles
                           admin, dsr, auditor; mode 0600; docs/admin.md)
  --admin-listen HOST:PORT serve admin, OpenDSR and /metrics on this address only; the
                           --listen port then answers ingest, remote config and /healthz
  --no-remote-config       do not answer /flags, /decide, /array/<token>/config locally
  --workers N              scrub worker threads (default 2)
  --upstream URL           forward cleaned batches to URL (https://eu.i.posthog.com) through a
                           durable spool in DIR/spool, and proxy /flags, /decide, /array, /static
  --upstream-and-store     with --upstream, also write the local store
  --no-upstream-reencode-cv  send rrweb fields uncompressed (default: re-compress, cv 2024-10)
  --spool-max-bytes N      bytes waiting for the upstream (default 1073741824; 503 above)
  --upstream-insecure      do not verify the upstream TLS certificate (tests/dev only)
  --posthog-api-host URL, --posthog-project-id N, --posthog-api-key-file FILE
                           erase subjects at PostHog too (all three or none; docs/subjects.md)
  --dsr-callbacks-allow-loopback  let OpenDSR status callbacks reach loopback addresses
  --log-level LEVEL        trace|debug|info|warn|error (default info)

Signals: SIGTERM/SIGINT drain in-flight requests and stop; SIGHUP reloads policies.
)";

const char* kCheckUsage = R"(usage: scrubd policy check [--as-set] FILE...
       scrubd policy test [--json] FILE...   (test cases over captured requests; --help)
       scrubd policy preview --policy NEW [--baseline OLD] --input DIR --out F.html (--help)
       scrubd policy diff OLD NEW --input DIR [--json]     (the same comparison as text; --help)

Parses, validates and compiles each policy exactly as 'scrubd serve' would. Prints OK or the
first error with file:line:col for each file. With --as-set the files are also checked as one
serving set (as 'scrubd serve --policy A --policy B' would load them: no project token may be
claimed twice). Exit 0 if all are valid, 1 otherwise.
)";

const char* kExportUsage =
    R"(usage: scrubd export --data-dir DIR --session ID [--token T] [--window W] [--out FILE]
                     [--admin-token-file FILE]

Writes the cleaned session as a JSON array of rrweb events (all windows merged by timestamp
unless --window is given), loadable by rrweb-player. --token is required when several project
tokens hold the session id. Every export is audited before it is written: while `scrubd serve`
runs on DIR the export goes through its admin API (it owns the audit log), otherwise this
process appends the entry. Exit 1 if the session is not stored or the export cannot be audited.
)";

bool WantsHelp(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
  return false;
}

// The keys only parameterise outputs (hash digests, pseudonyms), never validity: the check
// compiles with placeholders, so a policy serve accepts with the data dir's keys passes here.
const policies::LoadOptions kCheckKeys{std::string(32, 'k'), std::string(32, 'i')};

// "opt_in[posthog,tcf,gpc] wait=60s on_withdrawal=erase"
std::string ConsentSummary(const policies::ConsentPolicy& c) {
  std::string out = c.mode == policies::ConsentMode::kOptIn    ? "opt_in"
                    : c.mode == policies::ConsentMode::kOptOut ? "opt_out"
                                                               : "none";
  out += "[";
  for (size_t i = 0; i < c.signals.size(); ++i)
    out += (i ? "," : "") + std::string(policies::ConsentSignalName(c.signals[i]));
  out += "]";
  if (c.mode == policies::ConsentMode::kOptIn)
    out += " wait=" + std::to_string(c.wait_seconds) + "s";
  if (c.on_withdrawal == policies::ConsentWithdrawal::kErase) out += " on_withdrawal=erase";
  return out;
}

int PolicyCheck(int argc, char** argv) {
  if (argc == 0 || WantsHelp(argc, argv)) {
    std::fputs(kCheckUsage, argc == 0 ? stderr : stdout);
    return argc == 0 ? kExitUsage : 0;
  }
  int bad = 0;
  bool as_set = false;
  std::vector<std::string> all;
  for (int i = 0; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--as-set") {
      as_set = true;
      continue;
    }
    all.push_back(f);
    Result<std::shared_ptr<const policies::PolicySet>> r = policies::LoadPolicySet({f}, kCheckKeys);
    if (r.ok()) {
      const auto& p = *(*r)->policies().front();
      std::printf(
          "OK    %s (name=%s version=%d sha256=%.16s detectors=%zu retention=%lldd rules=%zu "
          "consent=%s)\n",
          f.c_str(), p.name.c_str(), p.version, p.sha256.c_str(), p.scanner->DetectorIds().size(),
          static_cast<long long>(p.retention.days), p.retention.rules.size(),
          ConsentSummary(p.consent).c_str());
    } else {
      std::printf("ERROR %s\n", r.status().message().c_str());
      ++bad;
    }
  }
  if (as_set && bad == 0 && all.size() > 1) {  // the set as a whole must be consistent
    Result<std::shared_ptr<const policies::PolicySet>> r = policies::LoadPolicySet(all, kCheckKeys);
    if (!r.ok()) {
      std::printf("ERROR %s\n", r.status().message().c_str());
      ++bad;
    }
  }
  return bad ? 1 : 0;
}

int Export(int argc, char** argv) {
  if (WantsHelp(argc, argv)) {
    std::fputs(kExportUsage, stdout);
    return 0;
  }
  std::string dir, session, token, window, out, admin_token_file;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--data-dir")
      dir = next();
    else if (a == "--session")
      session = next();
    else if (a == "--token")
      token = next();
    else if (a == "--window")
      window = next();
    else if (a == "--out")
      out = next();
    else if (a == "--admin-token-file")
      admin_token_file = next();
    else {
      std::fprintf(stderr, "scrubd export: unknown option '%s'\n%s", a.c_str(), kExportUsage);
      return kExitUsage;
    }
  }
  if (dir.empty() || session.empty()) {
    std::fputs(kExportUsage, stderr);
    return kExitUsage;
  }
  if (!ingest::ValidSessionId(session) || (!window.empty() && !ingest::ValidSessionId(window)) ||
      (!token.empty() && !ingest::ValidToken(token))) {
    std::fputs("scrubd export: invalid session, window or token id\n", stderr);
    return kExitUsage;
  }
  Result<std::string> body = cli::ExportAudited({dir, session, token, window, admin_token_file});
  if (!body.ok()) {
    std::fprintf(stderr, "scrubd export: %s\n", body.status().ToString().c_str());
    return 1;
  }
  if (out.empty()) {
    std::fwrite(body->data(), 1, body->size(), stdout);
    std::fputc('\n', stdout);
  } else {
    Status s = sink::WriteFileDurably(out, *body, 0600);
    if (!s.ok()) {
      std::fprintf(stderr, "scrubd export: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

// Descriptors bound the connection cap (derived from this limit): take the hard limit.
void RaiseNofileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = before;
  }
  spdlog::info("RLIMIT_NOFILE {} (was {})", static_cast<uint64_t>(rl.rlim_cur),
               static_cast<uint64_t>(before));
}

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// Writes HOST:PORT of the admin routes to DATA_DIR/run/serve.addr for the CLI (export, forget).
void PublishAdminAddress(const std::filesystem::path& addr_file, const std::string& host,
                         uint16_t port) {
  std::string connect_host = host == "0.0.0.0" || host.empty() ? "127.0.0.1" : host;
  if (Status s = Env::Default()->CreateDirs(addr_file.parent_path(), 0700); !s.ok())
    spdlog::warn("cannot publish the admin address for scrubd export: {}", s.message());
  else if (Status w =
               sink::WriteFileDurably(addr_file, connect_host + ":" + std::to_string(port) + "\n");
           !w.ok())
    spdlog::warn("cannot publish the admin address for scrubd export: {}", w.message());
}

// The upstream sink, or null without --upstream.
Result<std::unique_ptr<sink::Upstream>> OpenUpstream(const cli::ServeConfig& cfg,
                                                     const std::filesystem::path& data) {
  if (cfg.upstream.empty()) return std::unique_ptr<sink::Upstream>();
  sink::UpstreamOptions uopts;
  uopts.url = cfg.upstream;
  uopts.spool_dir = data / "spool";
  uopts.spool_max_bytes = cfg.spool_max_bytes;
  uopts.encode.reencode_cv = cfg.upstream_reencode_cv;
  uopts.client.insecure = cfg.upstream_insecure;
  Result<std::unique_ptr<sink::Upstream>> up = sink::Upstream::Open(uopts);
  if (up.ok() && cfg.upstream_insecure)
    spdlog::warn("upstream TLS certificate verification is OFF (--upstream-insecure)");
  return up;
}

// The --listen server's options; its surface is everything unless --admin-listen splits it.
server::ServerOptions ServerOptionsOf(const cli::ServeConfig& cfg) {
  server::ServerOptions sopt;
  sopt.listen = cfg.listen;
  sopt.max_body_bytes = cfg.max_body_bytes;
  sopt.max_inflight_body_bytes = cfg.max_inflight_body_bytes;
  sopt.worker_threads = cfg.workers;
  sopt.max_connections = cfg.max_connections;
  sopt.max_connections_per_peer = cfg.max_connections_per_peer;
  sopt.max_peer_inflight_body_bytes = cfg.max_peer_inflight_body_bytes;
  sopt.idle_timeout = std::chrono::seconds(std::max<int64_t>(1, cfg.idle_timeout_s));
  sopt.admin_origin = cfg.admin_origin;
  sopt.surface = cfg.admin_listen.empty() ? server::Surface::kAll : server::Surface::kPublic;
  return sopt;
}

int Serve(int argc, char** argv) {
  if (WantsHelp(argc, argv)) {
    std::fputs(kServeUsage, stdout);
    return 0;
  }
  Result<cli::ServeConfig> parsed = cli::ParseServeArgs(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "scrubd serve: %s\n%s", parsed.status().message().c_str(), kServeUsage);
    return parsed.status().code() == Code::kInvalidConfig ? kExitConfig : kExitUsage;
  }
  cli::ServeConfig cfg = std::move(parsed).value();
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  auto fail = [](const Status& s) {
    spdlog::critical("refusing to start: {}", s.message());
    return kExitConfig;
  };
  if (cfg.check) {  // the same loading as below, writing nothing (cli/serve_setup.h)
    Result<std::string> summary = cli::CheckServe(cfg);
    if (!summary.ok()) return fail(summary.status());
    std::printf("%s\n", summary->c_str());
    return 0;
  }
  RaiseNofileLimit();
  namespace fs = std::filesystem;
  fs::path data(cfg.data_dir);
  Result<cli::ServeInputs> inputs = cli::LoadServeInputs(cfg, cli::KeyFiles::kCreate);
  if (!inputs.ok()) return fail(inputs.status());
  const std::string& identity_key = inputs->identity_key;
  const std::string& pseudo_key = inputs->pseudonym_key;
  const std::vector<server::RoleToken>& role_tokens = inputs->role_tokens;
  const std::shared_ptr<const policies::PolicySet>& set = inputs->policies;

  audit::Options aopts;
  Result<std::unique_ptr<audit::Log>> log = audit::Log::Open(data / "audit", aopts);
  if (!log.ok()) return fail(log.status());
  // Fail closed: a daemon whose audit log cannot take its first entry does not serve.
  if (Result<uint64_t> r = (*log)->Append(
          "startup", json::serialize(json::object{{"version", SCRUBD_VERSION},
                                                  {"listen", cfg.listen},
                                                  {"admin_listen", cfg.admin_listen},
                                                  {"admin_tokens", role_tokens.size()},
                                                  {"policies", cfg.policy_files.size()}}));
      !r.ok())
    return fail(r.status());

  Result<std::unique_ptr<sink::LocalStore>> store = sink::LocalStore::Open(data);
  if (!store.ok()) return fail(store.status());
  if (Status s = cli::AuditStoreMigration(**store, **log); !s.ok()) return fail(s);
  dom::StateStore* state_ptr = nullptr;
  dom::StateStore::Options sopts;
  sopts.dir = data / "state";
  sopts.max_bytes = cfg.dom_max_bytes;
  sopts.idle_timeout = std::chrono::seconds(cfg.dom_idle_timeout_s);
  Result<std::unique_ptr<dom::StateStore>> state = dom::StateStore::Open(sopts);
  if (!state.ok()) return fail(state.status());
  state_ptr = state->get();
  if (uint64_t n = (*state)->stats().temp_files_removed; n > 0)
    spdlog::info("dom state: removed {} unfinished temp files", n);

  server::AppConfig acfg = cli::AppConfigOf(cfg, *inputs);
  Result<std::unique_ptr<consent::Ledger>> ledger =
      consent::Ledger::Open(consent::LedgerPath(data), /*read_only=*/false);
  if (!ledger.ok()) return fail(ledger.status());
  Result<std::unique_ptr<sink::Upstream>> up = OpenUpstream(cfg, data);
  if (!up.ok()) return fail(up.status());
  std::unique_ptr<sink::Upstream> upstream = std::move(up).value();
  server::App app(acfg, set, store->get(), state_ptr, log->get(), upstream.get());
  app.AuditPolicies("policy_load", "startup");
  // Subject requests: the index as ingest hooks, the service, its routes (docs/subjects.md).
  Result<std::unique_ptr<cli::SubjectsRuntime>> subjects = cli::SubjectsRuntime::Start(
      cfg, {data, identity_key, pseudo_key, store->get(), upstream ? upstream->spool() : nullptr,
            state_ptr, log->get(), &app, ledger->get()});
  if (!subjects.ok()) return fail(subjects.status());
  // Consent: the gate, the quarantine and its sweep (docs/consent.md).
  cli::SubjectsRuntime* subjects_rt = subjects->get();
  std::unique_ptr<cli::ConsentRuntime> consent_rt =
      cli::ConsentRuntime::Start(&app, ledger->get(), pseudo_key, cfg.consent_quarantine_bytes,
                                 [subjects_rt](const std::string& token, const std::string& id) {
                                   return subjects_rt->RaiseErasure(token, id);
                                 });

  // Signals are taken synchronously by this thread; every other thread has them blocked.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  server::ServerOptions sopt = ServerOptionsOf(cfg);
  server::HttpServer http(&app, sopt);
  std::unique_ptr<server::HttpServer> admin_http;
  if (!cfg.admin_listen.empty()) {
    server::ServerOptions aopt = sopt;
    aopt.listen = cfg.admin_listen;
    aopt.surface = server::Surface::kAdmin;
    aopt.worker_threads = 1;
    admin_http = std::make_unique<server::HttpServer>(&app, aopt);
  }
  if (upstream) upstream->Start();  // resumes any spool left by the last run
  Result<uint16_t> port = http.Start();
  if (!port.ok()) return fail(port.status());
  std::string host = HostOf(cfg.listen);
  std::printf("scrubd listening on http://%s:%u\n", host.c_str(), *port);
  std::string admin_host = host;
  uint16_t admin_port = *port;
  if (admin_http) {
    Result<uint16_t> ap = admin_http->Start();
    if (!ap.ok()) {
      http.Stop();
      return fail(ap.status());
    }
    admin_host = HostOf(cfg.admin_listen);
    admin_port = *ap;
    std::printf("scrubd admin listening on http://%s:%u\n", admin_host.c_str(), admin_port);
  }
  // For `scrubd export` while we hold the audit log (cli/export.h): the admin address.
  const fs::path addr_file = cli::ServeAddrFile(data);
  PublishAdminAddress(addr_file, admin_host, admin_port);
  std::fflush(stdout);
  spdlog::info("listening on {}:{} data_dir={} policies={}", host, *port, cfg.data_dir,
               cfg.policy_files.empty() ? "<embedded>/default.yaml" : cfg.policy_files[0]);

  for (;;) {
    timespec tick{30, 0};
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGHUP) {
      // A rejected reload keeps the old snapshot; Reload has logged and audited why.
      if (Status r = app.Reload("sighup"); !r.ok()) continue;
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("signal {} received: draining", sig);
      break;
    }
    if (size_t n = (*state)->EvictIdle(); n > 0) spdlog::info("evicted {} idle windows", n);
    app.FlushAuditAggregates();
  }
  http.Stop();
  if (admin_http) admin_http->Stop();
  consent_rt->Stop();   // what waits for consent is deleted: the quarantine is memory only
  (*subjects)->Stop();  // finishes the request step under way
  app.FlushAuditAggregates(/*all=*/true);
  if (Status s = Env::Default()->RemoveFile(addr_file); !s.ok())
    spdlog::warn("cannot remove {}: {}", addr_file.filename().string(), s.message());
  if (upstream) upstream->Stop();  // after the in-flight send; the spool keeps the rest
  if (Status s = (*state)->PersistAll(); !s.ok())
    spdlog::error("persisting DOM state failed: {}", s.ToString());
  const server::Metrics& m = app.metrics();
  if (Result<uint64_t> r = (*log)->Append(
          "shutdown", json::serialize(json::object{{"requests", m.requests.load()},
                                                   {"events_stored", m.events_stored.load()},
                                                   {"events_dropped", m.events_dropped.load()}}));
      !r.ok())
    spdlog::error("audit shutdown entry: {}", r.status().ToString());
  if (Status s = (*log)->Close(); !s.ok()) spdlog::error("audit close: {}", s.ToString());
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("scrubd");
  spdlog::set_default_logger(logger);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "serve") return Serve(argc - 2, argv + 2);
  if (cmd == "capture") return cli::Capture(argc - 2, argv + 2);
  if (cmd == "export") {
    if (cli::IsSubjectExport(argc - 2, argv + 2)) return cli::ExportSubject(argc - 2, argv + 2);
    return Export(argc - 2, argv + 2);
  }
  if (cmd == "forget") return cli::Forget(argc - 2, argv + 2);
  if (cmd == "hold") return cli::Hold(argc - 2, argv + 2);
  if (cmd == "purge") return cli::Purge(argc - 2, argv + 2);
  if (cmd == "consent") return cli::Consent(argc - 2, argv + 2);
  if (cmd == "version" || cmd == "--version") {
    std::printf("scrubd %s\n", SCRUBD_VERSION);
    return 0;
  }
  if (cmd == "policy") {
    if (argc >= 3 && !strcmp(argv[2], "check")) return PolicyCheck(argc - 3, argv + 3);
    if (argc >= 3 && !strcmp(argv[2], "test")) return cli::PolicyTest(argc - 3, argv + 3);
    if (argc >= 3 && !strcmp(argv[2], "preview")) return cli::PolicyPreview(argc - 3, argv + 3);
    if (argc >= 3 && !strcmp(argv[2], "diff")) return cli::PolicyDiff(argc - 3, argv + 3);
    std::fputs(kCheckUsage, argc >= 3 && WantsHelp(argc - 2, argv + 2) ? stdout : stderr);
    return argc >= 3 && WantsHelp(argc - 2, argv + 2) ? 0 : kExitUsage;
  }
  if (cmd == "audit") return audit::RunAuditCli(argc - 2, argv + 2);
  std::fprintf(stderr, "scrubd: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return kExitUsage;
}
