// The daemon works under systemd/scrubd.service's seccomp filter: the real `scrubd serve`
// (and its ExecStartPre, `serve --check`) runs under `strace -f`, takes the real fixtures over
// HTTP (stored and forwarded to a fake capture upstream), admin calls, a reload, a `forget` and
// an `export` through it, then SIGTERM. Every system call it made must be allowed by the unit's
// SystemCallFilter= (groups expanded by `systemd-analyze syscall-filter`) and every socket
// family by RestrictAddressFamilies=. Skipped, with the reason, when strace cannot trace here
// (ptrace denied) or systemd-analyze is absent.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/fixtures.h"
#include "support/http_client.h"

// Under ASan/UBSan the sanitizer runtime makes calls of its own (it is not what the unit
// runs), so the filter is checked in the Release tree only.
#if defined(__SANITIZE_ADDRESS__)
#define SCRUBD_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRUBD_UNDER_SANITIZER 1
#endif
#endif

namespace {

namespace json = boost::json;
using scrubd::testing::ReadFile;
using scrubd::testing::TempDir;

// Runs a shell command; its stdout (stderr too with `merge`), and the exit code in *rc.
std::string Shell(const std::string& cmd, int* rc = nullptr) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while (p && (n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = p ? pclose(p) : -1;
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Every syscall in `name` (a syscall or an @group, nested groups expanded).
void Expand(const std::string& name, std::set<std::string>* out, int depth = 0) {
  if (name[0] != '@') {
    out->insert(name);
    return;
  }
  ASSERT_LT(depth, 8) << "group nesting too deep at " << name;
  std::istringstream in(Shell("systemd-analyze syscall-filter " + name));
  std::string line;
  std::getline(in, line);  // the group's own name
  while (std::getline(in, line)) {
    std::vector<std::string> w = Words(line);
    if (w.empty() || w[0][0] == '#') continue;
    Expand(w[0], out, depth + 1);
  }
}

// The unit's filter as systemd applies it: the first line is an allow list, later plain
// lines add to it, `~` lines take away.
struct Filter {
  std::set<std::string> allowed, denied;
  std::set<std::string> families;  // RestrictAddressFamilies=
};

Filter FilterOfUnit(const std::string& unit) {
  Filter f;
  std::istringstream in(ReadFile(unit));
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("RestrictAddressFamilies=", 0) == 0)
      for (const std::string& w : Words(line.substr(24))) f.families.insert(w);
    if (line.rfind("SystemCallFilter=", 0) != 0) continue;
    std::string v = line.substr(17);
    bool deny = !v.empty() && v[0] == '~';
    EXPECT_FALSE(first && deny) << "the first SystemCallFilter= must be an allow list";
    first = false;
    std::set<std::string> calls;
    for (const std::string& w : Words(deny ? v.substr(1) : v)) Expand(w, &calls);
    for (const std::string& c : calls) {
      if (deny) {
        f.allowed.erase(c);
        f.denied.insert(c);
      } else {
        f.allowed.insert(c);
        f.denied.erase(c);
      }
    }
  }
  return f;
}

// What one strace -f -C run recorded: syscall names (the summary table) and socket families.
struct Trace {
  std::set<std::string> calls, families;
  std::set<std::string> unix_paths;  // AF_UNIX connect() targets
};

Trace ParseTrace(const std::string& file) {
  Trace t;
  std::istringstream in(ReadFile(file));
  static const std::regex kSocket(R"(socket\((AF_[A-Z0-9]+))");
  static const std::regex kUnixConnect(
      R"re(connect\(\d+, \{sa_family=AF_UNIX, sun_path="([^"]*)")re");
  bool table = false;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!table && std::regex_search(line, m, kSocket)) t.families.insert(m[1]);
    if (!table && std::regex_search(line, m, kUnixConnect)) t.unix_paths.insert(m[1]);
    if (line.find("% time") != std::string::npos && line.find("syscall") != std::string::npos) {
      table = true;
      continue;
    }
    std::vector<std::string> w = Words(line);
    if (!table || w.empty() || w[0][0] == '-' || w.back() == "total") continue;
    t.calls.insert(w.back());
  }
  return t;
}

// A capture endpoint for --upstream: answers every request 200 {"status": 1}, one thread per
// connection. Stops when the daemon has closed its connections.
class FakeCapture {
 public:
  FakeCapture() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeCapture() {
    stop_ = true;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_.join();
    for (std::thread& t : conns_) t.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_.load(); }

