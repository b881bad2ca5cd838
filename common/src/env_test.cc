// WriteFileDurably: the temp file is created exclusively, so a name planted beforehand (a
// symlink to a victim file, a leftover of a crashed run with this pid) is skipped, never
// written or chmod-ed through, and the result is a fresh file with the requested mode.
#include "scrubd/common/env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace scrubd {
namespace {
namespace fs = std::filesystem;

TEST(WriteFileDurablyTest, PlantedTempNamesAreSkippedNotFollowed) {
  std::random_device rd;
  fs::path dir = fs::temp_directory_path() / ("scrubd-env-test-" + std::to_string(rd()));
  fs::create_directories(dir);
  fs::path victim = dir / "victim.txt", out = dir / "out.html";
  std::ofstream(victim) << "victim";
  ::chmod(victim.c_str(), 0644);
  // The first names this process would use (the counter starts at 0 and the retry budget is
  // larger than this), each a symlink to the victim.
  for (int i = 0; i < 40; ++i)
    fs::create_symlink(
        victim, dir / ("out.html.tmp" + std::to_string(::getpid()) + "." + std::to_string(i)));
  ASSERT_TRUE(WriteFileDurably(Env::Default(), out, "report", 0600).ok());
  std::ifstream v(victim), o(out);
  std::string vs((std::istreambuf_iterator<char>(v)), {}),
      os((std::istreambuf_iterator<char>(o)), {});
  EXPECT_EQ(vs, "victim");
  EXPECT_EQ(os, "report");
  EXPECT_FALSE(fs::is_symlink(out));
  struct stat st {};
  ASSERT_EQ(::stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace scrubd
