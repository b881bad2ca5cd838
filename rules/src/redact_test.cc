#include "redact.h"

#include <gtest/gtest.h>

#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

TEST(Mask, LengthPreservingKeepsSeparatorsAndLastN) {
  std::string out;
  internal::AppendMask(&out, "4111 1111 1111 1111", 4);
  EXPECT_EQ(out, "**** **** **** 1111");
  out.clear();
  internal::AppendMask(&out, "jane.doe@example.com", 0);
  EXPECT_EQ(out, "****.***@*******.***");
  out.clear();
  internal::AppendMask(&out, "Müller", 0);
  EXPECT_EQ(out, "******");
  out.clear();
  internal::AppendMask(&out, "Mü-1234", 2);  // a dropped UTF-8 byte before the kept tail
  EXPECT_EQ(out, "**-**34");
  out.clear();
  internal::AppendMask(&out, "ab", 0);
  EXPECT_EQ(out, "**");
}

// The in-place mask (ASCII values) writes exactly what AppendMask appends, and refuses
// non-ASCII values untouched; masking twice changes nothing more.
TEST(Mask, InPlaceMatchesAppendMask) {
  for (std::string v : {"4111 1111 1111 1111", "+1 (415) 555-2671", "DE89 3704", "a", "--", ""}) {
    for (int keep : {0, 2, 4, 30}) {
      std::string want;
      internal::AppendMask(&want, v, keep);
      std::string got = v;
      ASSERT_TRUE(internal::MaskAsciiInPlace(got.data(), got.size(), keep));
      EXPECT_EQ(got, want) << v << " keep " << keep;
      std::string twice;
      internal::AppendMask(&twice, got, keep);
      EXPECT_EQ(twice, want) << v << " keep " << keep;
    }
  }
  std::string u = "Mü-1234";
  EXPECT_FALSE(internal::MaskAsciiInPlace(u.data(), u.size(), 2));
  EXPECT_EQ(u, "Mü-1234");
}

// A string whose masked values are ASCII except one: the in-place pass stops there and the
// general path finishes, with the same text as masking each value once.
TEST(Mask, MixedAsciiAndNonAsciiSpansThroughTheScanner) {
  ScannerConfig cfg;
  cfg.hmac_key = "k";
  cfg.overrides["url_query_secret"].has_method = true;
  cfg.overrides["url_query_secret"].method = Method::kMask;
  auto s = Scanner::Create(cfg);
  ASSERT_TRUE(s.ok());
  std::string t =
      "card 4111 1111 1111 1111 at https://x.example/?token=gr\xC3\xBC\xC3\x9F"
      "e1";
  RedactionCounts c;
  ASSERT_TRUE((*s)->Redact(t, "", &c));
  EXPECT_EQ(t, "card **** **** **** 1111 at https://x.example/?token=******");
  EXPECT_EQ(c.Total(), 2u);
}

TEST(Hash, KeyedStableAndFormatInsensitive) {
  std::string a, b, c, d;
  internal::AppendHash(&a, "4111 1111 1111 1111", "card", "card_", "k1");
  internal::AppendHash(&b, "4111-1111-1111-1111", "card", "card_", "k1");
  internal::AppendHash(&c, "4111111111111111", "card", "card_", "k2");
  internal::AppendHash(&d, "Jane@Example.com", "email", "email_", "k1");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);  // the key matters
  EXPECT_EQ(a.size(), 5u + 16u);
  EXPECT_EQ(a.rfind("card_", 0), 0u);
  std::string e;
  internal::AppendHash(&e, "jane@example.com", "email", "email_", "k1");
  EXPECT_EQ(d, e);
}

TEST(TruncateIp, V4AndV6) {
  std::string out;
  EXPECT_TRUE(internal::AppendTruncatedIp(&out, "203.0.113.77"));
  EXPECT_EQ(out, "203.0.113.0");
  out.clear();
  EXPECT_TRUE(internal::AppendTruncatedIp(&out, "2001:db8:85a3::8a2e:370:7334"));
  EXPECT_EQ(out, "2001:db8:85a3::");
  out.clear();
  EXPECT_FALSE(internal::AppendTruncatedIp(&out, "not-an-ip"));
}

std::string RedactWith(const std::string& id, Method m, const std::string& text, int keep_last = -1,
                       const std::string& label = "") {
  ScannerConfig cfg;
  cfg.hmac_key = "k";
  DetectorOverride o;
  o.has_method = true;
  o.method = m;
  o.keep_last = keep_last;
  o.label = label;
  cfg.overrides[id] = o;
  auto s = Scanner::Create(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  std::string t = text;
  RedactionCounts counts;
  (*s)->Redact(t, "", &counts);
  EXPECT_EQ(counts.by_method[MethodName(m)], 1u) << text;
  return t;
}

TEST(Methods, EachThroughTheScanner) {
  EXPECT_EQ(RedactWith("email", Method::kReplace, "mail jane@example.com now"), "mail [EMAIL] now");
  EXPECT_EQ(RedactWith("email", Method::kReplace, "jane@example.com", -1, "<E>"), "<E>");
  EXPECT_EQ(RedactWith("email", Method::kRemove, "mail jane@example.com now"), "mail  now");
  EXPECT_EQ(RedactWith("card", Method::kMask, "card 4111-1111-1111-1111", 4),
            "card ****-****-****-1111");
  EXPECT_EQ(RedactWith("ipv4", Method::kTruncateIp, "ip 203.0.113.77"), "ip 203.0.113.0");
  std::string h = RedactWith("email", Method::kHash, "jane@example.com");
  EXPECT_EQ(h.rfind("email_", 0), 0u);
  EXPECT_EQ(h, RedactWith("email", Method::kHash, "JANE@example.com"));
}

TEST(Methods, TruncateIpOnlyForIpAndHashNeedsKey) {
  ScannerConfig cfg;
  DetectorOverride o;
  o.has_method = true;
  o.method = Method::kTruncateIp;
  cfg.overrides["email"] = o;
  EXPECT_FALSE(Scanner::Create(cfg).ok());
  ScannerConfig cfg2;
  o.method = Method::kHash;
  cfg2.overrides["email"] = o;
  auto s = Scanner::Create(cfg2);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("hmac_key"), std::string::npos);
}

}  // namespace
}  // namespace scrubd::rules
