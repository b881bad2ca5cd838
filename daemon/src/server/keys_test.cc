#include "server/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/fixtures.h"

namespace scrubd::server {
namespace {
using scrubd::testing::TempDir;

TEST(KeysTest, CreatedOnceWithMode0600AndReused) {
  TempDir d;
  auto path = d.path() / "keys" / "k.key";
  auto a = LoadOrCreateKey(path, 32);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto b = LoadOrCreateKey(path, 32);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(KeysTest, ReadableByOthersIsRefused) {
  TempDir d;
  auto path = d.path() / "k.key";
  ASSERT_TRUE(LoadOrCreateKey(path, 32).ok());
  ::chmod(path.c_str(), 0644);
  auto r = LoadOrCreateKey(path, 32);
  EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
  EXPECT_NE(r.status().message().find("must be mode 0600, is 0644"), std::string::npos)
      << r.status().message();
}

TEST(KeysTest, TokenIsStableAndPseudonymsAreKeyed) {
  TempDir d;
  auto t1 = LoadOrCreateToken(d.path() / "admin.token");
  auto t2 = LoadOrCreateToken(d.path() / "admin.token");
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(*t1, *t2);
  EXPECT_EQ(t1->size(), 48u);
  EXPECT_EQ(Pseudonym("k1", "session"), Pseudonym("k1", "session"));
  EXPECT_NE(Pseudonym("k1", "session"), Pseudonym("k2", "session"));
  EXPECT_EQ(Pseudonym("k1", "session").size(), 16u);
}

}  // namespace
}  // namespace scrubd::server
