// hold add / list / release: argument parsing, the daemon path and the direct path.
#include "cli/hold_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "cli/daemon_client.h"
#include "cli/local_stack.h"
#include "retention/holds_api.h"
#include "subjects/service.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int kExitFailed = 1, kExitUsage = 2;

constexpr const char* kUsage =
    "usage: scrubd hold add --data-dir DIR (--distinct-id ID | --session ID [--token T])\n"
    "                       --reason TEXT [--json] [--admin-token-file FILE]\n"
    "       scrubd hold list --data-dir DIR [--all] [--json] [--admin-token-file FILE]\n"
    "       scrubd hold release --data-dir DIR HOLD_ID [--json] [--admin-token-file FILE]\n"
    "A held session survives purge and erasure; an erasure it covers is deferred until the\n"
    "hold is released. The reason is stored with the hold and never logged.\n";

struct Args {
  std::string sub;  // add | list | release
  fs::path data_dir, token_file;
  retention::HoldRequest req;
  std::string hold_id;
  bool all = false, json = false;
};

bool Fail(const std::string& why) {
  std::fprintf(stderr, "scrubd hold: %s\n%s", why.c_str(), kUsage);
  return false;
}

// One flag (and its value) at argv[*i]; false after saying why.
bool ParseFlag(int argc, char** argv, int* i, Args* a) {
  std::string f = argv[*i];
  if (f == "--json" || f == "--all") {
    if (f == "--all" && a->sub != "list") return Fail("--all goes with hold list");
    (f == "--json" ? a->json : a->all) = true;
    return true;
  }
  if (!f.starts_with("--")) {
    if (a->sub != "release" || !a->hold_id.empty()) return Fail("unexpected argument");
    a->hold_id = f;
    return true;
  }
  if (*i + 1 >= argc || argv[*i + 1][0] == '\0') return Fail(f + " needs a value");
  std::string v = argv[++*i];
  std::string* target = nullptr;
  if (a->sub == "add") {
    target = f == "--distinct-id" ? &a->req.distinct_id
             : f == "--session"   ? &a->req.session_id
             : f == "--token"     ? &a->req.token
             : f == "--reason"    ? &a->req.reason
                                  : nullptr;
  }
  if (f == "--data-dir") {
    a->data_dir = v;
  } else if (f == "--admin-token-file") {
    a->token_file = v;
  } else if (!target) {
    return Fail("unknown option '" + f + "' for hold " + a->sub);
  } else if (!target->empty()) {
    return Fail(f + " is given twice");
  } else {
    *target = v;
  }
  return true;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  if (argc < 1) return Fail("a subcommand is required: add, list or release");
  a->sub = argv[0];
  if (a->sub == "--help" || a->sub == "-h") {
    std::fputs(kUsage, stdout);
    std::exit(0);
  }
  if (a->sub != "add" && a->sub != "list" && a->sub != "release")
    return Fail("unknown subcommand '" + a->sub + "' (add, list or release)");
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (!ParseFlag(argc, argv, &i, a)) return false;
  }
  if (a->data_dir.empty()) return Fail("--data-dir is required");
  if (a->sub == "release" && a->hold_id.empty()) return Fail("HOLD_ID is required");
  if (a->sub != "add") return true;
  if (a->req.distinct_id.empty() == a->req.session_id.empty())
    return Fail("give one of --distinct-id or --session");
  if (!a->req.token.empty() && a->req.session_id.empty())
    return Fail("--token goes with --session");
  if (a->req.reason.empty()) return Fail("--reason is required");
  return true;
}

// A non-2xx reply of /admin/holds as the Status the direct path would have returned.
Status StatusOfReply(const DaemonReply& r) {
  std::string msg = ErrorMessageOf(r.body);
  if (r.status == 400) return Status::InvalidInput(msg);
  if (r.status == 404) return Status::NotFound(msg);
  return Status::Unavailable("daemon answered " + std::to_string(r.status) + ": " + msg);
}

