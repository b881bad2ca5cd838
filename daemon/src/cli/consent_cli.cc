// `scrubd consent`: the dispatcher and `consent show` (a subject's or a session's ledger
// entries). Reads the ledger read-only, so it runs beside a serving daemon. The raw distinct
// id is only turned into its per-project pseudonyms; it is never printed or stored.
#include "cli/consent_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/consent_wiring.h"
#include "consent/ledger.h"
#include "ingest/decode.h"
#include "scrub/identity.h"
#include "server/keys.h"

namespace scrubd::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const char* kConsentUsage = R"(usage: scrubd consent <command> [options]

commands:
  decode-tcf STRING [--json]   decode an IAB TCF v2 TC string (euconsent-v2) and check it
  show --data-dir DIR (--distinct-id ID | --session ID) [--json]
                               the consent ledger entries of a subject or a session
)";

struct ShowArgs {
  std::string data_dir, distinct_id, session;
  bool json = false;
};

int Usage(const char* why) {
  std::fprintf(stderr, "scrubd consent show: %s\n%s", why, kConsentUsage);
  return 2;
}

int ParseShow(int argc, char** argv, ShowArgs* a) {
  for (int i = 0; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--json") {
      a->json = true;
      continue;
    }
    if (f != "--data-dir" && f != "--distinct-id" && f != "--session")
      return Usage("unknown option (see usage)");
    if (i + 1 >= argc) return Usage("an option needs a value");
    std::string v = argv[++i];
    (f == "--data-dir" ? a->data_dir : f == "--distinct-id" ? a->distinct_id : a->session) = v;
  }
  if (a->data_dir.empty()) return Usage("--data-dir is required");
  if (a->distinct_id.empty() == a->session.empty())
    return Usage("give exactly one of --distinct-id and --session");
  if (!a->session.empty() && !ingest::ValidSessionId(a->session))
    return Usage("--session is not a valid session id");
  return 0;
}

std::string Line(const json::object& e) {
  auto s = [&](const char* k) {
    const json::value* v = e.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string("-");
  };
  std::string purposes;
  for (const json::value& p : e.at("purposes").as_array())
    purposes += (purposes.empty() ? "" : ",") + std::string(p.as_string());
  std::string line = "#" + std::to_string(e.at("seq").as_int64()) + " " + s("time") + " " +
                     s("state") + " via " + s("signal") + " (" + s("source") +
                     ") session=" + s("session") + " subject=" + s("subject") +
                     " purposes=" + (purposes.empty() ? "-" : purposes) +
                     " vendors=" + std::to_string(e.at("vendors").as_array().size());
  if (!s("value_sha256").empty() && s("value_sha256") != "-")
    line += " sha256=" + s("value_sha256").substr(0, 16);
  const json::object& pol = e.at("policy").as_object();
  line += " policy=" + std::string(pol.at("name").as_string()) + "@" +
          std::string(pol.at("sha256").as_string()).substr(0, 12);
  if (e.at("erasure_request").is_string())
    line += " erasure_request=" + std::string(e.at("erasure_request").as_string());
  return line;
}

int Show(int argc, char** argv) {
  ShowArgs a;
  if (int rc = ParseShow(argc, argv, &a); rc != 0) return rc;
  const fs::path data = a.data_dir;
  auto ledger = consent::Ledger::Open(consent::LedgerPath(data), /*read_only=*/true);
  if (!ledger.ok()) {
    std::fprintf(stderr, "scrubd consent show: %s\n", ledger.status().message().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::string>> subjects;
  std::vector<std::string> sessions;
  if (!a.session.empty()) {
    sessions.push_back(a.session);
  } else {
    auto key = server::ReadKeyIfPresent(data / "keys" / "identity.key");
    auto tokens = (*ledger)->Tokens();
    if (!key.ok() || !*key || !tokens.ok()) {
      std::fprintf(stderr, "scrubd consent show: the data dir's identity key cannot be read\n");
      return 1;
    }
    for (const std::string& t : *tokens)
      subjects.push_back({t, scrub::IdentifierPseudonym(**key, t, a.distinct_id)});
  }
  Result<std::string> out = ConsentHistoryJson(ledger->get(), subjects, sessions);
  if (!out.ok()) {
    std::fprintf(stderr, "scrubd consent show: %s\n", out.status().message().c_str());
    return 1;
  }
  if (a.json) {
    std::printf("%s\n", out->c_str());
    return 0;
  }
  json::array entries = json::parse(*out).as_object().at("entries").as_array();
  std::printf("%zu consent ledger entr%s\n", entries.size(), entries.size() == 1 ? "y" : "ies");
  for (const json::value& e : entries) std::printf("%s\n", Line(e.as_object()).c_str());
  return 0;
}

}  // namespace

int Consent(int argc, char** argv) {
  if (argc >= 1 && !std::strcmp(argv[0], "decode-tcf")) return DecodeTcf(argc - 1, argv + 1);
  if (argc >= 1 && !std::strcmp(argv[0], "show")) return Show(argc - 1, argv + 1);
  bool help = argc >= 1 && (!std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h"));
  std::fputs(kConsentUsage, help ? stdout : stderr);
  return help ? 0 : 2;
}

}  // namespace scrubd::cli
