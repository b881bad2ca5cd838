// WriteFileDurably: the temp file is created exclusively, so a name planted beforehand (a
// symlink to a victim file, a leftover of a crashed run with this pid) is skipped, never
// written or chmod-ed through, and the result is a fresh file with the requested mode.
#include "scrubd/common/env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace scrubd {
namespace {
namespace fs = std::filesystem;

// Records the path of every file opened for writing.
class RecordingEnv : public EnvWrapper {
 public:
  RecordingEnv() : EnvWrapper(Env::Default()) {}
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const fs::path& p,
                                                        const OpenOptions& o) override {
    opened.push_back(p);
    return EnvWrapper::NewWritableFile(p, o);
  }
  std::vector<fs::path> opened;
};

// The temp name after `used`, a name WriteFileDurably opened: "<out>.tmp<pid>.<n + k>".
fs::path TempNameAfter(const fs::path& out, const fs::path& used, int k) {
  std::string s = used.string();
  size_t dot = s.rfind('.');
  uint64_t n = std::stoull(s.substr(dot + 1));
  std::string prefix = fs::path(s.substr(0, dot)).filename().string();  // out.tmp<pid>
  std::string pid = prefix.substr(out.filename().string().size() + 4);
  return out.parent_path() / (out.filename().string() + ".tmp" + pid + "." + std::to_string(n + k));
}

unsigned ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(WriteFileDurablyTest, PlantedTempNamesAreSkippedNotFollowed) {
  std::random_device rd;
  fs::path dir = fs::temp_directory_path() / ("scrubd-env-test-" + std::to_string(rd()));
  fs::create_directories(dir);
  fs::path victim = dir / "victim.txt", out = dir / "out.html";
  ASSERT_TRUE(WriteFileDurably(Env::Default(), victim, "victim", 0644).ok());
  RecordingEnv env;
  ASSERT_TRUE(WriteFileDurably(&env, out, "first", 0600).ok());  // learn the name counter
  ASSERT_EQ(env.opened.size(), 1u);
  // The next three names this process will try, each a symlink to the victim.
  std::vector<fs::path> planted;
  for (int k = 1; k <= 3; ++k) {
    planted.push_back(TempNameAfter(out, env.opened[0], k));
    fs::create_symlink(victim, planted.back());
  }
  env.opened.clear();
  ASSERT_TRUE(WriteFileDurably(&env, out, "report", 0600).ok());
  // It met every planted name, went past them, and wrote through none.
  ASSERT_EQ(env.opened.size(), 4u);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(env.opened[k], planted[k]);
  EXPECT_EQ(Env::Default()->ReadFile(victim).value(), "victim");
  EXPECT_EQ(ModeOf(victim), 0644u);
  EXPECT_EQ(Env::Default()->ReadFile(out).value(), "report");
  EXPECT_FALSE(fs::is_symlink(out));
  EXPECT_EQ(ModeOf(out), 0600u);
  for (const fs::path& p : planted) EXPECT_TRUE(fs::is_symlink(p)) << p;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace scrubd