 private:
  void AcceptLoop() {
    while (!stop_) {
      boost::system::error_code ec;
      auto sock = std::make_shared<boost::asio::ip::tcp::socket>(ioc_);
      acceptor_.accept(*sock, ec);
      if (ec) return;
      conns_.emplace_back([this, sock] { Serve(sock.get()); });
    }
  }
  void Serve(boost::asio::ip::tcp::socket* s) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(*s, buf, req, ec);
      if (ec) return;
      ++requests_;
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = R"({"status": 1})";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*s, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread accept_;
  std::vector<std::thread> conns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
};

// The unit runs scrubd as an unprivileged user, and some libraries take other paths as root
// (SQLite fchown()s new journal files to the database's owner only when euid is 0). A root
// test therefore traces scrubd as nobody, in a directory nobody owns.
constexpr uid_t kNobody = 65534;

void DropRootInChild() {
  if (geteuid() != 0) return;
  if (setgroups(0, nullptr) != 0 || setresgid(kNobody, kNobody, kNobody) != 0 ||
      setresuid(kNobody, kNobody, kNobody) != 0)
    _exit(126);
}

// `strace -f -qq -C -o trace scrubd ARGS...` (`trace` empty: scrubd alone) in a child with
// output to `log` and a soft RLIMIT_NOFILE below the hard one (so that serve raises it).
pid_t StartTraced(const std::string& trace, const std::string& log,
                  const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  freopen(log.c_str(), "w", stdout);
  freopen(log.c_str(), "a", stderr);
  DropRootInChild();
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max > 1024) rl.rlim_cur = 1024;
  setrlimit(RLIMIT_NOFILE, &rl);
  std::vector<std::string> all{"strace", "-f", "-qq", "-C", "-o", trace};
  if (trace.empty()) all.clear();
  all.push_back(SCRUBD_BIN);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  _exit(127);
}

// The traced scrubd: strace's child.
pid_t ChildOf(pid_t parent) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(e.path() / "stat");
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> w = Words(stat.substr(close + 1));  // state ppid ...
    if (w.size() > 1 && std::stol(w[1]) == parent) return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

// Why strace cannot trace scrubd here (ptrace denied, no strace), or "" when it can.
std::string StraceUnavailable(const std::filesystem::path& dir) {
  std::string log = (dir / "probe.log").string();
  pid_t pid = StartTraced((dir / "probe.trace").string(), log, {"version"});
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
  return "strace cannot trace scrubd in this environment: " + ReadFile(log).substr(0, 300);
}

uint16_t PortAfter(const std::string& out, const std::string& marker) {
  size_t at = out.find(marker);
  return at == std::string::npos ? 0
                                 : static_cast<uint16_t>(std::stoi(out.substr(at + marker.size())));
}

// Replays every captured request of both fixture sets with its method, path and headers.
int ReplayFixtures(uint16_t port) {
  int ok = 0;
  for (const char* set : {"posthog-js-1.449.2", "posthog-js-1.449.2-crm"}) {
    std::vector<std::filesystem::path> metas;
    for (const auto& e : std::filesystem::directory_iterator(scrubd::testing::FixtureDir(set)))
      if (e.path().string().ends_with(".meta.json")) metas.push_back(e.path());
    std::sort(metas.begin(), metas.end());
    for (const auto& m : metas) {
      json::object meta = json::parse(ReadFile(m)).as_object();
      std::string base = m.string().substr(0, m.string().size() - 10);
      auto r = scrubd::testing::HttpSend(port, std::string(meta["method"].as_string()),
                                         std::string(meta["path"].as_string()),
                                         ReadFile(base + ".body"), meta["headers"].as_object());
      EXPECT_EQ(r.status, 200u) << m << ": " << r.body;
      ok += r.status == 200;
    }
  }
  return ok;
}

void ExpectAllowed(const Filter& f, const Trace& t, const std::string& what) {
  ASSERT_GT(t.calls.size(), 20u) << what << ": the trace holds no syscall summary";
  std::string seen;
  for (const std::string& c : t.calls) {
    seen += c + " ";
    EXPECT_TRUE(f.allowed.count(c)) << what << " made '" << c << "', which the unit's "
                                    << "SystemCallFilter= does not allow"
                                    << (f.denied.count(c) ? " (it is in an excluded group)" : "");
  }
  for (const std::string& fam : t.families) {
    // glibc's getaddrinfo() first asks nscd over AF_UNIX; when socket() fails (as it does
    // under RestrictAddressFamilies=) it resolves itself. That probe is the one AF_UNIX use
    // tolerated; any other AF_UNIX peer, or any other family, fails.
    bool nscd_probe_only = fam == "AF_UNIX" && !t.unix_paths.empty();
    for (const std::string& p : t.unix_paths)
      nscd_probe_only &= p == "/var/run/nscd/socket" || p == "/run/nscd/socket";
    EXPECT_TRUE(f.families.count(fam) || nscd_probe_only)
        << what << " opened an " << fam << " socket, not in RestrictAddressFamilies=";
  }
  std::printf("%s: %zu syscalls: %s\n", what.c_str(), t.calls.size(), seen.c_str());
}