Result<std::string> ViaDaemon(const Args& a) {
  std::string method = "POST", target = "/admin/holds", body;
  if (a.sub == "list") {
    method = "GET";
    target += a.all ? "?all=1" : "";
  } else if (a.sub == "release") {
    target += "/" + a.hold_id + "/release";
  } else {
    json::object o{{"reason", a.req.reason}};
    if (!a.req.distinct_id.empty()) o["distinct_id"] = a.req.distinct_id;
    if (!a.req.session_id.empty()) o["session"] = a.req.session_id;
    if (!a.req.token.empty()) o["token"] = a.req.token;
    body = json::serialize(o);
  }
  Result<DaemonReply> r = CallDaemon(a.data_dir, a.token_file, method, target, body);
  if (!r.ok()) return r.status();
  if (r->status != 200 && r->status != 201) return StatusOfReply(*r);
  return std::move(r->body);
}

// On the data dir itself. A release re-runs the deferred erasures here, inline.
Result<std::string> Directly(const Args& a, bool* held) {
  Result<std::unique_ptr<LocalStack>> opened = OpenLocal(a.data_dir, held);
  if (!opened.ok()) return opened.status();
  LocalStack& st = **opened;
  subjects::Service service(st.stores, {});  // runs inline
  retention::HoldsContext ctx{st.holds.get(), &st.stores, [&service] { service.ResumeDeferred(); }};
  Result<std::string> out = Status::Internal("no subcommand");
  if (a.sub == "list") {
    Result<std::vector<retention::Hold>> list = st.holds->List(a.all);
    out = list.ok() ? Result<std::string>(retention::HoldsJson(*list, st.stores)) : list.status();
  } else {
    Result<retention::Hold> h = a.sub == "add" ? retention::PlaceHold(ctx, a.req, "cli")
                                               : retention::ReleaseHold(ctx, a.hold_id, "cli");
    out = h.ok() ? Result<std::string>(retention::HoldJson(*h, st.stores)) : h.status();
  }
  if (Status s = st.log->Close(); !s.ok() && out.ok()) return s;
  return out;
}

std::string Str(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// One line per hold: id, status, kind, what it holds, since when, the reason.
void PrintHold(const json::object& h) {
  std::string what = Str(h, "kind") == "session"
                         ? "session " + Str(h, "session_id") +
                               (Str(h, "token").empty() ? "" : " token " + Str(h, "token"))
                         : "subject " + Str(h, "subject");
  std::string released = Str(h, "released_time");
  std::printf("%s  %s  %s  since %s%s  reason: %s\n", Str(h, "hold_id").c_str(),
              Str(h, "status").c_str(), what.c_str(), Str(h, "created_time").c_str(),
              released.empty() ? "" : (" released " + released).c_str(), Str(h, "reason").c_str());
}

int Print(const Args& a, const std::string& body) {
  if (a.json) {
    std::printf("%s\n", body.c_str());
    return 0;
  }
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    std::fputs("scrubd hold: the reply is not JSON\n", stderr);
    return kExitFailed;
  }
  const json::value* list = v.as_object().if_contains("holds");
  if (!list) {
    PrintHold(v.as_object());
    return 0;
  }
  if (!list->is_array() || list->as_array().empty()) std::puts("no holds");
  if (list->is_array())
    for (const json::value& h : list->as_array())
      if (h.is_object()) PrintHold(h.as_object());
  return 0;
}

}  // namespace

int Hold(int argc, char** argv) {
  Args a;
  if (!ParseArgs(argc, argv, &a)) return kExitUsage;
  bool held = false;
  Result<std::string> r = Directly(a, &held);
  if (held) r = ViaDaemon(a);
  if (!r.ok()) {
    std::fprintf(stderr, "scrubd hold %s: %s\n", a.sub.c_str(), r.status().ToString().c_str());
    return r.status().code() == Code::kInvalidInput ? kExitUsage : kExitFailed;
  }
  return Print(a, *r);
}

}  // namespace scrubd::cli
