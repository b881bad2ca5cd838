#include "consent/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "support/fixtures.h"

namespace scrubd::consent {
namespace {

TEST(ConsentLedgerTest, AppendsReadsBackAndRefusesRewrites) {
  scrubd::testing::TempDir dir;
  const auto path = LedgerPath(dir.path());
  {
    auto l = Ledger::Open(path, false);
    ASSERT_TRUE(l.ok()) << l.status().message();
    LedgerEntry a{0,
                  1700000000000,
                  "phc_a",
                  "s1",
                  "pid_x",
                  ConsentState::kGranted,
                  "cookie",
                  "tcf",
                  {"1"},
                  {755},
                  std::string(64, 'a'),
                  "default",
                  "sha",
                  1};
    ASSERT_TRUE((*l)->Append(&a).ok());
    LedgerEntry b = a;
    b.state = ConsentState::kDenied;
    b.erasure_request = "req";
    ASSERT_TRUE((*l)->Append(&b).ok());
    EXPECT_GT(b.seq, a.seq);
    auto latest = (*l)->LatestForSession("phc_a", "s1");
    ASSERT_TRUE(latest.ok() && *latest);
    EXPECT_EQ((*latest)->state, ConsentState::kDenied);
    EXPECT_EQ((*latest)->erasure_request, "req");
    EXPECT_EQ((*latest)->vendors, std::vector<int>{755});
    auto subj = (*l)->ForSubjects({{"phc_a", "pid_x"}, {"phc_b", "pid_x"}});
    ASSERT_TRUE(subj.ok());
    EXPECT_EQ(subj->size(), 2u);
    EXPECT_FALSE((*l)->LatestForSession("phc_a", "s2").value().has_value());
    EXPECT_EQ((*l)->Tokens().value(), std::vector<std::string>{"phc_a"});
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(
      sqlite3_exec(db, "UPDATE consent_ledger SET state='granted'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM consent_ledger", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto ro = Ledger::Open(path, true);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->ForSession("s1").value().size(), 2u);
  EXPECT_FALSE(Ledger::Open(dir.path() / "none" / "l.sqlite", true).ok());
}

}  // namespace
}  // namespace scrubd::consent
