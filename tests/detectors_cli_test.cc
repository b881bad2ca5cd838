// Custom detectors (`detectors.custom`, docs/detectors.md) through the scrubd binary: `policy
// check` runs their examples (exit 1 at the example's file:line:col on a miss), serve refuses
// such a policy, and a served policy redacts and counts them by id. A canary rides in every
// field a custom detector accepts; none reaches the output, the data dir or the audit log.
#include <gtest/gtest.h>
#include <signal.h>
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

#include "support/canary.h"
#include "support/cli_run.h"
#include "support/fixtures.h"
#include "support/http_client.h"

namespace {
using scrubd::testing::TempDir;

using scrubd::testing::CliRun;
using scrubd::testing::Scrubd;

// Each field that may hold text carries its own canary; none may be echoed.
const std::vector<std::string>& Canaries() {
  static const std::vector<std::string> kCanaries = {
      "cnydesc7", "cnyword7", "cnykey7", "cnylabel7", "cnyex7", "cnyexkey7", "cnyneg7"};
  return kCanaries;
}

// `miss`: one more must_match example (with a canary) that the detector cannot redact.
std::string Policy(bool miss) {
  std::string p = R"(version: 1
name: acme
detectors:
  custom:
    - id: member_no
      description: ACME member numbers cnydesc7
      patterns: ['M-[0-9]{8}', {re: '(?i)mitglied ([0-9]{8})', context_required: false}]
      validator: luhn
      context: [member, cnyword7]
      suppress_keys: [cnykey7]
      method: replace
      label: '[MEMBER cnylabel7]'
      must_match:
        - {text: 'member M-12345674', key: note}
        - {text: 'Mitglied 49302177', key: ''}
)";
  if (miss) p += "        - {text: 'member cnyex7 M-1234', key: cnyexkey7}\n";
  p += "      must_not_match: ['M-12345674', 'member M-12345675 cnyneg7']\n";
  return p;
}

void ExpectNoCanary(const std::string& out) {
  for (const std::string& c : Canaries())
    if (c != "cnylabel7") {
      EXPECT_EQ(out.find(c), std::string::npos) << c << " in:\n" << out;
    }
}

TEST(DetectorsCliTest, PolicyCheckRunsTheExamples) {
  TempDir d;
  const std::string good = (d.path() / "good.yaml").string();
  const std::string bad = (d.path() / "bad.yaml").string();
  std::ofstream(good) << Policy(false);
  std::ofstream(bad) << Policy(true);
  CliRun ok = Scrubd("policy check " + good);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("OK    " + good + " (name=acme"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("detectors=21"), std::string::npos) << ok.out;  // 20 catalog + 1
  ExpectNoCanary(ok.out);
  EXPECT_EQ(ok.out.find("cnylabel7"), std::string::npos) << ok.out;
  CliRun miss = Scrubd("policy check " + good + " " + bad);
  EXPECT_EQ(miss.exit_code, 1) << miss.out;
  EXPECT_NE(miss.out.find("ERROR " + bad +
                          ":16:11: detectors.custom.member_no.must_match[2] is not redacted by "
                          "'member_no' (fired: nothing)"),
            std::string::npos)
      << miss.out;
  ExpectNoCanary(miss.out);
  // An entry with only an id: named missing key, at the entry.
  std::ofstream(bad) << "version: 1\ndetectors:\n  custom:\n    - id: email\n";
  CliRun taken = Scrubd("policy check " + bad);
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.out.find("bad.yaml:4:7: detectors.custom: missing required key 'description'"),
            std::string::npos)
      << taken.out;
}

