// `scrubd policy preview` and `scrubd policy diff` as a user runs them over the checkout
// recording (tests/data/checkout) plus a request carrying a canary in each field: usage and
// load errors, the 0600 report, exit codes, and no recorded value in any output unless
// --show-values asks for it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>
#include <string>

#include "support/cli_run.h"
#include "support/fixtures.h"

namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using scrubd::testing::CliRun;
using scrubd::testing::ReadFile;
using scrubd::testing::Scrubd;
using scrubd::testing::TempDir;

const fs::path kCheckout = fs::path(SCRUBD_SOURCE_DIR) / "tests" / "data" / "checkout";
const fs::path kDefault = fs::path(SCRUBD_SOURCE_DIR) / "policies" / "default.yaml";
const std::string kCanary = "zq7canary";  // in the path, a header and every body field
const std::string kCanaryEmail = kCanary + "@example.com";

// The checkout capture plus 9999: an analytics event with the canary in each field.
fs::path InputWithCanary(const TempDir& d) {
  fs::path in = d.path() / "in";
  fs::copy(kCheckout, in);
  std::string body = json::serialize(json::object{
      {"event", "signup"},
      {"uuid", "01a20355-0000-7000-8000-00000000abcd"},
      {"distinct_id", kCanaryEmail},
      {"properties", json::object{{"token", "phc_testkey123"},
                                  {"$session_id", "01a20355-1c58-723a-837c-2bcc756c76c4"},
                                  {"note", "mail " + kCanaryEmail},
                                  {kCanaryEmail, kCanaryEmail},  // a key that is personal
                                  {"$current_url", "https://shop.test/?q=" + kCanary}}}});
  std::ofstream(in / "9999.body") << body;
  std::ofstream(in / "9999.meta.json") << json::serialize(json::object{
      {"method", "POST"},
      {"path", "/e/?ver=" + kCanary},
      {"headers", json::object{{"content-type", "application/json"}, {"x-note", kCanary}}},
      {"len", body.size()}});
  return in;
}

// The default policy with the email detector off.
fs::path NoEmail(const TempDir& d) {
  std::string text = ReadFile(kDefault);
  const std::string from = "  disabled: []\n";
  EXPECT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "  disabled: [email]\n");
  fs::path p = d.path() / "no-email.yaml";
  std::ofstream(p) << text;
  return p;
}

TEST(PreviewCliTest, UsageAndLoadErrorsHaveTheirExitCodes) {
  TempDir d;
  EXPECT_EQ(Scrubd("policy preview --help").exit_code, 0);
  EXPECT_EQ(Scrubd("policy diff --help").exit_code, 0);
  const std::string in = " --input " + kCheckout.string();
  const std::string out = " --out " + (d.path() / "r.html").string();
  EXPECT_EQ(Scrubd("policy preview" + in + out).exit_code, 2);  // no --policy
  EXPECT_EQ(Scrubd("policy preview --policy " + kDefault.string() + out).exit_code, 2);
  EXPECT_EQ(Scrubd("policy preview --policy " + kDefault.string() + in).exit_code, 2);
  EXPECT_EQ(Scrubd("policy preview --bogus" + in + out).exit_code, 2);
  EXPECT_EQ(Scrubd("policy preview --policy" + in + out).exit_code, 2);     // --policy eats --input
  EXPECT_EQ(Scrubd("policy diff " + kDefault.string() + in).exit_code, 2);  // one file
  EXPECT_EQ(Scrubd("policy diff a b c" + in).exit_code, 2);
  EXPECT_EQ(Scrubd("policy diff " + kDefault.string() + " " + kDefault.string()).exit_code, 2);
  CliRun missing = Scrubd("policy diff " + kDefault.string() + " nope.yaml" + in);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.out.find("nope.yaml"), std::string::npos) << missing.out;
  std::ofstream(d.path() / "bad.yaml") << "version: 1\nname: b\nmasking: {blok: [x]}\n";
  CliRun bad = Scrubd("policy preview --policy " + (d.path() / "bad.yaml").string() + in + out);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("bad.yaml:3:"), std::string::npos) << bad.out;
  CliRun no_input = Scrubd("policy diff " + kDefault.string() + " " + kDefault.string() +
                           " --input " + (d.path() / "gone").string());
  EXPECT_EQ(no_input.exit_code, 1);
  EXPECT_NE(no_input.out.find("input"), std::string::npos);
  EXPECT_FALSE(fs::exists(d.path() / "r.html"));
}

