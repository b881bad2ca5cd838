#include "cli/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace scrubd::cli {
namespace {

Result<ServeConfig> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseServeArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(ServeConfigTest, ShippedSystemdConfigParses) {
  auto c = Parse({"--config", std::string(SCRUBD_SOURCE_DIR) + "/systemd/scrubd.yaml"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/var/lib/scrubd");
  ASSERT_EQ(c->policy_files.size(), 1u);
}

TEST(ServeConfigTest, FlagsWinOverTheConfigFileWhateverTheirOrder) {
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml") << "listen: 0.0.0.0:9000\ndata_dir: /srv\npolicy: [a.yaml]\n";
  std::string cfg = (d.path() / "s.yaml").string();
  auto c = Parse({"--listen", "127.0.0.1:0", "--config", cfg, "--policy", "b.yaml"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen, "127.0.0.1:0");
  EXPECT_EQ(c->data_dir, "/srv");
  EXPECT_EQ(c->policy_files, std::vector<std::string>{"b.yaml"});
}

TEST(ServeConfigTest, AdminListenMustBeHostPortAndIsNamedInTheError) {
  for (const char* bad : {"foo", ":80", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:123456"}) {
    auto c = Parse({"--admin-listen", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Code::kInvalidInput);
    EXPECT_EQ(c.status().message().rfind("--admin-listen must be HOST:PORT", 0), 0u)
        << c.status().message();
  }
  EXPECT_TRUE(Parse({"--admin-listen", "127.0.0.1:0"}).ok());
  EXPECT_TRUE(Parse({"--dsr-callbacks-allow-loopback"})->dsr_callbacks_allow_loopback);
}

TEST(ServeConfigTest, ErrorsAreUsageOrConfigWithLocation) {
  EXPECT_EQ(Parse({"--bogus"}).status().code(), Code::kInvalidInput);
  EXPECT_EQ(Parse({"--workers", "x"}).status().code(), Code::kInvalidInput);
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml") << "listen: a\nlisten_typo: b\n";
  auto c = Parse({"--config", (d.path() / "s.yaml").string()});
  EXPECT_EQ(c.status().code(), Code::kInvalidConfig);
  EXPECT_NE(c.status().message().find("s.yaml:2:1: config: unknown key 'listen_typo'"),
            std::string::npos)
      << c.status().message();
}

TEST(ServeConfigTest, SizeFlagsTakeDigitsOnly) {
  // strtoull alone read "-1" as 2^64-1: a limit became no limit.
  for (const char* bad :
       {"-1", "+5", " 5", "5 ", "0", "1e6", "18446744073709551616", "99999999999999999999", ""})
    for (const char* flag : {"--max-body-bytes", "--max-connections", "--workers"})
      EXPECT_EQ(Parse({flag, bad}).status().code(), Code::kInvalidInput) << flag << " " << bad;
  Result<ServeConfig> ok = Parse({"--max-body-bytes", "1048576"});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->max_body_bytes, 1048576u);
}

TEST(ServeConfigTest, UpstreamKeysFromFileAndFlags) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->upstream.empty());
  EXPECT_TRUE(c->upstream_reencode_cv);
  EXPECT_FALSE(c->upstream_insecure);
  EXPECT_EQ(c->spool_max_bytes, size_t{1} << 30);
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml")
      << "upstream: https://eu.i.posthog.com\nupstream_reencode_cv: false\n"
         "spool_max_bytes: 1000\nupstream_and_store: true\n";
  std::string cfg = (d.path() / "s.yaml").string();
  c = Parse({"--config", cfg});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->upstream, "https://eu.i.posthog.com");
  EXPECT_FALSE(c->upstream_reencode_cv);
  EXPECT_TRUE(c->upstream_and_store);
  EXPECT_EQ(c->spool_max_bytes, 1000u);
  c = Parse({"--config", cfg, "--upstream", "http://127.0.0.1:9", "--spool-max-bytes", "5",
             "--upstream-insecure", "--no-upstream-reencode-cv"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->upstream, "http://127.0.0.1:9");
  EXPECT_EQ(c->spool_max_bytes, 5u);
  EXPECT_TRUE(c->upstream_insecure);
  EXPECT_EQ(Parse({"--upstream"}).status().code(), Code::kInvalidInput);
}

TEST(ServeConfigTest, HttpLimitsAndAdminOriginFromFileAndFlags) {
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml")
      << "max_connections: 500\nmax_connections_per_peer: 20\nmax_peer_inflight_body_bytes: "
         "1000\nidle_timeout_seconds: 7\nadmin_origin: https://ops.test\n";
  std::string cfg = (d.path() / "s.yaml").string();
  auto c = Parse({"--config", cfg});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_connections, 500u);
  EXPECT_EQ(c->max_connections_per_peer, 20u);
  EXPECT_EQ(c->max_peer_inflight_body_bytes, 1000u);
  EXPECT_EQ(c->idle_timeout_s, 7);
  EXPECT_EQ(c->admin_origin, "https://ops.test");
  c = Parse({"--config", cfg, "--max-connections", "9", "--admin-origin", "https://b.test"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_connections, 9u);
  EXPECT_EQ(c->admin_origin, "https://b.test");
  EXPECT_EQ(Parse({}).value().max_connections, 0u);  // derived from RLIMIT_NOFILE at start
  EXPECT_EQ(Parse({"--max-connections-per-peer", "0"}).status().code(), Code::kInvalidInput);
}

TEST(ServeConfigTest, PosthogErasureKeysFromFileAndFlagsAllOrNone) {
  auto c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->posthog_api_host.empty() && c->posthog_project_id.empty() &&
              c->posthog_api_key_file.empty());
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml") << "posthog_api_host: https://eu.posthog.com\n"
                                        "posthog_project_id: 12345\n"  // unquoted is fine
                                        "posthog_api_key_file: /etc/scrubd/posthog.key\n";
  std::string cfg = (d.path() / "s.yaml").string();
  c = Parse({"--config", cfg});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->posthog_api_host, "https://eu.posthog.com");
  EXPECT_EQ(c->posthog_project_id, "12345");
  EXPECT_EQ(c->posthog_api_key_file, "/etc/scrubd/posthog.key");
  c = Parse({"--posthog-project-id", "7", "--config", cfg, "--posthog-api-host",
             "https://us.posthog.com", "--posthog-api-key-file", "/k"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->posthog_api_host, "https://us.posthog.com");
  EXPECT_EQ(c->posthog_project_id, "7");
  EXPECT_EQ(c->posthog_api_key_file, "/k");
  c = Parse({"--posthog-api-host", "https://us.posthog.com", "--posthog-api-key-file", "/k",
             "--posthog-project-id", "9"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // A partial set is refused: from flags a usage error, from the file a config error.
  c = Parse({"--posthog-api-host", "https://us.posthog.com"});
  EXPECT_EQ(c.status().code(), Code::kInvalidInput);
  EXPECT_NE(c.status().message().find("all three or none"), std::string::npos);
  c = Parse({"--posthog-project-id", "7", "--posthog-api-key-file", "/k"});
  EXPECT_EQ(c.status().code(), Code::kInvalidInput);
  std::ofstream(d.path() / "p.yaml") << "posthog_project_id: \"1\"\n";
  EXPECT_EQ(Parse({"--config", (d.path() / "p.yaml").string()}).status().code(),
            Code::kInvalidConfig);
  EXPECT_EQ(Parse({"--posthog-api-key-file"}).status().code(), Code::kInvalidInput);
  std::ofstream(d.path() / "t.yaml") << "posthog_api_key: phx_CANARY\n";  // the key itself: no
  c = Parse({"--config", (d.path() / "t.yaml").string()});
  EXPECT_EQ(c.status().code(), Code::kInvalidConfig);
  EXPECT_EQ(c.status().message().find("phx_CANARY"), std::string::npos) << c.status().message();
}

}  // namespace
}  // namespace scrubd::cli
