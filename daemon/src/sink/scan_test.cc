#include "sink/scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "sink/chunk_codec.h"
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

// A JSON array of `rows` text rows, `needle` in row `at` (none when at < 0).
std::string Rows(int rows, int at, const std::string& needle) {
  std::string s = "[";
  for (int i = 0; i < rows; ++i)
    s += (i ? "," : "") + std::string(R"({"type":3,"data":{"text":")") +
         (i == at ? needle : "row " + std::to_string(i * 7919 % 100003)) + R"("},"timestamp":)" +
         std::to_string(1000 + i) + "}";
  return s + "]";
}

TEST(ScanTest, FindsANeedleInsideACompressedChunk) {
  const std::string needle = "Jane.Canary+zq@Example.org";
  for (int at : {0, 3000, 9999}) {
    TempDir d;
    std::string packed = *EncodeChunk(Rows(10000, at, needle), ChunkEncoding::kZstd);
    ASSERT_EQ(packed.find(needle), std::string::npos);  // not visible without decoding
    Put(d.path() / "store" / "recordings" / "t" / "s" / "w" / "0000000000001-000001.json.zst",
        packed);
    Put(d.path() / "store" / "recordings" / "t" / "s" / "w" / "0000000000002-000002.json.zst",
        *EncodeChunk(Rows(100, -1, ""), ChunkEncoding::kZstd));
    std::vector<fs::path> hits;
    auto n = ScanForNeedles(d.path(), {"jane.canary+zq@example.org"}, &hits);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 1u) << at;
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].filename(), "0000000000001-000001.json.zst");
  }
}

TEST(ScanTest, FindsANeedleAcrossDecodedPieces) {
  // Decoded bytes come in pieces of up to 128 KiB: the needle sits across each of the first
  // 128 KiB marks at several offsets, so some copy straddles two pieces (the file's name does
  // not matter: the magic does).
  const std::string needle = "boundary.canary@example.net";
  std::string prefix = "[\"";
  for (size_t piece = 1; piece <= 3; ++piece) {
    for (size_t split : {size_t{1}, needle.size() / 2, needle.size() - 1}) {
      TempDir d;
      std::string text = prefix;
      for (int i = 0; text.size() < piece * 128 * 1024 - split; ++i)
        text += std::to_string(i * 2654435761u % 1000003) + " ";
      text.resize(piece * 128 * 1024 - split);
      text += needle + std::string(300 * 1024, 'z') + "\"]";
      std::string packed = *EncodeChunk(text, ChunkEncoding::kZstd);
      ASSERT_EQ(packed.find(needle), std::string::npos);  // not visible without decoding
      Put(d.path() / "chunk.bin", packed);
      auto n = ScanForNeedles(d.path(), {needle});
      ASSERT_TRUE(n.ok());
      EXPECT_EQ(*n, 1u) << piece << " " << split;
    }
  }
}

TEST(ScanTest, AZstdFileThatDoesNotDecodeIsNotClean) {
  TempDir d;
  std::string packed = *EncodeChunk(Rows(1000, -1, ""), ChunkEncoding::kZstd);
  Put(d.path() / "cut.json.zst", packed.substr(0, packed.size() / 2));
  Put(d.path() / "junk.json.zst", std::string("\x28\xb5\x2f\xfd", 4) + "garbage");
  Put(d.path() / "ok.json.zst", packed);
  std::vector<fs::path> hits;
  auto n = ScanForNeedles(d.path(), {"anything.zq@example.org"}, &hits);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  std::vector<std::string> names;
  for (const auto& h : hits) names.push_back(h.filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"cut.json.zst", "junk.json.zst"}));
}

}  // namespace
}  // namespace scrubd::sink
