// The canonical view (canonical.h) and detection through it: every hidden form of an address is
// found, its original bytes are redacted, the output stays valid UTF-8 and the URL around it
// survives; plain strings and look-alikes are untouched.
#include "canonical.h"

#include <gtest/gtest.h>
#include <unicode/utf8.h>

#include <iterator>
#include <random>

#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

std::shared_ptr<const Scanner> Make() {
  ScannerConfig cfg;
  cfg.hmac_key = "k";
  auto s = Scanner::Create(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s.value() : nullptr;
}

bool ValidUtf8(const std::string& s) {
  const int32_t n = static_cast<int32_t>(s.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(s.data(), i, n, c);
    if (c < 0) return false;
  }
  return true;
}

struct Planted {
  std::string text;    // the string with the hidden address
  std::string secret;  // bytes of the address that must be gone ("jane", the local part)
  std::string prefix;  // must survive at the start
  std::string suffix;  // must survive at the end
};

void ExpectRedacted(const Planted& p, const char* want_rule = "email") {
  auto s = Make();
  ASSERT_TRUE(s);
  std::string t = p.text;
  RedactionCounts c;
  EXPECT_TRUE(s->Redact(t, "href", &c)) << p.text;
  EXPECT_EQ(t.find(p.secret), std::string::npos) << p.text << " -> " << t;
  EXPECT_TRUE(ValidUtf8(t)) << p.text << " -> " << t;
  EXPECT_EQ(t.rfind(p.prefix, 0), 0u) << p.text << " -> " << t;
  EXPECT_GE(t.size(), p.suffix.size());
  EXPECT_EQ(t.compare(t.size() - p.suffix.size(), p.suffix.size(), p.suffix), 0)
      << p.text << " -> " << t;
  EXPECT_GE(c.by_rule[want_rule], 1u) << p.text;
}

TEST(CanonicalView, MapsEveryViewByteBackToItsOriginalUnit) {
  internal::CanonicalView v;
  internal::BuildCanonicalView(
      "a%40b&#46;c\xEF\xBC\xA0"
      "d\xE2\x80\x8B"
      "e",
      false, &v);
  EXPECT_EQ(v.text, "a@b.c@de");
  ASSERT_EQ(v.begin.size(), v.text.size());
  EXPECT_EQ(v.begin[1], 1u);  // '@' from "%40"
  EXPECT_EQ(v.end[1], 4u);
  EXPECT_EQ(v.begin[3], 5u);  // '.' from "&#46;"
  EXPECT_EQ(v.end[3], 10u);
  EXPECT_EQ(v.begin[5], 11u);  // '@' from fullwidth U+FF20 (3 bytes)
  EXPECT_EQ(v.end[5], 14u);
  EXPECT_EQ(v.begin[7], 18u);  // 'e' after the removed U+200B
  EXPECT_TRUE(v.decoded);
}

TEST(CanonicalView, DecodesNfkcCompatibilityForms) {
  // Fullwidth, mathematical bold, circled, ligature, halfwidth katakana composition, nbsp.
  EXPECT_EQ(internal::CanonicalText("\xEF\xBD\x8A\xEF\xBD\x81"), "ja");            // ｊａ
  EXPECT_EQ(internal::CanonicalText("\xF0\x9D\x90\xA3"), "j");                     // 𝐣
  EXPECT_EQ(internal::CanonicalText("\xE2\x93\x90"), "a");                         // ⓐ
  EXPECT_EQ(internal::CanonicalText("\xEF\xAC\x81"), "fi");                        // ﬁ
  EXPECT_EQ(internal::CanonicalText("\xEF\xBE\x8A\xEF\xBE\x9F"), "\xE3\x83\x91");  // ﾊﾟ -> パ
  EXPECT_EQ(internal::CanonicalText("a\xC2\xA0"
                                    "b"),
            "a b");
  EXPECT_EQ(internal::CanonicalText("%2540"), "@");  // double encoding
  EXPECT_EQ(internal::CanonicalText("&amp;#64;"), "@");
  EXPECT_EQ(internal::CanonicalText("&commat;&period;&#x40;&#64"), "@.@@");
}

TEST(CanonicalView, KeepsIllFormedBytesAndUnknownEntities) {
  EXPECT_EQ(internal::CanonicalText("a\xFF"
                                    "b&unknown;c%zz%4"),
            "a\xFF"
            "b&unknown;c%zz%4");
  internal::CanonicalView v;
  internal::BuildCanonicalView("M\xC3\xBCller", true, &v);  // NFKC leaves Müller as it is
  EXPECT_FALSE(v.decoded);
  EXPECT_FALSE(v.folded);  // no '@': folding could not matter
  internal::BuildCanonicalView("M\xC3\xBCller@x.de", true, &v);
  EXPECT_FALSE(v.decoded);
  EXPECT_TRUE(v.folded);
  EXPECT_EQ(v.text, "Maller@x.de");
  EXPECT_EQ(v.begin[1], 1u);  // 'a' from the two bytes of U+00FC
  EXPECT_EQ(v.end[1], 3u);
}

TEST(CanonicalRedact, PercentEncodedEmailInAnotherQueryKey) {
  ExpectRedacted({"https://crm.example.com/search?q=jane.doe%40example.com&page=2", "jane",
                  "https://crm.example.com/search?q=", "&page=2"});
  ExpectRedacted({"https://x.example/cb?next=https%3A%2F%2Fy.example%2F%3Fu%3Djane%2540ex.org",
                  "jane", "https://x.example/cb?next=", ""});
}

TEST(CanonicalRedact, PercentEncodedEmailInPathSegmentAndFragment) {
  ExpectRedacted({"https://app.example.com/users/jane.doe%40example.com/edit", "jane",
                  "https://app.example.com/users/", "/edit"});
  ExpectRedacted({"https://app.example.com/#/invite/jane%40example.org?x=1", "jane",
                  "https://app.example.com/#/invite/", "?x=1"});
}

TEST(CanonicalRedact, PercentEncodedResultStaysAUrl) {
  auto s = Make();
  std::string t = "https://a.example/u/jane%40example.com/edit";
  EXPECT_TRUE(s->Redact(t, "href", nullptr));
  EXPECT_EQ(t, "https://a.example/u/%5BEMAIL%5D/edit");
}

TEST(CanonicalRedact, MailtoAndWholeEncodedString) {
  ExpectRedacted(
      {"mailto:jane%2Edoe%40example%2Ecom?subject=Hi", "jane", "mailto:", "?subject=Hi"});
  ExpectRedacted({"jane%40example.com", "jane", "", ""});
}

TEST(CanonicalRedact, HtmlEntities) {
  ExpectRedacted({"mailto:jane&#64;example.com", "jane", "mailto:", ""});
  ExpectRedacted({"Contact jane&#x40;example.com today", "jane", "Contact ", " today"});
  ExpectRedacted({"jane&commat;example&period;com", "jane", "", ""});
  ExpectRedacted({"/?a=1&amp;u=jane%40example.com&amp;b=2", "jane", "/?a=1&amp;u=", "&amp;b=2"});
}

TEST(CanonicalRedact, FullwidthAndOtherCompatibilityForms) {
  ExpectRedacted(
      {"mail: jane\xEF\xBC\xA0"
       "example\xEF\xBC\x8E"
       "com!",
       "jane", "mail: ", "!"});
  // ｊａｎｅ@example.com: the fullwidth local part is the secret.
  ExpectRedacted({"\xEF\xBD\x8A\xEF\xBD\x81\xEF\xBD\x8E\xEF\xBD\x85@example.com",
                  "\xEF\xBD\x8A\xEF\xBD\x81", "", ""});
  ExpectRedacted(
      {"x \xF0\x9D\x90\xA3"
       "ane@example.com y",
       "ane@", "x ", " y"});  // 𝐣ane
  ExpectRedacted(
      {"jane\xEF\xB9\xAB"
       "example.com",
       "jane", "", ""});  // small commercial at
}

TEST(CanonicalRedact, EachInvisibleCharacterInsideAnAddress) {
  const char* invisible[] = {"\xE2\x80\x8B", "\xE2\x80\x8C", "\xE2\x80\x8D", "\xE2\x81\xA0",
                             "\xEF\xBB\xBF", "\xC2\xAD",     "\xE2\x81\xA3", "\xCD\x8F"};
  for (const char* z : invisible) {
    ExpectRedacted({std::string("Thanks (ja") + z + "ne@exa" + z + "mple.com) ok", "ne@exa",
                    "Thanks (", ") ok"});
    ExpectRedacted({std::string("jane") + z + "@example.com", "jane", "", ""});
  }
}

TEST(CanonicalRedact, InternationalisedDomainsAndLocalParts) {
  ExpectRedacted({"write to jane@t\xC3\xABst.org please", "jane", "write to ", " please"});
  ExpectRedacted({"jane@\xE4\xBE\x8B\xE3\x81\x88.jp", "jane", "", ""});  // jane@例え.jp
  ExpectRedacted({"j\xC3\xBCrgen.m\xC3\xBCller@beispiel.de", "rgen", "", ""});
  ExpectRedacted({"jane@xn--tst-jma.org", "jane", "", ""});
  ExpectRedacted(
      {"\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD@\xD0\xBF\xD1\x80\xD0\xB8\xD0\xBC\xD0\xB5"
       "\xD1\x80.\xD1\x80\xD1\x84",
       "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD", "", ""});  // иван@пример.рф
}

TEST(CanonicalRedact, HashJoinsTheCanonicalForm) {
  ScannerConfig cfg;
  cfg.hmac_key = "k";
  cfg.overrides["email"].has_method = true;
  cfg.overrides["email"].method = Method::kHash;
  auto s = Scanner::Create(cfg);
  ASSERT_TRUE(s.ok());
  std::string plain = "jane@example.com",
              wide =
                  "jane\xEF\xBC\xA0"
                  "example.com",
              ent = "jane&#64;example.com";
  (*s)->Redact(plain, "", nullptr);
  (*s)->Redact(wide, "", nullptr);
  (*s)->Redact(ent, "", nullptr);
  EXPECT_EQ(plain.rfind("email_", 0), 0u);
  EXPECT_EQ(wide, plain);
  EXPECT_EQ(ent, plain);
}

// JS / JSON (\u0040, \u{40}, \x40) and CSS (\40 , \000040, \@) escapes: the whole escape,
// including a CSS escape's trailing space, is inside the redacted span, so no byte of the
// address or of its escapes survives.
TEST(CanonicalRedact, BackslashEscapes) {
  ExpectRedacted({"canary.zq\\u0040example.com", "canary", "", ""});
  ExpectRedacted({"{\"note\":\"mail canary.zq\\u0040example\\u002ecom now\"}", "canary",
                  "{\"note\":\"mail ", " now\"}"});
  ExpectRedacted({"canary.zq\\u{40}example.com", "canary", "", ""});
  ExpectRedacted({"canary.zq\\x40example.com!", "canary", "", "!"});
  ExpectRedacted({"content: 'canary.zq\\40 example.com'", "canary", "content: '", "'"});
  ExpectRedacted({"canary.zq\\000040example.com", "canary", "", ""});
  ExpectRedacted({"x canary\\@example.com;", "canary", "x ", ";"});
  ExpectRedacted({"\\u0063anary.zq@example.com", "anary", "", ""});
  ExpectRedacted({"canary.zq\\\\u0040example.com", "canary", "", ""});  // escaped twice
  ExpectRedacted({"canary.zq%5Cu0040example.com", "canary", "", ""});   // inside a %-escape
  auto s = Make();
  for (std::string t : {std::string("x canary.zq\\u0040example.com y"),
                        std::string("x canary.zq\\40 example.com y"),
                        std::string("x canary.zq\\000040 example.com y")}) {
    const std::string before = t;
    ASSERT_TRUE(s->Redact(t, "", nullptr));
    EXPECT_EQ(t, "x [EMAIL] y") << before;
  }
}

TEST(CanonicalView, DecodesBackslashEscapesWithTheirWholeRange) {
  internal::CanonicalView v;
  internal::BuildCanonicalView("a\\u0040b\\40 c\\x2Ed\\@", false, &v);
  ASSERT_TRUE(v.decoded);
  EXPECT_EQ(v.text, "a@b@c.d@");
  const uint32_t begin[] = {0, 1, 7, 8, 12, 13, 17, 18};
  const uint32_t end[] = {1, 7, 8, 12, 13, 17, 18, 20};
  ASSERT_EQ(v.begin.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(v.begin[i], begin[i]) << i;
    EXPECT_EQ(v.end[i], end[i]) << i;
  }
  internal::BuildCanonicalView("\\uD83D\\uDE00 \\uD800x", false, &v);
  EXPECT_EQ(v.text, "\xF0\x9F\x98\x80 \xEF\xBF\xBDx");
}

TEST(CanonicalRedact, BackslashLookAlikesStayUntouched) {
  auto s = Make();
  const std::string same[] = {
      "C:\\users\\jane\\AppData\\Local\\Temp\\report.pdf",
      "C:\\Users\\Public\\Documents\\2024\\12345.docx",
      "\\\\fileserver\\share\\users\\x.txt",
      "^[\\w.+-]+\\@[\\w-]+\\.[\\w.]+$",
      "/\\d{3}-\\d{2}-\\d{4}/g",
      ".icon-mail:before{content:\"\\f101\"}",
      ".fa-at:before{content:\"\\f1fa\"} .x{content:\"\\e900 \"}",
      "line one\\nline two\\tend",
      "say \\\"hi\\\" \\u00e9t\\u00e9",
      "\\u0040posthog/js",
  };
  for (std::string t : same) {
    const std::string before = t;
    EXPECT_FALSE(s->Redact(t, "", nullptr)) << before << " -> " << t;
    EXPECT_EQ(t, before);
  }
}

TEST(CanonicalRedact, LookAlikesStayUntouched) {
  auto s = Make();
  const std::string same[] = {
      "width: calc(100% - 415px); height: 50%",
      "https://example.com/?a=1&amp;b=2&amp;sort=desc",
      "Tom &amp; Jerry &lt;3 &copy;",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 family",  // ZWJ
                                                                                          // emoji
      "Gr\xC3\xBC\xC3\x9F"
      "e aus M\xC3\xBCnchen, \xE6\x9D\xB1\xE4\xBA\xAC",
      "icon\xEF\xBC\xA0"
      "2x.png",
      "progress 100%25 done",
      "@media (max-width: 600px){.x{content:'\xE2\x80\x8B'}}",
      "M\xC3\xBCller@localhost",
  };
  for (std::string t : same) {
    const std::string before = t;
    EXPECT_FALSE(s->Redact(t, "", nullptr)) << before << " -> " << t;
    EXPECT_EQ(t, before);
  }
}

// Random mixes of escapes, entities, compatibility forms, invisibles, marks, ill-formed bytes
// and planted addresses: no crash, well-formed input stays well-formed, and no planted local
// part survives.
TEST(CanonicalRedact, RandomMixesStayWellFormedAndLoseTheirAddresses) {
  auto s = Make();
  ASSERT_TRUE(s);
  const std::string frag[] = {"%40",
                              "%2",
                              "%",
                              "&#64;",
                              "&#x40",
                              "&amp;",
                              "&",
                              "&commat;",
                              "\xEF\xBC\xA0",
                              "\xE2\x80\x8B",
                              "\xC2\xAD",
                              "\xCC\x81",
                              "e",
                              "\xC3\xA9",
                              "\xE4\xBE\x8B",
                              "\xEF\xAC\x81",
                              ".",
                              " ",
                              "/",
                              "?q=",
                              "://",
                              "1",
                              "\xF0\x9F\x91\xA8",
                              "\xE2\x80\x8D",
                              "\xFF",
                              "\xC3"};
  std::mt19937 rng(9);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string t, planted;
    const int parts = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < parts; ++k) t += frag[rng() % std::size(frag)];
    const bool plant = rng() % 2;
    if (plant) {
      planted = "qz" + std::to_string(iter) + "x";
      const char* at[] = {"%40", "&#64;", "\xEF\xBC\xA0", "@", "\xE2\x80\x8B@"};
      t += " " + planted + at[rng() % std::size(at)] + "example.com ";
      for (int k = 0; k < 3; ++k) t += frag[rng() % std::size(frag)];
    }
    const bool valid = ValidUtf8(t);
    std::string out = t;
    s->Redact(out, "", nullptr);
    if (valid) {
      EXPECT_TRUE(ValidUtf8(out)) << t << " -> " << out;
    }
    if (plant) {
      EXPECT_EQ(out.find(planted), std::string::npos) << t << " -> " << out;
    }
  }
}

