#include <gtest/gtest.h>

#include <fstream>

#include "cli/config.h"
#include "support/fixtures.h"

namespace scrubd::cli {
namespace {

Result<ServeConfig> ParseArgs(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseServeArgs(static_cast<int>(argv.size()), argv.data());
}

TEST(RequestDeadlineConfigTest, DefaultKeyAndFlag) {
  EXPECT_EQ(ParseArgs({})->request_deadline_ms, 2000);
  scrubd::testing::TempDir d;
  std::ofstream(d.path() / "s.yaml") << "request_deadline_ms: 0\n";
  std::string cfg = (d.path() / "s.yaml").string();
  EXPECT_EQ(ParseArgs({"--config", cfg})->request_deadline_ms, 0);  // 0: no deadline
  EXPECT_EQ(ParseArgs({"--config", cfg, "--request-deadline-ms", "150"})->request_deadline_ms, 150);
  EXPECT_EQ(ParseArgs({"--request-deadline-ms", "x"}).status().code(), Code::kInvalidInput);
  std::ofstream(d.path() / "n.yaml") << "request_deadline_ms: -5\n";
  EXPECT_EQ(ParseArgs({"--config", (d.path() / "n.yaml").string()}).status().code(),
            Code::kInvalidConfig);
}

}  // namespace
}  // namespace scrubd::cli
