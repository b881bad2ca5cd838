#include "sink/scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "support/fixtures.h"

namespace scrubd::sink {
namespace {
namespace fs = std::filesystem;
using scrubd::testing::TempDir;

void Put(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

TEST(ScanTest, CleanDirectoryIsZeroAndMissingDirectoryIsClean) {
  TempDir d;
  Put(d.path() / "a.json", R"({"distinct_id":"pid_0123","url":"https://x.test/"})");
  Put(d.path() / "sub" / "b.bin", std::string("\0\1\2jane.doe", 11));
  auto n = ScanForNeedles(d.path(), {"jane.doe@example.com", "sess-0001"});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  auto missing = ScanForNeedles(d.path() / "nope", {"x"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(*missing, 0u);
  auto empty = ScanForNeedles(d.path(), {""});  // an empty needle matches nothing
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 0u);
}

TEST(ScanTest, FindsANeedleAcrossAReadBoundary) {
  const std::string needle = "jane.doe@example.com";
  for (size_t split : {size_t{1}, size_t{7}, needle.size() - 1}) {
    TempDir d;
    // The 64 KiB read ends `split` bytes into the needle; two pieces later, another copy.
    std::string bytes(64 * 1024 - split, 'x');
    bytes += needle;
    bytes += std::string(200 * 1024, 'y');
    Put(d.path() / "store" / "index.sqlite-wal", bytes);
    std::vector<fs::path> hits;
    auto n = ScanForNeedles(d.path(), {needle}, &hits);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1u) << split;
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].filename(), "index.sqlite-wal");
  }
}

TEST(ScanTest, FindsEncodedAndCaseChangedForms) {
  TempDir d;
  Put(d.path() / "pct.txt", "GET /?email=Jane.Doe%2Bx%40Example.COM&x=1");
  Put(d.path() / "pctlower.txt", "q=jane.doe%2bx%40example.com");
  Put(d.path() / "form.txt", "name=Jane+D%27Arc%2Fx");
  Put(d.path() / "json.txt", R"({"note":"path \/home\/jane \"q\""})");
  Put(d.path() / "upper.txt", "JANE.DOE+X@EXAMPLE.COM");
  Put(d.path() / "clean.txt", "jane.doe x example.com");
  std::vector<fs::path> hits;
  auto n = ScanForNeedles(d.path(), {"jane.doe+x@example.com", "Jane D'Arc/x", "/home/jane \"q\""},
                          &hits);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  std::vector<std::string> names;
  for (const auto& h : hits) names.push_back(h.filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"form.txt", "json.txt", "pct.txt", "pctlower.txt",
                                             "upper.txt"}));
}

TEST(ScanTest, NeedleFormsCoverRawJsonAndPercentEncodings) {
  std::vector<std::string> f = NeedleForms("A/b\"c@d");
  auto has = [&](const std::string& s) { return std::find(f.begin(), f.end(), s) != f.end(); };
  EXPECT_TRUE(has("a/b\"c@d"));
  EXPECT_TRUE(has("a/b\\\"c@d"));
  EXPECT_TRUE(has("a\\/b\\\"c@d"));
  EXPECT_TRUE(has("a%2fb%22c%40d"));
  EXPECT_TRUE(NeedleForms("").empty());
  EXPECT_EQ(NeedleForms("abc").size(), 1u);  // every form is the same
}

TEST(ScanTest, SymlinksAreNotFollowed) {
  TempDir outside, d;
  Put(outside.path() / "secret.txt", "needle-outside");
  fs::create_directories(d.path());
  fs::create_directory_symlink(outside.path(), d.path() / "link");
  fs::create_symlink(outside.path() / "secret.txt", d.path() / "file-link");
  auto n = ScanForNeedles(d.path(), {"needle-outside"});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

}  // namespace
}  // namespace scrubd::sink