// A canary in each field whose bad value is an error (validator, method, a pattern RE2 refuses,
// one the scanner's wrapping would break) is named by its place, never echoed.
TEST(DetectorsCliTest, PolicyCheckNeverEchoesABadField) {
  TempDir d;
  const std::string f = (d.path() / "q.yaml").string();
  const std::string entry =
      "version: 1\nname: q\ndetectors:\n  custom:\n    - id: q_no\n      description: d\n";
  for (const std::string& field :
       {std::string("      patterns: ['Q-[0-9]{4}']\n      validator: cnyval7\n"),
        std::string("      patterns: ['Q-[0-9]{4}']\n      method: cnymeth7\n"),
        std::string("      patterns: ['(cnypat7']\n"),
        std::string("      patterns: ['Q-[0-9]{4}cnypat7)']\n"),
        std::string("      patterns: ['\\QQ-cnypat7']\n")}) {
    std::ofstream(f) << entry << field << "      must_match: ['Q-1234']\n";
    CliRun r = Scrubd("policy check " + f);
    EXPECT_EQ(r.exit_code, 1) << field << r.out;
    EXPECT_NE(r.out.find("q.yaml:"), std::string::npos) << r.out;
    for (const char* c : {"cnyval7", "cnymeth7", "cnypat7"})
      EXPECT_EQ(r.out.find(c), std::string::npos) << c << " in:\n" << r.out;
  }
}

TEST(DetectorsCliTest, ServeRefusesAPolicyWhoseExampleMisses) {
  TempDir d;
  std::ofstream(d.path() / "bad.yaml") << Policy(true);
  CliRun r = Scrubd("serve --listen 127.0.0.1:0 --data-dir " + (d.path() / "data").string() +
                    " --policy " + (d.path() / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 78) << r.out;
  EXPECT_NE(r.out.find("bad.yaml:16:11:"), std::string::npos) << r.out;
  ExpectNoCanary(r.out);
}

// Serve with the policy, post an analytics event holding member numbers: they are stored as
// the label, the batch's audit entry counts them under "member_no", and no number, and no
// canary but the label, reaches any file or the log.
TEST(DetectorsCliTest, ServedPolicyRedactsAndCountsById) {
  TempDir d;
  const std::string data = (d.path() / "data").string();
  const std::string log = (d.path() / "serve.log").string();
  std::ofstream(d.path() / "p.yaml") << Policy(false);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    freopen(log.c_str(), "a", stderr);
    const std::string policy = (d.path() / "p.yaml").string();
    execl(SCRUBD_BIN, SCRUBD_BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data.c_str(),
          "--policy", policy.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  for (int i = 0; i < 100 && out.find("listening on") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = scrubd::testing::ReadFile(log);
  }
  const size_t at = out.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << out;
  const uint16_t port = static_cast<uint16_t>(std::stoi(out.substr(at + 17)));
  namespace json = boost::json;
  json::object props{{"token", "phc_testkey123"},
                     {"distinct_id", "d-1"},
                     {"$session_id", "01a20355-1c58-723a-837c-2bcc756c76c4"},
                     {"note", "member M-12345674 called, Mitglied 49302177"},
                     {"member_ref", "M-77771236"}};
  json::object ev{{"uuid", "01a20355-1c3b-7e32-8005-5c936b66d610"},
                  {"event", "support_call"},
                  {"timestamp", "2026-12-01T10:00:00Z"},
                  {"properties", props}};
  const std::string body =
      json::serialize(json::object{{"api_key", "phc_testkey123"}, {"batch", json::array{ev}}});
  auto posted =
      scrubd::testing::HttpSend(port, "POST", "/e/", body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(posted.status, 200u) << posted.body;
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << scrubd::testing::ReadFile(log);
  const std::string all =  // the data dir and the log, not the policy file
      scrubd::testing::DirBytes(data) + scrubd::testing::ReadFile(log);
  EXPECT_NE(all.find("[MEMBER cnylabel7]"), std::string::npos) << "the event was stored";
  EXPECT_NE(all.find("\"member_no\":3"), std::string::npos) << "counted by id in the audit entry";
  for (const char* number : {"12345674", "49302177", "77771236"})
    EXPECT_EQ(all.find(number), std::string::npos) << number;
  for (const std::string& c : Canaries())
    if (c != "cnylabel7") {
      EXPECT_EQ(all.find(c), std::string::npos) << c;
    }
}

}  // namespace
