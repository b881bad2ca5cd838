// The scrubd binary as a user runs it: exit codes, --help, policy check output, refusing to
// start on a bad policy, and a serve -> SIGTERM -> audit verify round trip.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/canary.h"
#include "support/cli_run.h"
#include "support/fixtures.h"
#include "support/http_client.h"

namespace {
using scrubd::testing::TempDir;

using scrubd::testing::CliRun;
using scrubd::testing::Scrubd;

TEST(CliTest, HelpAndUsageExitCodes) {
  EXPECT_EQ(Scrubd("--help").exit_code, 0);
  EXPECT_EQ(Scrubd("").exit_code, 2);
  EXPECT_EQ(Scrubd("frobnicate").exit_code, 2);
  for (const char* sub :
       {"serve --help", "policy check --help", "export --help", "audit verify --help"}) {
    CliRun r = Scrubd(sub);
    EXPECT_EQ(r.exit_code, 0) << sub << "\n" << r.out;
    EXPECT_NE(r.out.find("usage"), std::string::npos) << sub;
  }
  EXPECT_EQ(Scrubd("export --data-dir /tmp").exit_code, 2);  // --session missing
}

TEST(CliTest, SubjectCommandsRefuseBadInputClearlyAndCreateNothing) {
  TempDir dir;
  std::string missing = (dir.path() / "typo").string();
  EXPECT_EQ(Scrubd("forget --help").exit_code, 0);
  struct Case {
    std::string args, says;
  } cases[] = {
      {"forget --data-dir " + missing + " --email a@b.example", "not a scrubd data dir"},
      {"forget --data-dir " + missing + " --email a@b.example --distinct-id x", "one identity"},
      {"forget --data-dir " + missing + " --email", "--email needs a value"},
      {"forget --data-dir " + missing, "an identity is required"},
      {"export --data-dir " + missing + " --distinct-id x", "--out FILE.zip is required"},
      {"export --data-dir " + missing + " --distinct-id x --session s --out b.zip", "--session"},
  };
  for (const Case& c : cases) {
    CliRun r = Scrubd(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("a@b.example"), std::string::npos) << "the identity is never echoed";
  }
  EXPECT_FALSE(std::filesystem::exists(missing));  // a typo never becomes a data dir
}

TEST(CliTest, PolicyCheckReportsEachFileWithLocation) {
  TempDir d;
  std::ofstream(d.path() / "bad.yaml") << "version: 1\nmasking:\n  block: ['a + b']\n";
  std::string shipped = std::string(SCRUBD_SOURCE_DIR) + "/policies/";
  CliRun ok = Scrubd("policy check " + shipped + "default.yaml " + shipped + "strict.yaml");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK    " + shipped + "default.yaml"), std::string::npos) << ok.out;
  CliRun bad =
      Scrubd("policy check " + shipped + "default.yaml " + (d.path() / "bad.yaml").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("bad.yaml:3:"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("unsupported selector"), std::string::npos) << bad.out;
  // As one serving set, two policies for every token conflict.
  CliRun set =
      Scrubd("policy check --as-set " + shipped + "default.yaml " + shipped + "strict.yaml");
  EXPECT_EQ(set.exit_code, 1);
  EXPECT_NE(set.out.find("already claimed"), std::string::npos) << set.out;
}

// What serve accepts, policy check accepts: a hash-method policy needs the data dir's key at
// serve time, and only a placeholder here. The OK line shows the retention it sets.
TEST(CliTest, PolicyCheckPassesAHashPolicyAndShowsItsRetention) {
  TempDir d;
  std::ofstream(d.path() / "hash.yaml")
      << "version: 1\nname: hashy\ndetectors:\n  overrides:\n    email: {method: hash}\n"
         "retention:\n  days: 40\n  rules:\n    - {match: {event: $exception}, days: 90}\n";
  CliRun r = Scrubd("policy check " + (d.path() / "hash.yaml").string());
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(
      r.out.find("retention=40d rules=1 consent=opt_out[posthog,tcf,onetrust,cookiebot,gpc])"),
      std::string::npos)
      << r.out;
  std::ofstream(d.path() / "bad.yaml")
      << "version: 1\nretention:\n  rules:\n    - {match: {url: '(x'}, days: 3}\n";
  r = Scrubd("policy check " + (d.path() / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("bad.yaml:4:21: retention.rules[0].match.url: bad RE2"), std::string::npos)
      << r.out;
}

TEST(CliTest, ServeRefusesABadPolicyWithEx_Config) {
  TempDir d;
  std::ofstream(d.path() / "bad.yaml") << "version: 1\ndetectors:\n  disabled: [no_such]\n";
  CliRun r = Scrubd("serve --listen 127.0.0.1:0 --data-dir " + (d.path() / "data").string() +
                    " --policy " + (d.path() / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 78) << r.out;
  EXPECT_NE(r.out.find("bad.yaml:3:"), std::string::npos) << r.out;
}

TEST(CliTest, ServeDrainsOnSigtermAndLeavesAVerifiableAuditLog) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string log = (d.path() / "serve.log").string();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(SCRUBD_BIN, SCRUBD_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  for (int i = 0; i < 100 && out.find("listening on") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = scrubd::testing::ReadFile(log);
  }
  ASSERT_NE(out.find("scrubd listening on http://127.0.0.1:"), std::string::npos) << out;
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
  CliRun v = Scrubd("audit verify --data-dir " + data);
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_NE(v.out.find("OK"), std::string::npos) << v.out;
  // Key and token files are private.
  for (const char* f :
       {"keys/hash.key", "keys/pseudonym.key", "keys/identity.key", "keys/admin.token"}) {
    struct stat s {};
    ASSERT_EQ(stat((d.path() / "data" / f).c_str(), &s), 0) << f;
    EXPECT_EQ(s.st_mode & 0777, 0600u) << f;
  }
}

// Every byte of every file under `dir` (audit segments are binary frames with the entry type
// and payload as text).
std::string AllBytes(const std::filesystem::path& dir) { return scrubd::testing::DirBytes(dir); }

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// `scrubd export` while the daemon runs goes through the daemon (it owns the audit log), and
// is audited; with the daemon stopped the CLI audits it itself. Nothing is exported unaudited.
TEST(CliTest, ExportIsAuditedWhileTheDaemonRunsAndAfter) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string log = (d.path() / "serve.log").string();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    execl(SCRUBD_BIN, SCRUBD_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  for (int i = 0; i < 100 && out.find("listening on") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = scrubd::testing::ReadFile(log);
  }
  size_t at = out.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << out;
  uint16_t port = static_cast<uint16_t>(std::stoi(out.substr(at + 17)));
  auto posted = scrubd::testing::HttpSend(
      port, "POST", "/s/", scrubd::testing::Fixture("0008.body"), {{"Content-Type", "text/plain"}});
  ASSERT_EQ(posted.status, 200u) << posted.body;
  const std::string session = "01a20355-1c58-723a-837c-2bcc756c76c4";
  const std::string entry = std::string("export") + "{\"session\":";
  CliRun live = Scrubd("export --data-dir " + data + " --session " + session);
  EXPECT_EQ(live.exit_code, 0) << live.out;
  EXPECT_EQ(live.out.rfind("[", 0), 0u) << live.out.substr(0, 300);
  EXPECT_EQ(Count(AllBytes(d.path() / "data" / "audit"), entry), 1u);
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
  EXPECT_FALSE(std::filesystem::exists(d.path() / "data" / "run" / "serve.addr"));
  CliRun offline = Scrubd("export --data-dir " + data + " --session " + session);
  EXPECT_EQ(offline.exit_code, 0) << offline.out;
  EXPECT_EQ(offline.out, live.out);
  EXPECT_EQ(Count(AllBytes(d.path() / "data" / "audit"), entry), 2u);
  CliRun v = Scrubd("audit verify --data-dir " + data);
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

}  // namespace

namespace {

// Serves `args` in a child whose output goes to `log`; returns its pid once `ready` shows.
pid_t ServeUntil(const std::vector<std::string>& args, const std::string& log,
                 const std::string& ready) {
  pid_t pid = fork();
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    std::vector<char*> argv{const_cast<char*>(SCRUBD_BIN), const_cast<char*>("serve")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SCRUBD_BIN, argv.data());
    _exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    if (scrubd::testing::ReadFile(log).find(ready) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pid;
}

uint16_t PortAfter(const std::string& out, const std::string& marker) {
  size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  return static_cast<uint16_t>(std::stoi(out.substr(at + marker.size())));
}

}  // namespace

// A tokens file group/other can read, or with a bad line, stops serve with exit 78 naming the
// file (and the line), never the token.
TEST(CliTest, ServeRefusesAReadableOrMalformedAdminTokensFile) {
  TempDir d;
  std::string tokens = (d.path() / "tokens").string();
  std::ofstream(tokens) << "admin CANARY-token-0123456789\n";
  chmod(tokens.c_str(), 0644);
  std::string base = "serve --listen 127.0.0.1:0 --data-dir " + (d.path() / "data").string() +
                     " --admin-tokens-file " + tokens;
  CliRun r = Scrubd(base);
  EXPECT_EQ(r.exit_code, 78) << r.out;
  EXPECT_NE(r.out.find("must be mode 0600, is 0644"), std::string::npos) << r.out;
  std::ofstream(tokens) << "admin CANARY-token-0123456789\nroot CANARY-token-9876543210\n";
  chmod(tokens.c_str(), 0600);
  r = Scrubd(base);
  EXPECT_EQ(r.exit_code, 78) << r.out;
  EXPECT_NE(r.out.find(tokens + ":2: unknown role"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("CANARY"), std::string::npos) << r.out;
}

// With --admin-listen the public port 404s the admin API, serve.addr names the admin port,
// and `scrubd export` reaches the daemon through it.
TEST(CliTest, AdminListenerServesTheAdminApiAndTheCliFindsIt) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string log = (d.path() / "serve.log").string();
  pid_t pid =
      ServeUntil({"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", data},
                 log, "admin listening on");
  ASSERT_GT(pid, 0);
  std::string out = scrubd::testing::ReadFile(log);
  uint16_t pub = PortAfter(out, "scrubd listening on http://127.0.0.1:");
  uint16_t adm = PortAfter(out, "scrubd admin listening on http://127.0.0.1:");
  ASSERT_TRUE(pub && adm && pub != adm) << out;
  auto posted = scrubd::testing::HttpSend(pub, "POST", "/s/", scrubd::testing::Fixture("0008.body"),
                                          {{"Content-Type", "text/plain"}});
  EXPECT_EQ(posted.status, 200u) << posted.body;
  std::string token = scrubd::testing::ReadFile(d.path() / "data" / "keys" / "admin.token");
  token.erase(token.find_last_not_of("\n") + 1);
  boost::json::object auth{{"Authorization", "Bearer " + token}};
  EXPECT_EQ(scrubd::testing::HttpSend(pub, "GET", "/admin/sessions", "", auth).status, 404u);
  EXPECT_EQ(scrubd::testing::HttpSend(pub, "GET", "/metrics", "").status, 404u);
  EXPECT_EQ(scrubd::testing::HttpSend(adm, "GET", "/admin/sessions", "", auth).status, 200u);
  EXPECT_EQ(scrubd::testing::HttpSend(adm, "GET", "/metrics", "").status, 401u);
  EXPECT_EQ(scrubd::testing::HttpSend(adm, "POST", "/s/", "{}").status, 404u);
  EXPECT_EQ(scrubd::testing::ReadFile(d.path() / "data" / "run" / "serve.addr"),
            "127.0.0.1:" + std::to_string(adm) + "\n");
  CliRun live =
      Scrubd("export --data-dir " + data + " --session 01a20355-1c58-723a-837c-2bcc756c76c4");
  EXPECT_EQ(live.exit_code, 0) << live.out;
  EXPECT_EQ(live.out.rfind("[", 0), 0u) << live.out.substr(0, 300);
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
}

namespace {

// A policy that hashes emails: it needs the data dir's hash key, which `policy check` alone
// does not have.
constexpr char kHashPolicy[] =
    "version: 1\nname: hashy\ndetectors:\n  overrides:\n    email: {method: hash}\n";

// A listening socket on 127.0.0.1:PORT, held for the test: serve could not bind it.
struct HeldPort {
  HeldPort() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 1) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port = ntohs(a.sin_port);
  }
  ~HeldPort() { close(fd); }
  int fd = -1;
  uint16_t port = 0;
};

size_t EntriesUnder(const std::filesystem::path& dir) {
  size_t n = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir);
       it != std::filesystem::recursive_directory_iterator(); ++it)
    ++n;
  return n;
}

}  // namespace

// `serve --check` loads what serve loads: a hash-method policy passes (serve accepts it),
// with a one-line summary naming the policy and its digest. It binds nothing (the port it
// was given is taken) and writes nothing: the data dir stays absent, or empty.
TEST(CliTest, ServeCheckPassesAHashPolicyAndBindsAndWritesNothing) {
  TempDir d;
  std::string policy = (d.path() / "hash.yaml").string();
  std::ofstream(policy) << kHashPolicy;
  std::ofstream(d.path() / "scrubd.yaml")
      << "data_dir: " << (d.path() / "data").string() << "\npolicy: [" << policy << "]\n";
  HeldPort held;
  ASSERT_GT(held.port, 0);
  std::string listen = "127.0.0.1:" + std::to_string(held.port);
  std::string config = (d.path() / "scrubd.yaml").string();
  CliRun check = Scrubd("serve --check --config " + config + " --listen " + listen);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out.rfind("scrubd serve --check: OK", 0), 0u) << check.out;
  EXPECT_EQ(std::count(check.out.begin(), check.out.end(), '\n'), 1) << check.out;
  EXPECT_NE(check.out.find("hashy(" + policy + " sha256="), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("data_dir=" + (d.path() / "data").string()), std::string::npos);
  EXPECT_NE(check.out.find("would be created on first start:"), std::string::npos) << check.out;
  EXPECT_FALSE(std::filesystem::exists(d.path() / "data")) << "the check created the data dir";
  std::filesystem::create_directory(d.path() / "data");
  check = Scrubd("serve --check --config " + config + " --listen " + listen);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(EntriesUnder(d.path() / "data"), 0u) << "the check wrote into the data dir";
  // serve with the same options accepts the policy: it gets as far as binding (taken here).
  CliRun serve = Scrubd("serve --config " + config + " --listen " + listen);
  EXPECT_EQ(serve.exit_code, 78) << serve.out;
  EXPECT_EQ(serve.out.find("hash.yaml"), std::string::npos) << serve.out;
  EXPECT_NE(serve.out.find("in use"), std::string::npos) << serve.out;
  // Once serve has created the keys, the check reads them and has nothing left to create.
  check = Scrubd("serve --check --config " + config + " --listen " + listen);
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_EQ(check.out.find("would be created"), std::string::npos) << check.out;
}

