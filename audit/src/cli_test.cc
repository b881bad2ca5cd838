#include "scrubd/audit/cli.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <initializer_list>

#include "scrubd/audit/log.h"
#include "test_util.h"

namespace scrubd::audit {
namespace {

namespace fs = std::filesystem;
using testing::Records;
using testing::Slurp;
using testing::Spit;
using testing::TempDir;

struct CliRun {
  int code;
  std::string out;
};

CliRun Cli(std::initializer_list<std::string> args) {
  std::vector<std::string> storage(args);
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int code = RunAuditCli(static_cast<int>(argv.size()), argv.data());
  std::string out = ::testing::internal::GetCapturedStdout();
  out += ::testing::internal::GetCapturedStderr();
  return {code, out};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = Log::Open(Data() / "audit", Options{});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log.value()->Append("startup", R"({"version":"0.1.0"})").ok());
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(log.value()->Append("batch", R"({"token":"t","dropped":0})").ok());
    }
    ASSERT_TRUE(log.value()->Append("shutdown", "{}").ok());
    ASSERT_TRUE(log.value()->Close().ok());
  }
  fs::path Data() const { return tmp_.path() / "data"; }
  TempDir tmp_;
};

TEST_F(CliTest, VerifyOkAndTamperedCopy) {
  CliRun ok = Cli({"verify", "--data-dir", Data().string()});
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_EQ(ok.out.rfind("OK: 54 entries", 0), 0u) << ok.out;

  auto recs = Records(Data() / "audit");
  std::string seg = Slurp(recs[17].segment);
  seg[recs[17].offset + 30] ^= 0x20;
  Spit(recs[17].segment, seg);
  CliRun bad = Cli({"verify", "--data-dir", Data().string()});
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("FAILED: first bad entry seq=17 in seg-00000000000000000000.log at "
                         "byte offset " +
                         std::to_string(recs[17].offset)),
            std::string::npos)
      << bad.out;
}

TEST_F(CliTest, UsageAndHelp) {
  EXPECT_EQ(Cli({"verify"}).code, 2);
  EXPECT_EQ(Cli({"verify", "--bogus", "x"}).code, 2);
  EXPECT_EQ(Cli({"frobnicate"}).code, 2);
  EXPECT_EQ(Cli({"prove", "--data-dir", Data().string(), "--seq", "x"}).code, 2);
  for (const char* cmd : {"verify", "prove", "rotate-key", "export-key"}) {
    CliRun h = Cli({cmd, "--help"});
    EXPECT_EQ(h.code, 0) << cmd;
    EXPECT_NE(h.out.find("usage: scrubd audit"), std::string::npos) << cmd;
  }
}

TEST_F(CliTest, ProveThenVerifyProof) {
  fs::path proof = tmp_.path() / "receipt.txt";
  CliRun p = Cli({"prove", "--data-dir", Data().string(), "--seq", "20", "--out", proof.string()});
  ASSERT_EQ(p.code, 0) << p.out;
  CliRun v = Cli({"verify", "--proof", proof.string(), "--data-dir", Data().string()});
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("OK: entry 20 is included"), std::string::npos) << v.out;
  std::string text = Slurp(proof);
  text[text.find("entry ") + 10] ^= 1;
  Spit(proof, text);
  EXPECT_EQ(Cli({"verify", "--proof", proof.string(), "--data-dir", Data().string()}).code, 1);
}

TEST_F(CliTest, ExportAndRotateKey) {
  fs::path exported = tmp_.path() / "pinned.pem";
  ASSERT_EQ(Cli({"export-key", "--data-dir", Data().string(), "--out", exported.string()}).code, 0);
  EXPECT_EQ(Slurp(exported), Slurp(Data() / "audit" / "public.pem"));
  CliRun r = Cli({"rotate-key", "--data-dir", Data().string()});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(Slurp(exported), Slurp(Data() / "audit" / "public.pem"));
  CliRun v = Cli(
      {"verify", "--audit-dir", (Data() / "audit").string(), "--public-key", exported.string()});
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("2 key(s)"), std::string::npos) << v.out;
}

TEST_F(CliTest, TrustedCheckpointCatchesTailDeletion) {
  fs::path saved = tmp_.path() / "saved-checkpoint";
  fs::copy_file(Data() / "audit" / "checkpoint", saved);
  EXPECT_EQ(
      Cli({"verify", "--data-dir", Data().string(), "--trusted-checkpoint", saved.string()}).code,
      0);
  // Roll the whole directory back to an earlier state: same key, shorter log.
  fs::remove_all(Data());
  SetUp();  // a different, shorter-history log under a different key
  CliRun r = Cli({"verify", "--data-dir", Data().string(), "--trusted-checkpoint", saved.string()});
  EXPECT_EQ(r.code, 1) << r.out;
}

TEST_F(CliTest, StandaloneVerifierNeedsOnlyLogAndKey) {
  fs::path copy = tmp_.path() / "copy";
  fs::create_directories(copy);
  for (const auto& de : fs::directory_iterator(Data() / "audit")) {
    const std::string name = de.path().filename().string();
    if (name.rfind("seg-", 0) == 0 || name == "checkpoints.log") {
      fs::copy_file(de.path(), copy / name);
    }
  }
  fs::path key = tmp_.path() / "key.pem";
  fs::copy_file(Data() / "audit" / "public.pem", key);
  std::string cmd = std::string(SCRUBD_AUDIT_VERIFY_BIN) + " --audit-dir " + copy.string() +
                    " --public-key " + key.string() + " > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  auto recs = Records(copy);
  std::string seg = Slurp(recs[5].segment);
  seg[recs[5].offset + 8] ^= 1;
  Spit(recs[5].segment, seg);
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace scrubd::audit
