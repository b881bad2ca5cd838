// LoadCaptureDir over the real fixtures and over hostile directories: every error is named and
// never carries a value of the capture (a canary planted in each field stays out of it).
#include "workbench/capture_dir.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace scrubd::workbench {
namespace {
namespace fs = std::filesystem;
using scrubd::testing::TempDir;

constexpr char kCanary[] = "canary.cap@example.com";

void Write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string Meta(const std::string& method, const std::string& path, const std::string& headers,
                 size_t len) {
  return R"({"method":")" + method + R"(","path":")" + path + R"(","headers":{)" + headers +
         R"(},"len":)" + std::to_string(len) + "}";
}

TEST(CaptureDirTest, LoadsTheCheckoutFixtureInOrderWithItsHeaders) {
  Result<std::vector<CapturedRequest>> in = LoadCaptureDir(scrubd::testing::FixtureDir());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  ASSERT_EQ(in->size(), 7u);
  EXPECT_EQ(in->front().name, "0000");
  EXPECT_EQ((*in)[2].name, "0008");
  EXPECT_EQ((*in)[2].request.method, "POST");
  EXPECT_EQ((*in)[2].request.target, "/s/");
  EXPECT_EQ((*in)[1].request.target, "/flags/?v=2");
  EXPECT_EQ((*in)[2].request.body, scrubd::testing::Fixture("0008.body"));
  EXPECT_EQ((*in)[0].request.headers.at("content-type"), "text/plain");  // lower-cased
  EXPECT_TRUE((*in)[0].request.headers.count("cookie"));
  EXPECT_EQ((*in)[0].request.peer, "127.0.0.1");
}

TEST(CaptureDirTest, NamesOfDigitsSortByValue) {
  TempDir d;
  for (std::string n : {"10", "9", "0100"}) {
    Write(d.path() / (n + ".body"), "{}");
    Write(d.path() / (n + ".meta.json"), Meta("POST", "/e/", "", 2));
  }
  Write(d.path() / "README.txt", "ignored");
  Result<std::vector<CapturedRequest>> in = LoadCaptureDir(d.path());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  ASSERT_EQ(in->size(), 3u);
  EXPECT_EQ((*in)[0].name, "9");
  EXPECT_EQ((*in)[1].name, "10");
  EXPECT_EQ((*in)[2].name, "0100");
}

struct BadCase {
  const char* name;
  std::function<void(const fs::path&)> make;
  const char* expect;  // in the message
};

TEST(CaptureDirTest, BadDirectoriesAreNamedErrorsWithoutTheirValues) {
  const std::string c = kCanary;
  std::vector<BadCase> cases = {
      {"empty", [](const fs::path&) {}, "holds no"},
      {"body without meta", [&](const fs::path& d) { Write(d / "0001.body", c); },
       "0001.body: has no 0001.meta.json"},
      {"meta without body",
       [&](const fs::path& d) { Write(d / "0001.meta.json", Meta("POST", "/e/" + c, "", 0)); },
       "0001.meta.json: has no 0001.body"},
      {"bad name", [&](const fs::path& d) { Write(d / "a b.body", c); }, "name is not"},
      {"not json",
       [&](const fs::path& d) {
         Write(d / "0001.body", c);
         Write(d / "0001.meta.json", "{" + c);
       },
       "0001.meta.json: not a JSON object"},
      {"bad method",
       [&](const fs::path& d) {
         Write(d / "0001.body", "");
         Write(d / "0001.meta.json", Meta("PO ST" + c, "/e/", "", 0));
       },
       "method"},
      {"relative path",
       [&](const fs::path& d) {
         Write(d / "0001.body", "");
         Write(d / "0001.meta.json", Meta("POST", c, "", 0));
       },
       "path"},
      {"header not a string",
       [&](const fs::path& d) {
         Write(d / "0001.body", "");
         Write(d / "0001.meta.json", Meta("POST", "/e/", R"("x-a":{"v":")" + c + R"("})", 0));
       },
       "header x-a is not a string"},
      {"header name not a token",
       [&](const fs::path& d) {
         Write(d / "0001.body", "");
         Write(d / "0001.meta.json", Meta("POST", "/e/", "\"" + c + " x\":\"1\"", 0));
       },
       "a header name is not an HTTP token"},
      {"duplicate header",
       [&](const fs::path& d) {
         Write(d / "0001.body", "");
         Write(d / "0001.meta.json",
               Meta("POST", "/e/", R"("Cookie":")" + c + R"(","cookie":")" + c + "\"", 0));
       },
       "header cookie given twice"},
      {"length mismatch",
       [&](const fs::path& d) {
         Write(d / "0001.body", c);
         Write(d / "0001.meta.json", Meta("POST", "/e/", "", 3));
       },
       "len is 3 but the body has 22 bytes"},
  };
  for (const BadCase& bc : cases) {
    TempDir d;
    bc.make(d.path());
    Result<std::vector<CapturedRequest>> in = LoadCaptureDir(d.path());
    ASSERT_FALSE(in.ok()) << bc.name;
    EXPECT_EQ(in.status().code(), Code::kInvalidInput) << bc.name;
    EXPECT_NE(in.status().message().find(bc.expect), std::string::npos)
        << bc.name << ": " << in.status().message();
    EXPECT_EQ(in.status().message().find("canary"), std::string::npos) << bc.name;
  }
}

TEST(CaptureDirTest, LimitsAreEnforced) {
  TempDir d;
  for (std::string n : {"1", "2", "3"}) {
    Write(d.path() / (n + ".body"), std::string(100, 'x'));
    Write(d.path() / (n + ".meta.json"), Meta("POST", "/e/", "", 100));
  }
  CaptureLimits few;
  few.max_requests = 2;
  EXPECT_NE(LoadCaptureDir(d.path(), few).status().message().find("more than 2 requests"),
            std::string::npos);
  CaptureLimits small_body;
  small_body.max_body_bytes = 99;
  EXPECT_NE(LoadCaptureDir(d.path(), small_body).status().message().find("1.body: larger than"),
            std::string::npos);
  CaptureLimits small_total;
  small_total.max_total_bytes = 250;
  EXPECT_NE(LoadCaptureDir(d.path(), small_total).status().message().find("bytes in all"),
            std::string::npos);
  EXPECT_TRUE(LoadCaptureDir(d.path()).ok());
  EXPECT_EQ(LoadCaptureDir(d.path() / "missing").status().code(), Code::kInvalidInput);
}

}  // namespace
}  // namespace scrubd::workbench