// A broken policy or a key file others may read: the check fails as serve fails, with
// serve's exit code and serve's message (file:line:col for the policy).
TEST(CliTest, ServeCheckFailsWithServesError) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string bad = (d.path() / "bad.yaml").string();
  std::ofstream(bad) << "version: 1\ndetectors:\n  overrides:\n    email: {method: hsah}\n";
  std::string args = "--listen 127.0.0.1:0 --data-dir " + data + " --policy " + bad;
  CliRun check = Scrubd("serve --check " + args);
  EXPECT_EQ(check.exit_code, 78) << check.out;
  EXPECT_NE(check.out.find("refusing to start: " + bad + ":4:"), std::string::npos) << check.out;
  CliRun serve = Scrubd("serve " + args);
  EXPECT_EQ(serve.exit_code, 78) << serve.out;
  auto error_of = [](const std::string& out) { return out.substr(out.find("refusing to start")); };
  EXPECT_EQ(error_of(check.out), error_of(serve.out));
  // A key that group or other may read: refused by both, without a change to the file.
  std::string key = data + "/keys/hash.key";
  ASSERT_EQ(chmod(key.c_str(), 0644), 0) << "serve created no hash key";
  std::string hash = (d.path() / "hash.yaml").string();
  std::ofstream(hash) << kHashPolicy;
  args = "--listen 127.0.0.1:0 --data-dir " + data + " --policy " + hash;
  check = Scrubd("serve --check " + args);
  EXPECT_EQ(check.exit_code, 78) << check.out;
  EXPECT_NE(check.out.find(key + ": key file must be mode 0600, is 0644"), std::string::npos)
      << check.out;
  serve = Scrubd("serve " + args);
  EXPECT_EQ(serve.exit_code, 78) << serve.out;
  EXPECT_EQ(error_of(check.out), error_of(serve.out));
  // A config file error is the same usage-and-exit-78 as serve's.
  std::ofstream(d.path() / "typo.yaml") << "data_dir: x\npolicy_files: [a]\n";
  check = Scrubd("serve --check --config " + (d.path() / "typo.yaml").string());
  EXPECT_EQ(check.exit_code, 78) << check.out;
  EXPECT_NE(check.out.find("typo.yaml:2:1: config: unknown key 'policy_files'"), std::string::npos)
      << check.out;
}

