// forget / subject export: argument parsing, the daemon path and the direct path.
#include "cli/subjects_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/daemon_client.h"
#include "cli/local_stack.h"
#include "subjects/access.h"
#include "subjects/api.h"
#include "subjects/service.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kExitFailed = 1, kExitUsage = 2, kExitDeferred = 3;

constexpr const char* kForgetUsage =
    "usage: scrubd forget --data-dir DIR (--distinct-id ID | --email ADDR | --session ID)\n"
    "                     [--reason TEXT] [--json] [--admin-token-file FILE]\n"
    "Erases everything scrubd holds of the person (every linked id, session, event, spool\n"
    "record, dead letter and DOM state), tombstones them, and prints the signed receipt.\n";
constexpr const char* kExportUsage =
    "usage: scrubd export --data-dir DIR (--distinct-id ID | --email ADDR) --out FILE.zip\n"
    "                     [--admin-token-file FILE]\n";

struct Args {
  fs::path data_dir, out, token_file;
  subjects::Identity identity;
  std::string reason;
  bool json = false;
};

// Parses the shared flags; returns false (after saying why) on a bad command line.
bool ParseArgs(int argc, char** argv, bool forget, Args* a) {
  const char* cmd = forget ? "forget" : "export";
  const char* usage = forget ? kForgetUsage : kExportUsage;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "scrubd %s: %s\n%s", cmd, why.c_str(), usage);
    return false;
  };
  for (int i = 0; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    bool takes_value = f != "--json";
    if (takes_value && (i + 1 >= argc || argv[i + 1][0] == '\0')) return fail(f + " needs a value");
    std::string v = takes_value ? argv[++i] : "";
    const char* type = f == "--distinct-id"           ? "distinct_id"
                       : f == "--email"               ? "email"
                       : (f == "--session" && forget) ? "session"
                                                      : nullptr;
    if (type) {
      if (!a->identity.value.empty())
        return fail("give one identity: --distinct-id, --email" +
                    std::string(forget ? " or --session" : ""));
      a->identity = {type, v, "raw"};
    } else if (f == "--data-dir") {
      a->data_dir = v;
    } else if (f == "--reason" && forget) {
      a->reason = v;
    } else if (f == "--json" && forget) {
      a->json = true;
    } else if (f == "--out" && !forget) {
      a->out = v;
    } else if (f == "--admin-token-file") {
      a->token_file = v;
    } else {
      return fail("unknown option '" + f + "'" +
                  (f == "--session" ? " (--session exports one session: without --distinct-id "
                                      "or --email)"
                                    : ""));
    }
  }
  if (a->data_dir.empty()) return fail("--data-dir is required");
  if (a->identity.value.empty()) return fail("an identity is required");
  if (!forget && a->out.empty()) return fail("--out FILE.zip is required");
  return true;
}

// Submits through the daemon and polls until the request leaves pending / in_progress.
Result<json::object> ViaDaemon(const Args& a, const std::string& type) {
  json::object body{{"type", type},
                    {"reason", a.reason},
                    {"identities", json::array{json::object{{"type", a.identity.type},
                                                            {"value", a.identity.value},
                                                            {"format", "raw"}}}}};
  Result<DaemonReply> r = CallDaemon(a.data_dir, a.token_file, "POST", "/admin/subjects/requests",
                                     json::serialize(body));
  if (!r.ok()) return r.status();
  if (r->status != 201)
    return Status::Unavailable("daemon answered " + std::to_string(r->status) + ": " +
                               ErrorMessageOf(r->body));
  for (int i = 0; i < 1200; ++i) {
    json::error_code ec;
    json::value v = json::parse(r->body, ec);
    const json::value* st = !ec && v.is_object() ? v.as_object().if_contains("status") : nullptr;
    const json::value* idv = st ? v.as_object().if_contains("request_id") : nullptr;
    if (!st || !st->is_string() || !idv || !idv->is_string())
      return Status::Corruption("the daemon's reply is not a request record");
    if (st->as_string() == "completed" || st->as_string() == "cancelled" ||
        st->as_string() == "deferred")
      return v.as_object();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::string id(idv->as_string());
    r = CallDaemon(a.data_dir, a.token_file, "GET", "/admin/subjects/requests/" + id, "");
    if (!r.ok()) return r.status();
    if (r->status != 200) return Status::Unavailable(ErrorMessageOf(r->body));
  }
  return Status::Unavailable("the request is still in progress (see GET /v1/requests/<id>)");
}

struct Outcome {
  json::object record;
  std::string bundle;  // access: the zip bytes
};

// On the data dir itself, under the audit log's lock. `*held`: the daemon holds that lock.
Result<Outcome> Directly(const Args& a, const std::string& type, bool* held) {
  Result<std::unique_ptr<LocalStack>> st = OpenLocal(a.data_dir, held);
  if (!st.ok()) return st.status();
  subjects::Service service((*st)->stores, {});  // runs inline
  subjects::NewRequest req;
  req.type = type;
  req.identities = {a.identity};
  req.reason = a.reason;
  Result<subjects::RequestRecord> r = service.Submit(std::move(req));
  if (!r.ok()) return r.status();
  Outcome out;
  if (type != "erasure") {  // handed out, then not kept in the data dir
    Result<std::string> zip = service.ReadResults(r->id);
    if (!zip.ok()) return zip.status();
    out.bundle = std::move(zip).value();
    if (Status rm = Env::Default()->RemoveFile(subjects::BundlePath((*st)->stores, r->id));
        !rm.ok())
      return rm;
  }
  Result<std::optional<subjects::RequestRecord>> done = service.Get(r->id);
  if (!done.ok()) return done.status();
  if (Status s = (*st)->log->Close(); !s.ok()) return s;
  out.record = json::parse(subjects::RecordJson(**done)).as_object();
  return out;
}

