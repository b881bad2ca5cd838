// `scrubd capture` as a user runs it: bad arguments named (exit 2, values never echoed, nothing
// created), real requests written raw as private NNNN.body + NNNN.meta.json pairs and answered
// as serve's default answers them, and each way it stops: --duration, SIGTERM, --max-bytes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_run.h"
#include "support/fixtures.h"
#include "support/http_client.h"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::testing::ReadFile;
using scrubd::testing::TempDir;

using scrubd::testing::CliRun;
using scrubd::testing::Scrubd;

unsigned ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

// A running `scrubd capture`, its output in a log file.
class Capture {
 public:
  // Each run logs to its own file, opened O_APPEND by both streams so neither overwrites.
  Capture(const fs::path& tmp, std::vector<std::string> args)
      : log_((tmp / ("cap" + std::to_string(++runs_) + ".log")).string()) {
    args.insert(args.begin(), {SCRUBD_BIN, "capture", "--listen", "127.0.0.1:0"});
    std::ofstream(log_, std::ios::trunc).flush();
    pid_ = fork();
    if (pid_ == 0) {
      freopen(log_.c_str(), "a", stdout);
      freopen(log_.c_str(), "a", stderr);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(SCRUBD_BIN, argv.data());
      _exit(127);
    }
    for (int i = 0; i < 100 && Log().find("listening on") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    size_t at = Log().find("http://127.0.0.1:");
    if (at != std::string::npos) port_ = static_cast<uint16_t>(std::stoi(Log().substr(at + 17)));
  }
  ~Capture() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }
  std::string Log() const { return ReadFile(log_); }
  // Waits up to `limit` for the process to exit; its exit code, or -1 if it did not.
  int WaitExit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void Signal(int sig) { kill(pid_, sig); }

 private:
  static inline int runs_ = 0;
  std::string log_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  bool exited_ = false;
};

TEST(CaptureCliTest, BadArgumentsAreNamedNeverEchoedAndCreateNothing) {
  TempDir d;
  const std::string canary = "jane.capcanary@example.org";
  std::string out = (d.path() / "out").string();
  fs::create_directories(d.path() / "busy");
  std::ofstream(d.path() / "busy" / "x") << "x";
  struct Case {
    std::string args, says;
  } cases[] = {
      {"", "--listen HOST:PORT is required"},
      {"--listen 127.0.0.1:0", "--out DIR is required"},
      {"--listen " + canary + " --out " + out, "--listen must be HOST:PORT"},
      {"--listen " + canary + ":80 --out " + out, "--listen must be HOST:PORT"},
      {"--listen 127.0.0.1:0 --out " + out + " --max-bytes " + canary,
       "--max-bytes needs a positive"},
      {"--listen 127.0.0.1:99999 --out " + out, "--listen must be HOST:PORT"},
      {"--listen 127.0.0.1:0 --out " + out + " --duration " + canary, "--duration must be"},
      {"--listen 127.0.0.1:0 --out " + out + " --duration 0", "--duration must be"},
      {"--listen 127.0.0.1:0 --out " + out + " --duration 25h", "--duration must be"},
      {"--listen 127.0.0.1:0 --out " + out + " --duration 5d", "--duration must be"},
      {"--listen 127.0.0.1:0 --out " + out + " --max-bytes -1", "--max-bytes needs a positive"},
      {"--listen 127.0.0.1:0 --out " + out + " --max-body-bytes " + canary,
       "--max-body-bytes needs a positive"},
      {"--listen 127.0.0.1:0 --out " + out + " --upstream https://eu.i.posthog.com",
       "unknown option '--upstream'"},
      {"--listen 127.0.0.1:0 --out " + out + " " + canary, "unexpected argument"},
      {"--listen 127.0.0.1:0 --out", "--out needs a value"},
      {"--listen 127.0.0.1:0 --out " + (d.path() / "busy").string(), "not empty"},
  };
  for (const Case& c : cases) {
    CliRun r = Scrubd("capture " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_EQ(r.out.find(canary), std::string::npos) << "value echoed: " << c.args;
  }
  EXPECT_FALSE(fs::exists(out));  // a refused command writes nothing
  CliRun help = Scrubd("capture --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: scrubd capture"), std::string::npos);
  EXPECT_NE(Scrubd("--help").out.find("capture"), std::string::npos);
}