// `scrubd purge`: usage errors are exit 2 and named, never echoing the value given.
TEST(CliTest, PurgeRefusesBadInputClearly) {
  TempDir dir;
  std::string data = (dir.path() / "typo").string();
  EXPECT_EQ(Scrubd("purge --help").exit_code, 0);
  struct Case {
    std::string args, says;
  } cases[] = {
      {"purge", "--data-dir or --config is required"},
      {"purge --data-dir " + data + " --now canary-zq", "--now must be an RFC 3339 date-time"},
      {"purge --data-dir " + data + " --frob canary-zq", "unknown option '--frob'"},
      {"purge --data-dir", "--data-dir needs a value"},
      {"purge --data-dir " + data + " --json --quiet", "--json and --quiet exclude each other"},
      {"purge --data-dir " + data, "is not a scrubd data dir"},
  };
  for (const Case& c : cases) {
    CliRun r = Scrubd(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << ": " << r.out;
    EXPECT_EQ(r.out.find("canary-zq"), std::string::npos) << c.args << ": " << r.out;
  }
  EXPECT_FALSE(std::filesystem::exists(data)) << "purge created a data dir";
}

// `scrubd hold`: usage errors are exit 2 and named, never echoing an id or the reason.
TEST(CliTest, HoldCommandsRefuseBadInputClearly) {
  TempDir dir;
  std::string missing = (dir.path() / "typo").string();
  EXPECT_EQ(Scrubd("hold --help").exit_code, 0);
  struct Case {
    std::string args, says;
  } cases[] = {
      {"hold", "a subcommand is required"},
      {"hold frob --data-dir " + missing, "unknown subcommand"},
      {"hold add --distinct-id did.canary.zq --reason r", "--data-dir is required"},
      {"hold add --data-dir " + missing + " --reason r", "give one of --distinct-id or --session"},
      {"hold add --data-dir " + missing + " --distinct-id did.canary.zq --session s --reason r",
       "give one of"},
      {"hold add --data-dir " + missing + " --distinct-id did.canary.zq --token phc_x --reason r",
       "--token goes with --session"},
      {"hold add --data-dir " + missing + " --distinct-id did.canary.zq", "--reason is required"},
      {"hold add --data-dir " + missing + " --distinct-id did.canary.zq --reason", "needs a value"},
      {"hold add --data-dir " + missing + " --all --distinct-id did.canary.zq --reason r",
       "--all goes with hold list"},
      {"hold list --data-dir " + missing + " --reason did.canary.zq", "unknown option '--reason'"},
      {"hold release --data-dir " + missing, "HOLD_ID is required"},
      {"hold release --data-dir " + missing + " hold_0123456789abcdef extra", "unexpected"},
      {"hold add --data-dir " + missing + " --distinct-id did.canary.zq --reason r",
       "not a scrubd data dir"},
  };
  for (const Case& c : cases) {
    CliRun r = Scrubd(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find("did.canary.zq"), std::string::npos) << "an id is never echoed";
  }
  EXPECT_FALSE(std::filesystem::exists(missing));
}

// Through the daemon while it runs, directly once it stopped: add, list, a `forget` the hold
// defers (exit 3, nothing deleted), release (the deferred erasure runs), list --all.
TEST(CliTest, HoldAddListReleaseThroughTheDaemonAndDirectly) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string log = (d.path() / "serve.log").string();
  pid_t pid =
      ServeUntil({"--listen", "127.0.0.1:0", "--data-dir", data}, log, "scrubd listening on");
  ASSERT_GT(pid, 0);
  uint16_t port =
      PortAfter(scrubd::testing::ReadFile(log), "scrubd listening on http://127.0.0.1:");
  ASSERT_GT(port, 0);
  auto posted = scrubd::testing::HttpSend(
      port, "POST", "/s/", scrubd::testing::Fixture("0008.body"), {{"Content-Type", "text/plain"}});
  ASSERT_EQ(posted.status, 200u) << posted.body;
  const std::string session = "01a20355-1c58-723a-837c-2bcc756c76c4";
  const std::string reason = "'reason canary zq: case 2026-11'";
  CliRun add = Scrubd("hold add --data-dir " + data + " --session " + session + " --reason " +
                      reason + " --json");
  ASSERT_EQ(add.exit_code, 0) << add.out;
  size_t at = add.out.find("\"hold_id\":\"");
  ASSERT_NE(at, std::string::npos) << add.out;
  std::string hold = add.out.substr(at + 11, 21);
  // Canaries in every other field `hold add` takes, through the daemon.
  const std::string person = "did.canary.zq@example.org", token = "phc_tokencanaryzq";
  CliRun by_person =
      Scrubd("hold add --data-dir " + data + " --distinct-id " + person + " --reason " + reason);
  EXPECT_EQ(by_person.exit_code, 0) << by_person.out;
  EXPECT_NE(by_person.out.find("active  subject subj_"), std::string::npos) << by_person.out;
  CliRun by_token = Scrubd("hold add --data-dir " + data + " --session " + session + " --token " +
                           token + " --reason " + reason);
  EXPECT_EQ(by_token.exit_code, 0) << by_token.out;
  CliRun bad = Scrubd("hold add --data-dir " + data + " --session " + session + " --token '" +
                      token + " x' --reason " + reason);
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("token must be a project token"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find(token), std::string::npos) << bad.out;
  CliRun live = Scrubd("hold list --data-dir " + data);
  EXPECT_EQ(live.exit_code, 0) << live.out;
  EXPECT_NE(live.out.find(hold + "  active  session " + session), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("reason canary zq"), std::string::npos) << live.out;
  CliRun held_live = Scrubd("forget --data-dir " + data + " --session " + session);
  EXPECT_EQ(held_live.exit_code, 3) << held_live.out;  // deferred by the daemon
  EXPECT_NE(held_live.out.find(hold), std::string::npos) << held_live.out;
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
  EXPECT_EQ(scrubd::testing::ReadFile(log).find("reason canary"), std::string::npos);

  CliRun forget = Scrubd("forget --data-dir " + data + " --session " + session);
  EXPECT_EQ(forget.exit_code, 3) << forget.out;
  EXPECT_NE(forget.out.find("deferred"), std::string::npos) << forget.out;
  EXPECT_NE(forget.out.find(hold), std::string::npos) << forget.out;
  EXPECT_EQ(Scrubd("export --data-dir " + data + " --session " + session).exit_code, 0);
  EXPECT_EQ(Scrubd("hold release --data-dir " + data + " hold_0123456789abcdef").exit_code, 1);
  EXPECT_EQ(Scrubd("hold release --data-dir " + data + " not-a-hold").exit_code, 2);
  CliRun rel = Scrubd("hold release --data-dir " + data + " " + hold);
  EXPECT_EQ(rel.exit_code, 0) << rel.out;
  EXPECT_NE(rel.out.find(hold + "  released"), std::string::npos) << rel.out;
  // Both deferred requests (the daemon's, kept across its stop, and the direct one) ran.
  EXPECT_EQ(Count(AllBytes(d.path() / "data" / "audit"), "erasure_completed"), 2u);
  EXPECT_NE(Scrubd("export --data-dir " + data + " --session " + session).exit_code, 0);
  CliRun again = Scrubd("hold release --data-dir " + data + " " + hold);
  EXPECT_EQ(again.exit_code, 2) << again.out;
  EXPECT_NE(again.out.find("already released"), std::string::npos) << again.out;
  CliRun left = Scrubd("hold list --data-dir " + data);  // the two canary holds
  EXPECT_EQ(left.out.find(hold), std::string::npos) << left.out;
  EXPECT_NE(left.out.find(token), std::string::npos) << left.out;
  CliRun all = Scrubd("hold list --data-dir " + data + " --all --json");
  EXPECT_EQ(all.exit_code, 0) << all.out;
  EXPECT_NE(all.out.find("\"status\":\"released\""), std::string::npos) << all.out;
  std::string audit = AllBytes(d.path() / "data" / "audit");
  for (const char* entry : {"hold_added", "erasure_deferred", "hold_released", "erasure_completed"})
    EXPECT_NE(audit.find(entry), std::string::npos) << entry;
  for (const std::string& c : {std::string("reason canary"), person, token}) {
    EXPECT_EQ(audit.find(c), std::string::npos) << c;
    EXPECT_EQ(scrubd::testing::ReadFile(log).find(c), std::string::npos) << c;
  }
  scrubd::testing::ExpectAbsentEverywhere(d.path() / "data", person);
  CliRun v = Scrubd("audit verify --data-dir " + data);
  EXPECT_EQ(v.exit_code, 0) << v.out;
}

