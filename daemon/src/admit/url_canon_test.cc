#include "admit/url_canon.h"

#include <gtest/gtest.h>

#include "admit/page_gate.h"
#include "scrubd/policies/policy.h"

namespace scrubd::admit {
namespace {

TEST(CanonicalUrlTest, DecodesFoldsAndResolves) {
  EXPECT_EQ(CanonicalUrl("https://Shop.TEST/Account%2Fsettings"),
            "https://shop.test/account/settings");
  EXPECT_EQ(CanonicalUrl("https://shop.test/%2561ccount"), "https://shop.test/account");
  EXPECT_EQ(CanonicalUrl("https://shop.test/a/b/../../account/./x"), "https://shop.test/account/x");
  EXPECT_EQ(CanonicalUrl("https://shop.test//account///x/"), "https://shop.test/account/x/");
  EXPECT_EQ(CanonicalUrl("https://shop.test\\account\\x"), "https://shop.test/account/x");
  EXPECT_EQ(CanonicalUrl(" https://shop.test/acc\tou\nnt "), "https://shop.test/account");
  EXPECT_EQ(CanonicalUrl("/A/%2E%2E/Account?Q=%41#F"), "/account?q=a#f");
  EXPECT_EQ(CanonicalUrl("//shop.test/../account"), "//shop.test/account");
  EXPECT_EQ(CanonicalUrl("/../../account/.."), "/");
  EXPECT_EQ(CanonicalUrl("not a url %zz"), "not a url %zz");
  EXPECT_EQ(CanonicalUrl(""), "");
}

TEST(CanonicalUrlTest, BlockedUnderEveryEncodingAllowedStaysAllowed) {
  auto p =
      policies::ParsePolicy("p.yaml", "version: 1\nblocking:\n  urls: ['/account(/|$)']\n", {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const policies::BlockingPolicy& b = (*p)->blocking;
  for (const char* url :
       {"https://s.test/account", "https://s.test/Account%2Fsettings", "https://s.test/ACCOUNT",
        "https://s.test/%41%63count", "https://s.test/a/../account", "https://s.test//account",
        "https://s.test/a/%2E%2E/account", "https://s.test%2Faccount", "/ACCOUNT/",
        "https://s.test\\account"})
    EXPECT_TRUE(UrlBlocked(b, url)) << url;
  for (const char* url : {"https://s.test/", "https://s.test/accounts", "https://s.test/a/account2",
                          "https://s.test/?next=%2Faccountx"})
    EXPECT_FALSE(UrlBlocked(b, url)) << url;
}

}  // namespace
}  // namespace scrubd::admit
