#include "dom/css.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace scrubd::dom {
namespace {

// The parts as the tokenizer sees them, and the sheet with every part emptied (its syntax).
struct Parsed {
  std::vector<std::string> parts;
  std::string skeleton;
};
Parsed Parse(std::string css) {
  Parsed p;
  RewriteCssParts(css, [&](std::string& v, CssPart) {
    p.parts.push_back(v);
    v.clear();
    return true;
  });
  p.skeleton = css;
  return p;
}

TEST(CssTokenizerTest, FindsStringsUrlsAndCommentsOnly) {
  Parsed p = Parse(
      "input[name=password], [data-email], .password-field{color:red}"
      "a::after{content:\"x\\40 y\"} b{background:url( img/a.png )} /* note */"
      "c{background:url('q.png')} .md\\:flex{} d{content:'it\\'s'}");
  EXPECT_EQ(p.parts, (std::vector<std::string>{"x@y", "img/a.png", " note ", "q.png", "it's"}));
  EXPECT_EQ(p.skeleton,
            "input[name=password], [data-email], .password-field{color:red}"
            "a::after{content:\"\"} b{background:url(  )} /**/"
            "c{background:url('')} .md\\:flex{} d{content:''}");
}

TEST(CssTokenizerTest, UnchangedPartsKeepTheirBytes) {
  std::string css = "a{content:\"\\41 b\"}/*c*/e{background:URL(x\\)y)}";
  std::string copy = css;
  EXPECT_FALSE(RewriteCssParts(css, [](std::string&, CssPart) { return false; }));
  EXPECT_EQ(css, copy);
}

TEST(CssTokenizerTest, RewritesNeverEndAStringOrUrlEarly) {
  std::string css = "a{content:\"one\"} b{background:url(two)} /*three*/ c{content:'four'}";
  Parsed before = Parse(css);
  ASSERT_TRUE(RewriteCssParts(css, [](std::string& v, CssPart) {
    v = "q\"'\\\n)( */ end";  // every character that could close a part
    return true;
  }));
  Parsed after = Parse(css);
  EXPECT_EQ(after.skeleton, before.skeleton) << css;
  ASSERT_EQ(after.parts.size(), 4u);
  EXPECT_EQ(after.parts[0], "q\"'\\\n)( */ end");
  EXPECT_EQ(after.parts[1], "q\"'\\\n)( */ end");
  EXPECT_EQ(after.parts[2], "q\"'\\\n)( *  end");  // a comment cannot hold "*/"
}

TEST(CssTokenizerTest, BadStringsAndUrlsAreStillVisited) {
  Parsed p = Parse("a{content:\"open\nb{} c{background:url(x y)} d{content:\"eof");
  EXPECT_EQ(p.parts, (std::vector<std::string>{"open", "x y", "eof"}));
}

TEST(CssTokenizerTest, MaskKeepsSelectorsAndLength) {
  std::string css = ".ph-mask input[name=password]{content:\"Jane Doe\"}";
  ASSERT_TRUE(MaskCssParts(css));
  EXPECT_EQ(css, ".ph-mask input[name=password]{content:\"**** ***\"}");
}

}  // namespace
}  // namespace scrubd::dom
