#include "scrub/css.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "dom/css.h"
#include "scrub/scrub.h"

namespace scrubd::scrub {
namespace {
namespace json = boost::json;

constexpr char kCanary[] = "canary.zq@example.com";

std::shared_ptr<const rules::Scanner> MakeScanner() {
  auto s = rules::Scanner::Create({});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// The sheet with every string, url and comment emptied: what must not change.
std::string Skeleton(std::string css) {
  dom::RewriteCssParts(css, [](std::string& v, dom::CssPart) {
    v.clear();
    return true;
  });
  return css;
}

constexpr char kSheet[] =
    "@import \"https://cdn.test/a.css?u=canary.zq@example.com\";\n"
    "input[name=password], [data-email], .password-field { border: 1px solid red }\n"
    ".user::after { content: \"canary.zq@example.com\" }\n"
    ".avatar { background: url(https://x.test/p?email=canary.zq@example.com&s=2) }\n"
    ".q { background: url('https://x.test/q?email=canary.zq%40example.com') }\n"
    "/* owner canary.zq@example.com */ .esc::after { content: 'canary\\2e zq\\40 example.com' }";

TEST(ScrubCssTest, SelectorsSurviveStringsAndUrlsDoNot) {
  auto scanner = MakeScanner();
  std::string css = kSheet;
  rules::RedactionCounts counts;
  ASSERT_TRUE(ScrubCss(css, *scanner, &counts));
  EXPECT_EQ(css.find("canary"), std::string::npos) << css;
  EXPECT_NE(css.find("input[name=password], [data-email], .password-field { border: 1px solid "
                     "red }\n"),
            std::string::npos);
  EXPECT_NE(css.find("url(https://x.test/p?email="), std::string::npos) << css;
  EXPECT_EQ(Skeleton(css), Skeleton(kSheet));  // still tokenizes the same way
  EXPECT_GE(counts.by_rule["email"], 5u) << css;
}

// Through the string pass: only <style>/<link> `_cssText`, isStyle text and the rule text of
// CSS events get the CSS pass; their other fields, and `_cssText` elsewhere, are ordinary.
TEST(ScrubCssTest, OnlyCssFieldsAreSparedAndOnlyTheirSyntax) {
  auto scanner = MakeScanner();
  json::value v = json::parse(R"J([
    {"type":2,"data":{"node":{"type":2,"tagName":"STYLE","id":5,
      "attributes":{"_cssText":"input[name=password]{content:'canary.zq@example.com'}",
                    "title":"canary.zq@example.com"},
      "childNodes":[{"type":3,"id":6,"isStyle":true,
        "textContent":".password-field{background:url(/a?email=canary.zq@example.com)}"}]}}},
    {"type":2,"data":{"node":{"type":2,"tagName":"div","id":7,
      "attributes":{"_cssText":"[data-email] canary.zq@example.com"}}}},
    {"type":3,"data":{"source":8,"id":5,"note":"canary.zq@example.com",
      "adds":[{"rule":"[data-email]::after{content:\"canary.zq@example.com\"}","index":0}]}},
    {"type":3,"data":{"source":13,"id":5,"styleId":"canary.zq@example.com","index":[0],
      "set":{"property":"background","value":"url(https://x.test/?e=canary.zq@example.com)"}}},
    {"type":3,"data":{"source":15,"id":5,"styleIds":[1],
      "styles":[{"styleId":1,"rules":[
        {"rule":".password-field{content:'canary.zq@example.com'}"}]}]}}
  ])J");
  rules::RedactionCounts counts;
  for (json::value& e : v.as_array()) ASSERT_TRUE(ScrubStrings(e, "", *scanner, &counts));
  std::string out = json::serialize(v);
  EXPECT_EQ(out.find("canary"), std::string::npos) << out;
  for (const char* kept : {"input[name=password]{content:'", ".password-field{background:url(",
                           "[data-email]::after{content:\\\"", ".password-field{content:'"})
    EXPECT_NE(out.find(kept), std::string::npos) << kept << " in " << out;
  const json::array& a = v.as_array();
  EXPECT_EQ(a[0].at("data").at("node").at("tagName").as_string(), "STYLE");
  EXPECT_TRUE(a[2].at("data").at("adds").at(0).at("rule").is_string());
  EXPECT_TRUE(a[3].at("data").at("set").at("value").is_string());
  EXPECT_EQ(a[3].at("data").at("set").at("property").as_string(), "background");
}

}  // namespace
}  // namespace scrubd::scrub