TEST(CanonicalRedact, LargeStringThenSmallOne) {
  auto s = Make();
  ASSERT_TRUE(s);
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "a%20b&amp;\xC3\xA9 ";
  big += "jane%40example.com";
  EXPECT_TRUE(s->Redact(big, "", nullptr));
  EXPECT_EQ(big.find("jane"), std::string::npos);
  EXPECT_TRUE(ValidUtf8(big));
  std::string small = "to=jane%40example.com";
  EXPECT_TRUE(s->Redact(small, "", nullptr));
  EXPECT_EQ(small, "to=%5BEMAIL%5D");
}

TEST(Ipv4UrlHost, HostOfAUrlIsLeftAValueIsTruncated) {
  auto s = Make();
  const std::string hosts[] = {
      "http://127.0.0.1/",         "https://10.1.2.3:8080/x",    "//192.168.0.1/",
      "ws://10.0.0.7:9000/socket", "http://[2001:db8::1]:8080/", "http%3A%2F%2F10.1.2.3%2F"};
  for (std::string t : hosts) {
    const std::string before = t;
    s->Redact(t, "href", nullptr);
    EXPECT_EQ(t, before);
  }
  std::string ip = "203.0.113.7", q = "ip: 203.0.113.7",
              xff = "X-Forwarded-For: 198.51.100.23, 10.1.2.3",
              query = "https://a.example/?ip=203.0.113.7&x=1";
  s->Redact(ip, "$ip", nullptr);
  s->Redact(q, "", nullptr);
  s->Redact(xff, "", nullptr);
  s->Redact(query, "", nullptr);
  EXPECT_EQ(ip, "203.0.113.0");
  EXPECT_EQ(q, "ip: 203.0.113.0");
  EXPECT_EQ(xff, "X-Forwarded-For: 198.51.100.0, 10.1.2.0");
  EXPECT_EQ(query, "https://a.example/?ip=203.0.113.0&x=1");
}

}  // namespace
}  // namespace scrubd::rules