// The bundle of a completed access request, from the daemon that ran it.
Result<std::string> BundleViaDaemon(const Args& a, const json::object& record) {
  const json::value* id = record.if_contains("request_id");
  if (!id || !id->is_string()) return Status::Corruption("the daemon's reply has no request id");
  Result<DaemonReply> d =
      CallDaemon(a.data_dir, a.token_file, "GET",
                 "/admin/subjects/requests/" + std::string(id->as_string()) + "/bundle", "");
  if (!d.ok()) return d.status();
  if (d->status != 200) return Status::Unavailable(ErrorMessageOf(d->body));
  return std::move(d->body);
}

// Through the daemon when it holds the data dir (the audit log's lock), else directly.
Result<Outcome> Run(const Args& a, const std::string& type) {
  bool held = false;
  Result<Outcome> direct = Directly(a, type, &held);
  if (!held) return direct;
  Result<json::object> record = ViaDaemon(a, type);
  if (!record.ok()) return record.status();
  Outcome out{std::move(record).value(), {}};
  if (type != "erasure") {
    Result<std::string> zip = BundleViaDaemon(a, out.record);
    if (!zip.ok()) return zip.status();
    out.bundle = std::move(zip).value();
  }
  return out;
}

// A deferred erasure: which holds keep the data; it runs when they are released.
int PrintDeferred(const json::object& record, bool as_json) {
  if (as_json) {
    std::printf("%s\n", json::serialize(record).c_str());
    return kExitDeferred;
  }
  const json::value* progress = record.if_contains("progress");
  const json::value* holds =
      progress && progress->is_object() ? progress->as_object().if_contains("holds") : nullptr;
  std::printf("erasure %s deferred: legal hold(s) %s cover the subject\n",
              json::serialize(record.at("request_id")).c_str(),
              holds ? json::serialize(*holds).c_str() : "[]");
  std::fputs(
      "scrubd forget: nothing was deleted; later data is tombstoned. The erasure runs when the "
      "holds are released (scrubd hold release).\n",
      stderr);
  return kExitDeferred;
}

int PrintReceipt(const json::object& record, bool as_json) {
  if (const json::value* st = record.if_contains("status"); st && *st == "deferred")
    return PrintDeferred(record, as_json);
  const json::value* receipt = record.if_contains("receipt");
  if (!receipt || !receipt->is_object()) {
    std::fprintf(stderr, "scrubd forget: request %s ended %s without a receipt\n",
                 json::serialize(record.at("request_id")).c_str(),
                 json::serialize(record.at("status")).c_str());
    return kExitFailed;
  }
  const json::object& req = receipt->as_object().at("request").as_object();
  bool clean = req.at("scan").as_object().at("clean").as_bool();
  if (const json::value* f = req.if_contains("subject_found"); f && f->is_bool() && !f->as_bool())
    std::fputs(
        "scrubd forget: no data of this identity was found (nothing to erase; later data "
        "is tombstoned)\n",
        stderr);
  if (as_json) {
    std::printf("%s\n", json::serialize(*receipt).c_str());
  } else {
    std::printf(
        "erasure %s completed\nsubject: %s\ncounts: %s\nscan: %s\nupstream: %s\n"
        "audit seq: %s\n",
        json::serialize(req.at("request_id")).c_str(), json::serialize(req.at("subject")).c_str(),
        json::serialize(req.at("counts")).c_str(), json::serialize(req.at("scan")).c_str(),
        json::serialize(req.at("upstream")).c_str(),
        json::serialize(receipt->as_object().at("audit").as_object().at("seq")).c_str());
  }
  return clean ? 0 : kExitFailed;
}

}  // namespace

int Forget(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, true, &a)) return kExitUsage;
  Result<Outcome> r = Run(a, "erasure");
  if (!r.ok()) {
    std::fprintf(stderr, "scrubd forget: %s\n", r.status().ToString().c_str());
    return r.status().code() == Code::kInvalidInput ? kExitUsage : kExitFailed;
  }
  return PrintReceipt(r->record, a.json);
}

bool IsSubjectExport(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (!std::strcmp(argv[i], "--distinct-id") || !std::strcmp(argv[i], "--email")) return true;
  return false;
}

int ExportSubject(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, false, &a)) return kExitUsage;
  Result<Outcome> r = Run(a, "access");
  if (!r.ok()) {
    std::fprintf(stderr, "scrubd export: %s\n", r.status().ToString().c_str());
    return r.status().code() == Code::kInvalidInput ? kExitUsage : kExitFailed;
  }
  if (Status s = sink::WriteFileDurably(a.out, r->bundle, 0600); !s.ok()) {
    std::fprintf(stderr, "scrubd export: %s\n", s.ToString().c_str());
    return kExitFailed;
  }
  const json::value* res = r->record.if_contains("results");
  std::fprintf(stderr, "scrubd export: wrote %s (%s)\n", a.out.c_str(),
               res ? json::serialize(*res).c_str() : "{}");
  return 0;
}

}  // namespace scrubd::cli
