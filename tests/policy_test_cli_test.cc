// `scrubd policy test` as a user runs it: a passing and a failing test file over the checkout
// recording in the repo (tests/data/checkout), --json, and bad test files and arguments named
// with file:line:col and exit codes, never echoing a value being looked for.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "support/cli_run.h"
#include "support/fixtures.h"

namespace {
namespace fs = std::filesystem;
using scrubd::testing::TempDir;

using scrubd::testing::CliRun;
using scrubd::testing::Scrubd;

const fs::path kCheckout = fs::path(SCRUBD_SOURCE_DIR) / "tests" / "data" / "checkout";
const fs::path kDefault = fs::path(SCRUBD_SOURCE_DIR) / "policies" / "default.yaml";

// A test file in `dir` over the checkout recording with `policy` and the given case body.
fs::path TestFile(const TempDir& dir, const std::string& policy, const std::string& body) {
  fs::path f = dir.path() / "p.test.yaml";
  std::ofstream(f) << "policy: " << policy
                   << "\ncases:\n  - name: checkout\n    input: " << kCheckout.string() << "\n"
                   << body;
  return f;
}

std::string Cmd(const fs::path& f) { return "policy test " + f.string(); }

const char kChecks[] =
    "    hidden: [jane.doe@example.com, Secret medical note]\n"
    "    visible: [Pay]\n"
    "    selectors_blocked: [\"[data-ph-no-capture]\"]\n"
    "    selectors_masked: [input#name]\n";

TEST(PolicyTestCliTest, TheShippedPolicyPassesAndALoosenedOneFails) {
  TempDir d;
  CliRun pass = Scrubd("policy test " + TestFile(d, kDefault.string(), kChecks).string());
  EXPECT_EQ(pass.exit_code, 0) << pass.out;
  EXPECT_NE(pass.out.find("PASS checkout: 1/1 recordings stored"), std::string::npos) << pass.out;
  EXPECT_NE(pass.out.find("1 of 1 cases passed"), std::string::npos);
  // The default policy without its block list.
  std::ifstream in(kDefault);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = text.find("    - \"[data-ph-no-capture]\"\n");
  ASSERT_NE(at, std::string::npos);
  text.erase(at, std::string("    - \"[data-ph-no-capture]\"\n").size());
  std::ofstream(d.path() / "loose.yaml") << text;
  CliRun fail = Scrubd("policy test " + TestFile(d, "loose.yaml", kChecks).string());
  EXPECT_EQ(fail.exit_code, 1) << fail.out;
  EXPECT_NE(fail.out.find("FAIL checkout"), std::string::npos) << fail.out;
  EXPECT_NE(fail.out.find("hidden[1] " + (d.path() / "p.test.yaml").string() + ":5:"),
            std::string::npos)
      << fail.out;
  EXPECT_NE(fail.out.find("selectors_blocked[0]"), std::string::npos);
  EXPECT_NE(fail.out.find("0 of 1 cases passed"), std::string::npos);
  EXPECT_EQ(fail.out.find("Secret medical"), std::string::npos) << "a value was echoed";
}

TEST(PolicyTestCliTest, JsonReportCarriesCountsAndFailures) {
  TempDir d;
  CliRun r = Scrubd("policy test --json " + TestFile(d, kDefault.string(), kChecks).string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  boost::json::object o = boost::json::parse(r.out).as_object();
  EXPECT_TRUE(o.at("ok").as_bool());
  const boost::json::object& c =
      o.at("files").as_array()[0].as_object().at("cases").as_array()[0].as_object();
  EXPECT_EQ(c.at("name").as_string(), "checkout");
  EXPECT_GT(c.at("redactions_by_rule").as_object().at("email").as_int64(), 0);
  EXPECT_TRUE(c.at("failures").as_array().empty());
}

TEST(PolicyTestCliTest, BadFilesAndArgumentsAreNamed) {
  TempDir d;
  const std::string canary = "zq.canary@example.com";
  EXPECT_EQ(Scrubd("policy test").exit_code, 2);
  EXPECT_EQ(Scrubd("policy test --bogus x").exit_code, 2);
  EXPECT_EQ(Scrubd("policy test --help").exit_code, 0);
  CliRun typo = Scrubd(Cmd(TestFile(d, kDefault.string(), "    hiden: [" + canary + "]\n")));
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_NE(typo.out.find("p.test.yaml:5:5: case: unknown key 'hiden'"), std::string::npos)
      << typo.out;
  CliRun vacuous = Scrubd(Cmd(TestFile(d, kDefault.string(), "    hidden: [" + canary + "]\n")));
  EXPECT_EQ(vacuous.exit_code, 1);
  EXPECT_NE(vacuous.out.find("vacuous"), std::string::npos) << vacuous.out;
  CliRun no_policy = Scrubd(Cmd(TestFile(d, "missing.yaml", kChecks)));
  EXPECT_EQ(no_policy.exit_code, 1);
  EXPECT_NE(no_policy.out.find("missing.yaml: cannot open policy file"), std::string::npos);
  CliRun no_file = Scrubd(Cmd(TestFile(d, kDefault.string(), "").string() + "x"));
  EXPECT_EQ(no_file.exit_code, 1);
  const fs::path no_dir = d.path() / "no-input.test.yaml";  // a case whose input is missing
  std::ofstream(no_dir) << "policy: " << kDefault.string()
                        << "\ncases:\n  - name: gone\n    input: " << (d.path() / "gone").string()
                        << "\n"
                        << kChecks;
  CliRun no_input = Scrubd(Cmd(no_dir));
  EXPECT_EQ(no_input.exit_code, 1) << no_input.out;
  EXPECT_NE(no_input.out.find("capture dir:"), std::string::npos) << no_input.out;
  for (const CliRun* r : {&typo, &vacuous, &no_policy, &no_file, &no_input})
    EXPECT_EQ(r->out.find("zq.canary"), std::string::npos) << r->out;
}

}  // namespace
