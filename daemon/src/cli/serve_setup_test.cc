#include "cli/serve_setup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/fixtures.h"

namespace scrubd::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kHashPolicy[] =
    "version: 1\nname: hashy\ndetectors:\n  overrides:\n    email: {method: hash}\n";

ServeConfig ConfigIn(const scrubd::testing::TempDir& d) {
  std::ofstream(d.path() / "hash.yaml") << kHashPolicy;
  ServeConfig c;
  c.data_dir = (d.path() / "data").string();
  c.policy_files = {(d.path() / "hash.yaml").string()};
  return c;
}

// The read-only load writes nothing, names what serve would create, and compiles the same
// policy set (same digests) as the load that creates the keys.
TEST(ServeSetupTest, ReadOnlyLoadWritesNothingAndCompilesWhatServeCompiles) {
  scrubd::testing::TempDir d;
  ServeConfig c = ConfigIn(d);
  Result<ServeInputs> check = LoadServeInputs(c, KeyFiles::kReadOnly);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_FALSE(fs::exists(c.data_dir));
  EXPECT_EQ(check->would_create.size(), 4u);
  Result<ServeInputs> serve = LoadServeInputs(c, KeyFiles::kCreate);
  ASSERT_TRUE(serve.ok()) << serve.status().ToString();
  EXPECT_TRUE(serve->would_create.empty());
  ASSERT_EQ(check->policies->policies().size(), serve->policies->policies().size());
  EXPECT_EQ(check->policies->policies()[0]->sha256, serve->policies->policies()[0]->sha256);
  // With the keys in place the check reads the very keys serve uses.
  Result<ServeInputs> again = LoadServeInputs(c, KeyFiles::kReadOnly);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->would_create.empty());
  EXPECT_EQ(again->hash_key, serve->hash_key);
  EXPECT_EQ(again->identity_key, serve->identity_key);
  EXPECT_EQ(again->admin_token, serve->admin_token);
}

TEST(ServeSetupTest, BadKeysAndListenFailBothModesAlike) {
  scrubd::testing::TempDir d;
  ServeConfig c = ConfigIn(d);
  ASSERT_TRUE(LoadServeInputs(c, KeyFiles::kCreate).ok());
  fs::path token = fs::path(c.data_dir) / "keys" / "admin.token";
  std::ofstream(token, std::ios::trunc) << "short\n";
  for (KeyFiles mode : {KeyFiles::kCreate, KeyFiles::kReadOnly}) {
    Result<ServeInputs> r = LoadServeInputs(c, mode);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
    EXPECT_NE(r.status().message().find("admin.token: key file too short"), std::string::npos)
        << r.status().message();
  }
  c.listen = "8080";
  for (KeyFiles mode : {KeyFiles::kCreate, KeyFiles::kReadOnly})
    EXPECT_EQ(LoadServeInputs(c, mode).status().message(), "listen must be HOST:PORT, got '8080'");
}

// The App serve builds gets every setting from the config and the loaded inputs.
TEST(ServeSetupTest, AppConfigOfCarriesServesSettings) {
  scrubd::testing::TempDir d;
  ServeConfig c = ConfigIn(d);
  c.max_decompressed_bytes = 12345;
  c.events_require_session_id = false;
  c.request_deadline_ms = 777;
  c.answer_remote_config = false;
  c.upstream_and_store = true;
  c.path_prefix = "/ingest";
  Result<ServeInputs> in = LoadServeInputs(c, KeyFiles::kReadOnly);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  in->role_tokens.push_back({server::Role::kAuditor, "auditor-token"});
  server::AppConfig a = AppConfigOf(c, *in);
  EXPECT_EQ(a.limits.inflate.max_output, 12345u);
  EXPECT_FALSE(a.limits.events_require_session_id);
  EXPECT_EQ(a.request_deadline, std::chrono::milliseconds(777));
  EXPECT_FALSE(a.answer_remote_config);
  EXPECT_TRUE(a.upstream_and_store);
  EXPECT_EQ(a.path_prefix, "/ingest");
  EXPECT_EQ(a.policy_files, c.policy_files);
  EXPECT_EQ(a.admin_token, in->admin_token);
  EXPECT_EQ(a.pseudonym_key, in->pseudonym_key);
  EXPECT_EQ(a.policy_options.hmac_key, in->hash_key);
  EXPECT_EQ(a.policy_options.identity_key, in->identity_key);
  ASSERT_EQ(a.admin_tokens.size(), 1u);
}

}  // namespace
}  // namespace scrubd::cli