TEST(PreviewCliTest, ReportIsPrivateAndShowsNoValueUnlessAsked) {
  TempDir d;
  fs::path in = InputWithCanary(d), loose = NoEmail(d), report = d.path() / "r.html";
  std::ofstream(report) << "old";
  ::chmod(report.c_str(), 0644);
  // The runs' scratch data dirs go under this TMPDIR; none may be left behind.
  fs::path scratch = d.path() / "tmp";
  fs::create_directories(scratch);
  CliRun r = Scrubd("policy preview --policy " + loose.string() + " --baseline " +
                        kDefault.string() + " --input " + in.string() + " --out " + report.string(),
                    "TMPDIR=" + scratch.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::is_empty(scratch)) << "a run's data dir was left with the recording in it";
  EXPECT_NE(r.out.find("WARNING"), std::string::npos);
  EXPECT_NE(r.out.find("holds personal data"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(report.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string html = ReadFile(report);
  EXPECT_NE(html.find("id=\"newly-exposed-table\""), std::string::npos);
  EXPECT_NE(html.find("detector email"), std::string::npos);
  EXPECT_EQ(html.find(kCanary), std::string::npos) << "a value in a table without --show-values";
  EXPECT_EQ(r.out.find(kCanary), std::string::npos) << r.out;
  CliRun shown =
      Scrubd("policy preview --show-values --policy " + loose.string() + " --baseline " +
             kDefault.string() + " --input " + in.string() + " --out " + report.string());
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_NE(ReadFile(report).find(kCanaryEmail), std::string::npos);
}

TEST(PreviewCliTest, DiffListsWhatTheLoosenedPolicyExposesAndExitCodeGatesIt) {
  TempDir d;
  fs::path in = InputWithCanary(d), loose = NoEmail(d);
  const std::string args = " --input " + in.string();
  CliRun text = Scrubd("policy diff " + kDefault.string() + " " + loose.string() + args);
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_NE(text.out.find("NEWLY EXPOSED: "), std::string::npos);
  EXPECT_NE(text.out.find("was hidden by detector email (replace)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("analytics event"), std::string::npos);
  EXPECT_EQ(text.out.find(kCanary), std::string::npos) << text.out;
  CliRun js =
      Scrubd("policy diff --json --exit-code " + kDefault.string() + " " + loose.string() + args);
  EXPECT_EQ(js.exit_code, 1);
  json::object o = json::parse(js.out).as_object();
  const json::array& exposed = o.at("newly_exposed").as_array();
  ASSERT_FALSE(exposed.empty());
  for (const json::value& c : exposed) {
    EXPECT_EQ(c.at("rule").as_string().subview().substr(0, 14), "detector email");
    EXPECT_FALSE(c.as_object().contains("captured"));
  }
  EXPECT_TRUE(o.at("newly_hidden").as_array().empty());
  EXPECT_EQ(o.at("after").at("rejected").as_int64(), 0);  // the canary request was stored
  EXPECT_EQ(js.out.find(kCanary), std::string::npos);
  CliRun same =
      Scrubd("policy diff --exit-code " + kDefault.string() + " " + kDefault.string() + args);
  EXPECT_EQ(same.exit_code, 0) << same.out;
  EXPECT_NE(same.out.find("NEWLY EXPOSED: 0"), std::string::npos);
  CliRun values =
      Scrubd("policy diff --show-values --json " + kDefault.string() + " " + loose.string() + args);
  ASSERT_EQ(values.exit_code, 0);
  EXPECT_NE(values.out.find(kCanaryEmail), std::string::npos);
  EXPECT_NE(values.out.find("WARNING"), std::string::npos);
}

}  // namespace