// scrubd consent decode-tcf: 0 valid, 1 invalid or undecodable (never echoing the string), 2 usage.
TEST(CliTest, ConsentDecodeTcfExitCodesAndOutput) {
  const std::string ok = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA";  // iabtcf-java vector
  CliRun t = Scrubd("consent decode-tcf " + ok);
  EXPECT_EQ(t.exit_code, 0) << t.out;
  EXPECT_NE(t.out.find("cmp_id / version / screen 675 / 2 / 1"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("\nvalid\n"), std::string::npos) << t.out;
  CliRun j = Scrubd("consent decode-tcf " + ok + " --json");
  EXPECT_EQ(j.exit_code, 0) << j.out;
  boost::json::object o = boost::json::parse(j.out).as_object();
  EXPECT_EQ(o.at("cmp_id").as_int64(), 675);
  EXPECT_EQ(o.at("consent_language").as_string(), "EN");
  EXPECT_TRUE(o.at("valid").as_bool());
  // Created 2023-11-14 with policy version 2: decodes, invalid.
  CliRun inv = Scrubd("consent decode-tcf CP1R2oAP1R2oAEsAHDDECWCgAIAAAAAAAAqIAAAAAAAA");
  EXPECT_EQ(inv.exit_code, 1) << inv.out;
  EXPECT_NE(inv.out.find("invalid: policy_version 2 < 4"), std::string::npos) << inv.out;
  const std::string bad = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAA*";
  CliRun b = Scrubd("consent decode-tcf '" + bad + "'");
  EXPECT_EQ(b.exit_code, 1) << b.out;
  EXPECT_NE(b.out.find("does not decode"), std::string::npos) << b.out;
  EXPECT_EQ(b.out.find("COtybn4PA"), std::string::npos) << b.out;
  CliRun cut = Scrubd("consent decode-tcf COtybn4PA_zT4KjACBEN --json");
  EXPECT_EQ(cut.exit_code, 1) << cut.out;
  EXPECT_EQ(cut.out.find("COtybn4PA"), std::string::npos) << cut.out;
  EXPECT_EQ(Scrubd("consent decode-tcf").exit_code, 2);
  EXPECT_EQ(Scrubd("consent decode-tcf " + ok + " --frob").exit_code, 2);
  EXPECT_EQ(Scrubd("consent decode-tcf " + ok + " " + ok).exit_code, 2);
}

// `scrubd consent show` beside a serving daemon: an opt_in policy, a /s/ batch sent with
// Sec-GPC: 1 and a canary cookie; the ledger shows the denial by session and by distinct id,
// holds the cookie only as a hash, and bad arguments are refused without echoing them.
TEST(CliTest, ConsentShowListsTheLedgerBySessionAndDistinctId) {
  TempDir d;
  std::string data = (d.path() / "data").string();
  std::string log = (d.path() / "serve.log").string();
  std::string policy = (d.path() / "p.yaml").string();
  {
    std::ofstream(policy) << "version: 1\nname: optin\nconsent: {mode: opt_in, wait_seconds: 2}\n";
  }
  pid_t pid = ServeUntil({"--listen", "127.0.0.1:0", "--data-dir", data, "--policy", policy,
                          "--path-prefix", "/ingest"},
                         log, "scrubd listening on");
  ASSERT_GT(pid, 0);
  uint16_t port =
      PortAfter(scrubd::testing::ReadFile(log), "scrubd listening on http://127.0.0.1:");
  ASSERT_GT(port, 0);
  const std::string canary = "cookiecanaryqx81";
  auto posted = scrubd::testing::HttpSend(
      port, "POST", "/ingest/s/", scrubd::testing::Fixture("0008.body"),
      {{"Content-Type", "text/plain"}, {"Sec-GPC", "1"}, {"Cookie", "euconsent-v2=" + canary}});
  ASSERT_EQ(posted.status, 200u) << posted.body;
  const std::string session = "01a20355-1c58-723a-837c-2bcc756c76c4";
  CliRun by_session = Scrubd("consent show --data-dir " + data + " --session " + session);
  EXPECT_EQ(by_session.exit_code, 0) << by_session.out;
  EXPECT_NE(by_session.out.find("1 consent ledger entry"), std::string::npos) << by_session.out;
  EXPECT_NE(by_session.out.find("denied via gpc (header)"), std::string::npos) << by_session.out;
  CliRun by_id = Scrubd("consent show --data-dir " + data +
                        " --distinct-id 01a20355-1c26-7bcc-9c69-edbf0328ba49 --json");
  EXPECT_EQ(by_id.exit_code, 0) << by_id.out;
  EXPECT_NE(by_id.out.find("\"signal\":\"gpc\""), std::string::npos) << by_id.out;
  EXPECT_EQ(by_id.out.find("01a20355-1c26-7bcc"), std::string::npos) << by_id.out;  // pseudonym
  CliRun other = Scrubd("consent show --data-dir " + data + " --distinct-id someone-else --json");
  EXPECT_EQ(other.exit_code, 0);
  EXPECT_NE(other.out.find("{\"entries\":[]}"), std::string::npos) << other.out;
  CliRun bad = Scrubd("consent show --data-dir " + data + " --session 'x " + canary + "'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.out.find(canary), std::string::npos) << bad.out;
  EXPECT_EQ(Scrubd("consent show --data-dir " + data).exit_code, 2);
  EXPECT_EQ(Scrubd("consent show --session " + session).exit_code, 2);
  EXPECT_EQ(
      Scrubd("consent show --data-dir " + (d.path() / "none").string() + " --session " + session)
          .exit_code,
      1);
  EXPECT_EQ(scrubd::testing::HttpSend(port, "POST", "/s/", scrubd::testing::Fixture("0008.body"),
                                      {{"Content-Type", "text/plain"}})
                .status,
            404u);  // with a prefix, posthog routes answer under it only
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
  EXPECT_EQ(AllBytes(d.path()).find(canary), std::string::npos);
}

// serve's consent flags refuse bad values with a named error (exit 2), never echoing them.
TEST(CliTest, ServeRefusesABadPathPrefixOrQuarantineSize) {
  for (const char* bad : {"ingest", "/ingest/", "/admin", "/metrics/x", "/a//b", "/in gest"}) {
    CliRun r = Scrubd(std::string("serve --check --path-prefix '") + bad + "'");
    EXPECT_EQ(r.exit_code, 2) << bad << r.out;
    EXPECT_NE(r.out.find("--path-prefix must look like /ingest"), std::string::npos) << r.out;
  }
  CliRun q = Scrubd("serve --check --consent-quarantine-bytes lots");
  EXPECT_EQ(q.exit_code, 2) << q.out;
  EXPECT_NE(q.out.find("--consent-quarantine-bytes"), std::string::npos) << q.out;
}