// Real requests (a fixture /s/ body with the fixture's headers, an event, remote config) with
// a canary in the query, a header, the cookie and the body: all written raw, 0600 in a 0700
// dir, answered 200; the canary is in the files and never in the output. Stops on its own.
TEST(CaptureCliTest, WritesRawPrivatePairsAndStopsAfterTheDuration) {
  TempDir d;
  fs::path out = d.path() / "cap";
  auto started = std::chrono::steady_clock::now();
  Capture cap(d.path(), {"--out", out.string(), "--duration", "3s"});
  ASSERT_NE(cap.port(), 0) << cap.Log();
  const std::string canary = "canary.capture.91c4@example.org";
  json::object headers =
      json::parse(scrubd::testing::Fixture("0008.meta.json")).as_object()["headers"].as_object();
  headers["Cookie"] = "ph_session=" + canary;
  headers["X-Canary"] = canary;
  std::string s_body = scrubd::testing::Fixture("0008.body");
  auto s = scrubd::testing::HttpSend(cap.port(), "POST", "/s/?compression=gzip-js&c=" + canary,
                                     s_body, headers);
  EXPECT_EQ(s.status, 200u) << s.body;
  std::string e_body = R"({"event":"checkout","properties":{"email":")" + canary + "\"}}";
  auto e = scrubd::testing::HttpSend(cap.port(), "POST", "/e/", e_body);
  EXPECT_EQ(e.status, 200u);
  EXPECT_EQ(e.body, R"({"status":1})");
  auto c = scrubd::testing::HttpSend(cap.port(), "GET", "/array/phc_cap/config.js", "");
  EXPECT_EQ(c.status, 200u);
  EXPECT_NE(c.body.find("sessionRecording"), std::string::npos);
  EXPECT_EQ(scrubd::testing::HttpSend(cap.port(), "GET", "/favicon.ico", "").status, 404u);

  EXPECT_EQ(cap.WaitExit(std::chrono::seconds(8)), 0) << cap.Log();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GE(took, 2.9);
  std::string log = cap.Log();
  EXPECT_NE(log.find("WARNING"), std::string::npos) << log;
  EXPECT_NE(log.find("personal data"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped (--duration reached): 3 requests"), std::string::npos) << log;
  EXPECT_EQ(log.find(canary), std::string::npos) << log;

  EXPECT_EQ(ModeOf(out), 0700u);
  std::vector<std::string> names;
  for (const auto& ent : fs::directory_iterator(out)) {
    names.push_back(ent.path().filename().string());
    EXPECT_EQ(ModeOf(ent.path()), 0600u) << ent.path();
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"0000.body", "0000.meta.json", "0001.body",
                                             "0001.meta.json", "0002.body", "0002.meta.json"}));
  EXPECT_EQ(ReadFile(out / "0000.body"), s_body);
  EXPECT_EQ(ReadFile(out / "0001.body"), e_body);
  json::object m = json::parse(ReadFile(out / "0000.meta.json")).as_object();
  EXPECT_EQ(m["method"].as_string(), "POST");
  EXPECT_EQ(m["path"].as_string(), "/s/?compression=gzip-js&c=" + canary);
  EXPECT_EQ(m["len"].as_int64(), static_cast<int64_t>(s_body.size()));
  json::object& h = m["headers"].as_object();
  EXPECT_EQ(h["Cookie"].as_string(), "ph_session=" + canary);
  EXPECT_EQ(h["X-Canary"].as_string(), canary);  // names as sent, not lower-cased
  EXPECT_EQ(h["User-Agent"].as_string(), headers["User-Agent"].as_string());
  EXPECT_EQ(json::parse(ReadFile(out / "0002.meta.json")).at("method").as_string(), "GET");
}

TEST(CaptureCliTest, StopsOnSigtermAndRefusesWhatPassesTheBounds) {
  TempDir d;
  std::string body = scrubd::testing::Fixture("0008.body");  // 3992 bytes
  {
    Capture cap(d.path(), {"--out", (d.path() / "sig").string(), "--max-body-bytes", "1000"});
    ASSERT_NE(cap.port(), 0) << cap.Log();
    EXPECT_EQ(scrubd::testing::HttpSend(cap.port(), "POST", "/s/", body).status, 413u);
    EXPECT_EQ(scrubd::testing::HttpSend(cap.port(), "POST", "/e/", "{}").status, 200u);
    cap.Signal(SIGTERM);
    EXPECT_EQ(cap.WaitExit(std::chrono::seconds(8)), 0) << cap.Log();
    EXPECT_NE(cap.Log().find("stopped (signal): 1 requests"), std::string::npos) << cap.Log();
    EXPECT_EQ(ReadFile(d.path() / "sig" / "0000.body"), "{}");  // the 413 was not written
    EXPECT_FALSE(fs::exists(d.path() / "sig" / "0001.body"));
  }
  {
    Capture cap(d.path(), {"--out", (d.path() / "full").string(), "--max-bytes", "3000"});
    ASSERT_NE(cap.port(), 0) << cap.Log();
    auto r = scrubd::testing::HttpSend(cap.port(), "POST", "/s/", body);
    EXPECT_EQ(r.status, 503u);
    EXPECT_NE(r.body.find("capture_full"), std::string::npos) << r.body;
    EXPECT_EQ(cap.WaitExit(std::chrono::seconds(8)), 0) << cap.Log();
    EXPECT_NE(cap.Log().find("stopped (--max-bytes reached): 0 requests"), std::string::npos)
        << cap.Log();
    EXPECT_TRUE(fs::is_empty(d.path() / "full"));
  }
}

}  // namespace
