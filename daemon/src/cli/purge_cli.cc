// purge: argument parsing, the daemon path and the direct path.
#include "cli/purge_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/config.h"
#include "cli/daemon_client.h"
#include "cli/local_stack.h"
#include "cli/serve_setup.h"
#include "retention/purge_api.h"
#include "scrubd/common/rfc3339.h"
#include "subjects/erasure.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kExitFailed = 1, kExitUsage = 2;

constexpr const char* kUsage =
    "usage: scrubd purge (--config FILE | --data-dir DIR [--policy FILE]...) [--dry-run]\n"
    "                    [--now RFC3339] [--json | --quiet] [--admin-token-file FILE]\n"
    "Removes every session past its retention (policy retention.days and retention.rules)\n"
    "that no legal hold covers, with sessionless events, idle DOM state, dead letters and\n"
    "finished subject requests past theirs; prints each session with the rule and expiry\n"
    "that applied, then the totals (--quiet: the totals only, no session or token id, as\n"
    "the systemd timer runs it). --dry-run changes nothing. With a running daemon its\n"
    "policies apply.\n";

struct Args {
  std::vector<std::string> serve_args;  // --config / --data-dir / --policy, as serve takes them
  fs::path token_file;
  std::string now;
  bool dry_run = false, json = false, quiet = false, policies_given = false;
};

bool Fail(const std::string& why) {
  std::fprintf(stderr, "scrubd purge: %s\n%s", why.c_str(), kUsage);
  return false;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  bool data_dir = false, config = false;
  for (int i = 0; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (f == "--dry-run" || f == "--json" || f == "--quiet") {
      (f == "--json" ? a->json : f == "--quiet" ? a->quiet : a->dry_run) = true;
      continue;
    }
    if (i + 1 >= argc || argv[i + 1][0] == '\0') return Fail(f + " needs a value");
    std::string v = argv[++i];
    if (f == "--config" || f == "--data-dir" || f == "--policy") {
      data_dir = data_dir || f == "--data-dir";
      config = config || f == "--config";
      a->policies_given = a->policies_given || f == "--policy";
      a->serve_args.insert(a->serve_args.end(), {f, v});
    } else if (f == "--now") {
      if (!ParseRfc3339Ms(v).ok()) return Fail("--now must be an RFC 3339 date-time");
      a->now = v;
    } else if (f == "--admin-token-file") {
      a->token_file = v;
    } else {
      return Fail("unknown option '" + f + "'");
    }
  }
  if (!data_dir && !config) return Fail("--data-dir or --config is required");
  if (a->json && a->quiet) return Fail("--json and --quiet exclude each other");
  return true;
}

// The serve configuration the arguments name (data dir, policies, retention days).
Result<ServeConfig> ConfigOf(const Args& a) {
  std::vector<char*> argv;
  for (const std::string& s : a.serve_args) argv.push_back(const_cast<char*>(s.c_str()));
  return ParseServeArgs(static_cast<int>(argv.size()), argv.data());
}

Result<std::string> ViaDaemon(const Args& a, const ServeConfig& cfg) {
  if (a.policies_given)
    std::fputs("scrubd purge: the running daemon's policies apply, not --policy\n", stderr);
  json::object body{{"dry_run", a.dry_run}, {"format", a.json || a.quiet ? "json" : "text"}};
  if (!a.now.empty()) body["now"] = a.now;
  Result<DaemonReply> r = CallDaemon(cfg.data_dir, a.token_file, "POST", "/admin/purge",
                                     json::serialize(body), std::chrono::seconds(3600));
  if (!r.ok()) return r.status();
  if (r->status == 400) return Status::InvalidInput(ErrorMessageOf(r->body));
  if (r->status != 200)
    return Status::Unavailable("daemon answered " + std::to_string(r->status) + ": " +
                               ErrorMessageOf(r->body));
  return std::move(r->body);
}

// On the data dir itself, with the policies and keys serve would load.
Result<std::string> Directly(const Args& a, const ServeConfig& cfg, bool* held) {
  Result<std::unique_ptr<LocalStack>> opened = OpenLocal(cfg.data_dir, held);
  if (!opened.ok()) return opened.status();
  LocalStack& st = **opened;
  Result<ServeInputs> inputs = LoadServeInputs(cfg, KeyFiles::kReadOnly);
  if (!inputs.ok()) return inputs.status();
  retention::PurgeOptions o;
  o.now_ms = a.now.empty() ? subjects::NowMs() : *ParseRfc3339Ms(a.now);
  o.dry_run = a.dry_run;
  o.clock_given = !a.now.empty();
  o.request_days = cfg.request_retention_days;
  o.bundle_days = cfg.bundle_retention_days;
  Result<retention::PurgeReport> report =
      retention::PurgeWith(st.stores, st.holds.get(), inputs->policies, o);
  Status closed = st.log->Close();
  if (!report.ok()) return report.status();
  if (!closed.ok()) return closed;
  return a.json || a.quiet ? report->ToJson() : report->ToText();
}

}  // namespace

int Purge(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return kExitUsage;
  Result<ServeConfig> cfg = ConfigOf(a);
  if (!cfg.ok()) {
    std::fprintf(stderr, "scrubd purge: %s\n", cfg.status().ToString().c_str());
    return kExitUsage;
  }
  bool held = false;
  Result<std::string> r = Directly(a, *cfg, &held);
  if (held) r = ViaDaemon(a, *cfg);
  if (!r.ok()) {
    std::fprintf(stderr, "scrubd purge: %s\n", r.status().ToString().c_str());
    return r.status().code() == Code::kInvalidInput ? kExitUsage : kExitFailed;
  }
  if (a.quiet) {  // the totals line only: journald gets no session or token id
    json::error_code ec;
    json::value v = json::parse(*r, ec);
    const json::value* totals =
        !ec && v.is_object() ? v.as_object().if_contains("totals") : nullptr;
    if (!totals) {
      std::fputs("scrubd purge: the report is not JSON\n", stderr);
      return kExitFailed;
    }
    std::printf("purge%s: %s\n", a.dry_run ? " (dry run)" : "", json::serialize(*totals).c_str());
    return 0;
  }
  std::fputs(r->c_str(), stdout);
  if (!r->empty() && r->back() != '\n') std::fputc('\n', stdout);
  return 0;
}

}  // namespace scrubd::cli