const std::string kSession = "01a20355-1c58-723a-837c-2bcc756c76c4";

// An erasure of `session` through the admin API (what `scrubd forget` sends), to completion.
bool Erase(uint16_t admin_port, const json::object& auth, const std::string& session) {
  json::object body{
      {"type", "erasure"},
      {"identities", json::array{json::object{{"type", "session"}, {"value", session}}}},
      {"reason", "syscall filter test"}};
  json::object headers = auth;
  headers["Content-Type"] = "application/json";
  auto r = scrubd::testing::HttpSend(admin_port, "POST", "/admin/subjects/requests",
                                     json::serialize(body), headers);
  if (r.status != 201) {
    ADD_FAILURE() << "erasure request: " << r.status << " " << r.body;
    return false;
  }
  std::string id(json::parse(r.body).as_object().at("request_id").as_string());
  for (int i = 0; i < 100; ++i) {
    auto s =
        scrubd::testing::HttpSend(admin_port, "GET", "/admin/subjects/requests/" + id, "", auth);
    if (s.body.find("\"completed\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "the erasure did not complete";
  return false;
}

}  // namespace

// Skips (with the reason) where the trace cannot be taken; owns the temp dir, nobody's when
// the test runs as root.
class SyscallFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef SCRUBD_UNDER_SANITIZER
    GTEST_SKIP() << "sanitizer build: its runtime's own syscalls are not the unit's; run in "
                    "Release";
#endif
    if (geteuid() == 0) {
      ASSERT_EQ(chown(d_.path().c_str(), kNobody, kNobody), 0);
    }
    if (std::string why = StraceUnavailable(d_.path()); !why.empty()) GTEST_SKIP() << why;
    int rc = 0;
    Shell("systemd-analyze --version", &rc);
    if (rc != 0) GTEST_SKIP() << "systemd-analyze not found (Debian package systemd)";
  }

  // The filter of systemd/UNIT, with a sanity check of the group expansion.
  Filter UnitFilter(const std::string& unit) {
    Filter f = FilterOfUnit(std::string(SCRUBD_SOURCE_DIR) + "/systemd/" + unit);
    EXPECT_GT(f.allowed.size(), 100u);
    EXPECT_TRUE(f.denied.count("setuid") && !f.allowed.count("ptrace"))
        << unit << ": the expansion of the groups is not what systemd-analyze says";
    return f;
  }

  // Runs scrubd ARGS (traced to `name`.trace unless `name` is empty) to its end; the exit code.
  int RunToEnd(const std::string& name, const std::vector<std::string>& args) {
    std::string log = Path(name + ".log");
    pid_t pid = StartTraced(name.empty() ? "" : Path(name + ".trace"), log, args);
    int st = 0;
    waitpid(pid, &st, 0);
    last_log_ = ReadFile(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  struct Served {
    pid_t waited = 0, scrubd = 0;  // strace (or scrubd untraced), and scrubd
    uint16_t pub = 0, adm = 0;
    std::string log;
  };
  // Starts `serve` with a public and an admin listener on 127.0.0.1:0.
  Served Serve(const std::string& name, std::vector<std::string> extra) {
    Served s;
    s.log = Path(name + ".log");
    std::vector<std::string> args{"serve",       "--listen",   "127.0.0.1:0", "--admin-listen",
                                  "127.0.0.1:0", "--data-dir", Data()};
    args.insert(args.end(), extra.begin(), extra.end());
    s.waited = StartTraced(name.empty() ? "" : Path(name + ".trace"), s.log, args);
    std::string out;
    for (int i = 0; i < 300 && out.find("admin listening on") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      out = ReadFile(s.log);
    }
    s.pub = PortAfter(out, "scrubd listening on http://127.0.0.1:");
    s.adm = PortAfter(out, "scrubd admin listening on http://127.0.0.1:");
    s.scrubd = name.empty() ? s.waited : ChildOf(s.waited);
    return s;
  }
  // SIGTERM, then the exit code.
  int Stop(const Served& s) {
    kill(s.scrubd, SIGTERM);
    int st = 0;
    waitpid(s.waited, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  json::object AdminAuth() {
    std::string token = ReadFile(std::filesystem::path(Data()) / "keys" / "admin.token");
    token.erase(token.find_last_not_of("\n") + 1);
    return json::object{{"Authorization", "Bearer " + token}};
  }

  std::string Path(const std::string& file) const { return (d_.path() / file).string(); }
  std::string Data() const { return Path("data"); }

  TempDir d_;
  std::string last_log_;
};

// ExecStartPre then ExecStart, on a fresh data dir (a first start), with the store and an
// upstream at `localhost` (the resolver, spool and forwarder run), admin calls, both reloads,
// an erasure, then SIGTERM.
TEST_F(SyscallFilterTest, ServeUnderStraceStaysInsideTheUnitsFilter) {
  Filter filter = UnitFilter("scrubd.service");
  FakeCapture capture;
  std::vector<std::string> upstream{
      "--upstream", "http://localhost:" + std::to_string(capture.port()), "--upstream-and-store"};
  std::vector<std::string> check{"serve",          "--check",     "--listen",   "127.0.0.1:0",
                                 "--admin-listen", "127.0.0.1:0", "--data-dir", Data()};
  check.insert(check.end(), upstream.begin(), upstream.end());
  ASSERT_EQ(RunToEnd("check", check), 0) << last_log_;

  Served s = Serve("serve", upstream);
  ASSERT_TRUE(s.pub && s.adm && s.scrubd > 0) << ReadFile(s.log);
  EXPECT_EQ(ReplayFixtures(s.pub), 15);
  json::object auth = AdminAuth();
  using scrubd::testing::HttpSend;
  EXPECT_EQ(HttpSend(s.adm, "GET", "/admin/sessions", "", auth).status, 200u);
  EXPECT_EQ(HttpSend(s.adm, "GET", "/admin/sessions/" + kSession + "/export", "", auth).status,
            200u);
  EXPECT_EQ(HttpSend(s.adm, "GET", "/metrics", "", auth).status, 200u);
  EXPECT_EQ(HttpSend(s.adm, "POST", "/admin/reload", "", auth).status, 200u);
  kill(s.scrubd, SIGHUP);                     // the same reload from the signal
  EXPECT_TRUE(Erase(s.adm, auth, kSession));  // deletes files, fsyncs directories, audits
  for (int i = 0; i < 100 && capture.requests() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(capture.requests(), 0) << "the forwarder never reached the upstream";
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the subjects ticker runs too
  ASSERT_EQ(Stop(s), 0) << ReadFile(s.log);

  Trace serve = ParseTrace(Path("serve.trace"));
  EXPECT_TRUE(serve.calls.count("connect") && serve.calls.count("flock"))
      << "the trace misses calls serve must have made";
  ExpectAllowed(filter, ParseTrace(Path("check.trace")), "serve --check");
  ExpectAllowed(filter, serve, "serve");
}

// scrubd-purge.service's command, through the running daemon and on the data dir alone, stays
// inside that unit's filter. Skipped until this build has `scrubd purge`.
TEST_F(SyscallFilterTest, PurgeUnderStraceStaysInsideThePurgeUnitsFilter) {
  if (RunToEnd("", {"purge", "--help"}) != 0)
    GTEST_SKIP() << "this scrubd has no 'purge' command yet: " << last_log_.substr(0, 200);
  Filter filter = UnitFilter("scrubd-purge.service");
  Served s = Serve("", {});
  ASSERT_TRUE(s.pub && s.adm) << ReadFile(s.log);
  EXPECT_EQ(ReplayFixtures(s.pub), 15);
  const std::vector<std::string> purge{"purge", "--data-dir",           Data(),
                                       "--now", "2100-01-01T00:00:00Z", "--json"};
  std::vector<std::string> dry = purge;
  dry.push_back("--dry-run");
  EXPECT_EQ(RunToEnd("purge-via-daemon", dry), 0) << last_log_;
  ASSERT_EQ(Stop(s), 0) << ReadFile(s.log);
  EXPECT_EQ(RunToEnd("purge-alone", purge), 0) << last_log_;
  ExpectAllowed(filter, ParseTrace(Path("purge-via-daemon.trace")), "purge (through the daemon)");
  ExpectAllowed(filter, ParseTrace(Path("purge-alone.trace")), "purge (on the data dir)");
}
