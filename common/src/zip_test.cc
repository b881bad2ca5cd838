#include "scrubd/common/zip.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>

namespace scrubd::zip {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "zip-test-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string RandomBytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Shell(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *code = WEXITSTATUS(::pclose(p));
  return out;
}

bool Have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

struct Fixture {
  std::string manifest = R"({"subject":"pid_canary","sessions":[{"id":"s1"}]})";
  std::string session = "[" + std::string(200000, ' ') + "{\"type\":2}]";  // compressible
  std::string big = RandomBytes(1 << 20);                                  // 1 MiB
};

Status AddAll(ZipWriter& w, const Fixture& f) {
  if (Status s = w.Add("manifest.json", f.manifest); !s.ok()) return s;
  if (Status s = w.Add("sessions/s1.json", f.session); !s.ok()) return s;
  return w.Add("events.bin", f.big, Method::kStored);
}

TEST(ZipTest, RoundTripThroughOwnReader) {
  Fixture f;
  ZipWriter w(ZipOptions{1764633600});  // 2025-12-02
  ASSERT_TRUE(AddAll(w, f).ok());
  auto a = w.Finish();
  ASSERT_TRUE(a.ok());
  EXPECT_LT(a->size(), f.big.size() + 20000);  // the session was deflated
  auto m = ReadZip(a.value());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].name, "manifest.json");
  EXPECT_EQ((*m)[0].data, f.manifest);
  EXPECT_EQ((*m)[1].method, Method::kDeflate);
  EXPECT_EQ((*m)[1].data, f.session);
  EXPECT_EQ((*m)[2].data, f.big);
  EXPECT_FALSE(w.Finish().ok());
  EXPECT_FALSE(w.Add("late.json", "x").ok());
}

// Python's zipfile and Info-ZIP read the archive: names and bytes equal, CRCs good.
TEST(ZipTest, PythonZipfileAndUnzipReadIt) {
  if (!Have("python3")) GTEST_SKIP() << "python3 not installed";
  Fixture f;
  TempDir tmp;
  const fs::path zip = tmp.path() / "bundle.zip";
  ZipWriter w;
  ASSERT_TRUE(AddAll(w, f).ok());
  ASSERT_TRUE(w.WriteTo(Env::Default(), zip).ok());
  struct stat st {};
  ASSERT_EQ(::stat(zip.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const fs::path out = tmp.path() / "x";
  fs::create_directories(out);
  int code = -1;
  std::string listing = Shell(
      "python3 -c 'import sys,zipfile\n"
      "z=zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "for i in z.infolist(): print(i.filename, i.file_size)\n"
      "z.extractall(sys.argv[2])' " +
          zip.string() + " " + out.string(),
      &code);
  ASSERT_EQ(code, 0) << listing;
  EXPECT_EQ(listing, "manifest.json " + std::to_string(f.manifest.size()) + "\nsessions/s1.json " +
                         std::to_string(f.session.size()) + "\nevents.bin 1048576\n");
  auto read = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(out / "manifest.json"), f.manifest);
  EXPECT_EQ(read(out / "sessions" / "s1.json"), f.session);
  EXPECT_EQ(read(out / "events.bin"), f.big);
  if (Have("unzip")) {
    std::string t = Shell("unzip -t " + zip.string() + " 2>&1", &code);
    EXPECT_EQ(code, 0) << t;
    EXPECT_NE(t.find("No errors detected"), std::string::npos) << t;
  }
}

TEST(ZipTest, UnsafeNamesAreRefused) {
  ZipWriter w;
  for (const char* bad : {"", "/etc/passwd", "../canary", "a/../canary", "a//b", "./a", "a\\b",
                          "caf\xc3\xa9.json", "tab\tname", "sp ace", "trailing/"}) {
    EXPECT_EQ(w.Add(bad, "x").code(), Code::kInvalidInput) << bad;
  }
  EXPECT_EQ(w.Add(std::string(256, 'a'), "x").code(), Code::kInvalidInput);
  EXPECT_TRUE(w.Add(std::string(255, 'a'), "x").ok());
  EXPECT_TRUE(w.Add("dup.json", "x").ok());
  EXPECT_EQ(w.Add("dup.json", "y").code(), Code::kInvalidInput);
  EXPECT_EQ(w.members(), 2u);
}

TEST(ZipTest, SizeCapIsEnforced) {
  ZipWriter w(ZipOptions{0, 4096});  // the 4 GiB cap, scaled down
  EXPECT_TRUE(w.Add("a.bin", RandomBytes(2000), Method::kStored).ok());
  EXPECT_EQ(w.Add("b.bin", RandomBytes(2000), Method::kStored).code(), Code::kTooLarge);
  EXPECT_EQ(w.Add("c.bin", RandomBytes(5000)).code(), Code::kTooLarge);
  auto a = w.Finish();
  ASSERT_TRUE(a.ok());
  EXPECT_LE(a->size(), 4096u);
  auto m = ReadZip(a.value());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 1u);
}

TEST(ZipTest, ReaderRejectsDamage) {
  Fixture f;
  ZipWriter w;
  ASSERT_TRUE(AddAll(w, f).ok());
  const std::string a = w.Finish().value();
  EXPECT_FALSE(ReadZip(a.substr(0, a.size() - 1)).ok());
  EXPECT_FALSE(ReadZip("").ok());
  // A flipped bit anywhere in a data region fails the CRC or the inflate.
  for (size_t at : {size_t{40}, a.size() / 2, a.size() - 500}) {
    std::string bad = a;
    bad[at] ^= 0x10;
    EXPECT_FALSE(ReadZip(bad).ok()) << at;
  }
}

}  // namespace
}  // namespace scrubd::zip
