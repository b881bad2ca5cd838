#include "consent/cookies.h"

#include <gtest/gtest.h>

#include <string>

namespace scrubd::consent {
namespace {

// Real values (docs/consent-cookies.md gives their sources); consentId and stamp replaced.
constexpr char kOneTrustReal[] =
    "isGpcEnabled=0&datestamp=Sat+Apr+12+2025+12%3A05%3A16+GMT%2B0100+(Central+European+"
    "Standard+Time)&version=202402.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId="
    "00000000-0000-0000-0000-000000000000&interactionCount=1&isAnonUser=1&landingPath="
    "NotLandingPage&groups=C0001%3A1%2CC0002%3A1%2CC0003%3A1%2CC0004%3A1&geolocation=DZ%3B08&"
    "AwaitingReconsent=false";
constexpr char kOneTrustDenied[] =
    "isGpcEnabled=0&datestamp=Wed+Jan+29+2025+10%3A05%3A33+GMT%2B0400+(Gulf+Standard+Time)&"
    "version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId=x&"
    "interactionCount=1&isAnonUser=1&landingPath=https%3A%2F%2Fwww.example.com%2Fa%23q%3D%26"
    "rows%3D20&groups=C0003%3A0%2CC0004%3A0%2CC0002%3A0%2CC0001%3A1";
constexpr char kCookiebotReal[] =
    "{stamp:%27AAAAf+7ywpRuvGmFIujhI+oEbPugblwcsBmN/7RUUNZKavIMY97rzhQ==%27%2Cnecessary:true%2C"
    "preferences:false%2Cstatistics:false%2Cmarketing:false%2Cmethod:%27explicit%27%2Cver:1%2C"
    "utc:1745620490943%2Cregion:%27pl%27}";
constexpr char kCanary[] = "CANARYq7Zx";

TEST(CookieHeader, SplitsPairsAsBrowsersSendThem) {
  auto pairs = ParseCookieHeader("a=1; b=2;c=3 ;  d = 4 ; e=\"quoted\"; flag; ;");
  ASSERT_EQ(pairs.size(), 6u);
  EXPECT_EQ(pairs[0], (std::pair<std::string_view, std::string_view>{"a", "1"}));
  EXPECT_EQ(pairs[2].second, "3");
  EXPECT_EQ(pairs[3].first, "d");
  EXPECT_EQ(pairs[3].second, "4");
  EXPECT_EQ(pairs[4].second, "quoted");
  EXPECT_EQ(pairs[5].first, "");  // no '=': a nameless cookie (RFC 6265bis)
  EXPECT_EQ(pairs[5].second, "flag");
}

TEST(CookieHeader, ValueKeepsLaterEqualsSigns) {
  auto v = FindCookie("x=1; OptanonConsent=groups=C0001%3A1&a=b; y=2", "OptanonConsent");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "groups=C0001%3A1&a=b");
}

TEST(CookieHeader, FindIsExactCaseSensitiveFirstWins) {
  const char* h = "cookieconsent=no; CookieConsent=-1; CookieConsent=0";
  EXPECT_EQ(FindCookie(h, "CookieConsent").value(), "-1");
  EXPECT_FALSE(FindCookie(h, "Cookie").has_value());
  EXPECT_FALSE(FindCookie("", "a").has_value());
  EXPECT_EQ(FindCookie("a=", "a").value(), "");
}

TEST(CookieHeader, ManyCookiesStayBounded) {
  std::string h;
  for (int i = 0; i < 100000; ++i) h += "c" + std::to_string(i) + "=v; ";
  h += "late=1";
  EXPECT_EQ(ParseCookieHeader(h).size(), kMaxCookies);
  EXPECT_FALSE(FindCookie(h, "late").has_value());
  EXPECT_TRUE(FindCookie(h, "c199").has_value());
  EXPECT_FALSE(FindCookie(h, "c200").has_value());
}

TEST(CookieHeader, HugeSingleCookieIsAView) {
  std::string h = "big=" + std::string(1 << 20, 'x') + "; a=1";
  auto pairs = ParseCookieHeader(h);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].second.size(), size_t(1) << 20);
  EXPECT_EQ(pairs[0].second.data(), h.data() + 4);
}

TEST(CookiePercentDecode, DecodesAndKeepsOrTranslatesPlus) {
  EXPECT_EQ(PercentDecode("C0001%3A1%2cC0002%3A0", false).value(), "C0001:1,C0002:0");
  EXPECT_EQ(PercentDecode("a+b%20c", true).value(), "a b c");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_EQ(PercentDecode("%D0%9C", false).value(), "\xD0\x9C");
  EXPECT_EQ(PercentDecode("", true).value(), "");
}

TEST(CookiePercentDecode, BadEscapesNameTheOffsetOnly) {
  for (const char* bad : {"%", "%4", "ab%zz", "%%41", "x%4g", "^%^27"}) {
    auto r = PercentDecode(bad, true);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
    EXPECT_NE(r.status().message().find("offset"), std::string::npos);
  }
  std::string canary = std::string(kCanary) + "%q";
  EXPECT_EQ(PercentDecode(canary, false).status().message().find(kCanary), std::string::npos);
}

TEST(OneTrust, RealCookieAllGranted) {
  auto r = ParseOptanonConsent(kOneTrustReal);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->groups.size(), 4u);
  EXPECT_EQ(r->groups[0], (std::pair<std::string, bool>{"C0001", true}));
  EXPECT_EQ(r->Group("C0002"), true);
  EXPECT_FALSE(r->Group("C0005").has_value());
  EXPECT_EQ(r->is_gpc_enabled, false);
  EXPECT_EQ(r->browser_gpc_flag, false);
  EXPECT_EQ(r->interaction_count, 1);
  EXPECT_EQ(r->awaiting_reconsent, false);
  EXPECT_EQ(r->version, "202402.1.0");
  EXPECT_EQ(r->datestamp_unix, 1744455916);  // 2025-04-12T11:05:16Z
  EXPECT_TRUE(r->hosts.empty());
}

TEST(OneTrust, RealCookieDeniedWithEncodedAmpersandInLandingPath) {
  auto r = ParseOptanonConsent(kOneTrustDenied);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Group("C0002"), false);
  EXPECT_EQ(r->Group("C0001"), true);
  EXPECT_EQ(r->datestamp_unix, 1738130733);  // 2025-01-29T06:05:33Z
}

TEST(OneTrust, OtherRealShapes) {
  // Numeric and stack group ids, hosts, genVendors with a trailing comma, non-Latin zone name.
  auto r = ParseOptanonConsent(
      "isGpcEnabled=0&datestamp=Fri+Jul+26+2024+09%3A21%3A22+GMT%2B0800+(%E4%B8%AD%E5%9B%BD)&"
      "version=202304.1.0&interactionCount=3&groups=1%3A1%2C2%3A1%2CBG71%3A0%2CV2STACK42%3A1&"
      "hosts=H10%3A1%2CH163%3A0&genVendors=V2%3A1%2CV1%3A0%2C");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Group("BG71"), false);
  EXPECT_EQ(r->Group("V2STACK42"), true);
  ASSERT_EQ(r->hosts.size(), 2u);
  EXPECT_EQ(r->hosts[1], (std::pair<std::string, bool>{"H163", false}));
  ASSERT_EQ(r->general_vendors.size(), 2u);
  EXPECT_EQ(r->datestamp_unix, 1721956882);  // 2024-07-26T01:21:22Z
  EXPECT_EQ(r->interaction_count, 3);
}

TEST(OneTrust, UnencodedGroupsAndNegativeOffsetDate) {
  auto r = ParseOptanonConsent(
      "datestamp=Fri+Jan+24+2025+16%3A11%3A15+GMT-0500+(Eastern+Standard+Time)&"
      "groups=C0001:1,C0002:0&isGpcEnabled=1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Group("C0002"), false);
  EXPECT_EQ(r->is_gpc_enabled, true);
  EXPECT_EQ(r->datestamp_unix, 1737753075);  // 2025-01-24T21:11:15Z
}

TEST(OneTrust, DescriptiveFieldsUnreadableAreAbsent) {
  auto r = ParseOptanonConsent("groups=C0001%3A1&datestamp=yesterday&version=6.x");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->datestamp_unix.has_value());
  EXPECT_EQ(r->version, "");
  EXPECT_FALSE(r->interaction_count.has_value());
}

TEST(OneTrust, MissingOrEmptyGroupsIsAnError) {
  for (const char* v : {"", "isGpcEnabled=0&version=1", "groups=", "groups=%2C%2C", "groups"}) {
    auto r = ParseOptanonConsent(v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
  }
}

TEST(OneTrust, MalformedGroupEntriesAreErrors) {
  for (const char* v :
       {"groups=C0001%3A2", "groups=C0001", "groups=C0001%3A", "groups=%3A1", "groups=C0001%3Atrue",
        "groups=C0%201%3A1", "groups=C0001%3A1%3A1", "groups=C0001%3A1%2CC0001%3A0"}) {
    EXPECT_FALSE(ParseOptanonConsent(v).ok()) << v;
  }
}

TEST(OneTrust, DuplicateFieldsAreRefused) {
  auto r = ParseOptanonConsent("groups=C0002%3A0&groups=C0002%3A1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate field groups"), std::string::npos);
  EXPECT_FALSE(ParseOptanonConsent("groups=C1%3A1&isGpcEnabled=0&isGpcEnabled=1").ok());
  // Fields this parser does not read may repeat.
  EXPECT_TRUE(ParseOptanonConsent("consentId=a&consentId=b&groups=C1%3A1").ok());
}

TEST(OneTrust, NonBooleanFlagsAreErrors) {
  for (const char* v : {"groups=C1%3A1&isGpcEnabled=yes", "groups=C1%3A1&browserGpcFlag=2",
                        "groups=C1%3A1&AwaitingReconsent=1", "groups=C1%3A1&interactionCount=-1",
                        "groups=C1%3A1&interactionCount=99999999"}) {
    EXPECT_FALSE(ParseOptanonConsent(v).ok()) << v;
  }
}

TEST(OneTrust, BadEscapesAreErrors) {
  EXPECT_FALSE(ParseOptanonConsent("groups=C0001%3A1%2").ok());
  EXPECT_FALSE(ParseOptanonConsent("groups=C0001^%^3A1").ok());  // Windows cmd copy
  EXPECT_FALSE(ParseOptanonConsent("gro%zzups=1&groups=C1%3A1").ok());
  // A field that is not read is not decoded either.
  EXPECT_TRUE(ParseOptanonConsent("landingPath=%zz&groups=C1%3A1").ok());
}

TEST(OneTrust, HugeInputsAreBounded) {
  std::string big = "groups=C1%3A1&x=" + std::string(kMaxConsentCookieBytes, 'a');
  EXPECT_EQ(ParseOptanonConsent(big).status().code(), Code::kTooLarge);
  std::string many = "groups=";
  for (size_t i = 0; i <= kMaxConsentListEntries; ++i) many += "G" + std::to_string(i) + ":1,";
  many.resize(std::min(many.size(), kMaxConsentCookieBytes));
  auto r = ParseOptanonConsent(many);
  EXPECT_FALSE(r.ok());
}

TEST(Cookiebot, RealExplicitDecline) {
  auto r = ParseCookiebotConsent(kCookiebotReal);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->necessary);
  EXPECT_FALSE(r->preferences);
  EXPECT_FALSE(r->statistics);
  EXPECT_FALSE(r->marketing);
  EXPECT_FALSE(r->not_required);
  EXPECT_EQ(r->method, "explicit");
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->utc_ms, 1745620490943);
}

TEST(Cookiebot, RealGrantFullyEncodedAndOlderWithoutMethod) {
  auto r = ParseCookiebotConsent(
      "%7Bstamp%3A%27xtFW9hfJwUUeaB64PUUgxmP4CzXw%2BcaGiW3PX6VSL%2FUPiGXyTHnb5w%3D%3D%27%2C"
      "necessary%3Atrue%2Cpreferences%3Atrue%2Cstatistics%3Atrue%2Cmarketing%3Atrue%2C"
      "method%3A%27explicit%27%2Cver%3A1%2Cutc%3A1759564151940%2Cregion%3A%27se%27%7D");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->statistics && r->marketing && r->preferences);
  auto old = ParseCookiebotConsent(
      "{stamp:%27x%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true"
      "%2Cver:1%2Cutc:1616914016722%2Cregion:%27ru%27}");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->method, "");
}

TEST(Cookiebot, MinusOneAndZero) {
  auto r = ParseCookiebotConsent("-1");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->not_required);
  EXPECT_FALSE(r->statistics);  // no flag stated
  auto z = ParseCookiebotConsent("0");
  ASSERT_TRUE(z.ok());
  EXPECT_TRUE(z->necessary);
  EXPECT_FALSE(z->statistics || z->marketing || z->preferences || z->not_required);
  // Seen in the wild outside consent regions: stamp '-1', implied, all true.
  auto s = ParseCookiebotConsent(
      "{stamp:%27-1%27%2Cnecessary:true%2Cpreferences:true%2Cstatistics:true%2Cmarketing:true%2C"
      "method:%27implied%27%2Cver:1%2Cutc:1758037169904%2Ciab2:%27%27%2Cregion:%27IN%27}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->not_required);
  EXPECT_TRUE(s->statistics);
  EXPECT_EQ(s->method, "implied");
}

TEST(Cookiebot, QuotingVariants) {
  auto r = ParseCookiebotConsent(
      "{\"stamp\":\"a\\\"b\", \"necessary\":true, \"preferences\":false, \"statistics\":true, "
      "\"marketing\":false, \"method\":\"explicit\",}");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->statistics);
  auto no_necessary =
      ParseCookiebotConsent("{preferences:true,statistics:true,marketing:true,ver:1}");
  ASSERT_TRUE(no_necessary.ok());
  EXPECT_TRUE(no_necessary->necessary);
}

TEST(Cookiebot, MalformedInputsAreErrors) {
  for (const char* v :
       {"", "{", "}", "{stamp:'abc,necessary:true}", "{preferences:true,statistics:true}",
        "{preferences:true,statistics:yes,marketing:true}",
        "{preferences:true,statistics:'true',marketing:true}",
        "{preferences:true,statistics:1,marketing:true}",
        "{preferences:true,statistics:true,marketing:true}x",
        "{preferences:true statistics:true,marketing:true}",
        "{preferences:true,statistics:true,marketing:true,method:'ex plicit'}",
        "{preferences:true,statistics:true,marketing:true,ver:one}",
        "{preferences:true,statistics:true,marketing:true,nested:{a:1}}", "{stamp:^%^27w1^%^27}",
        "{stamp:%27a%2}", "-2", "true"}) {
    auto r = ParseCookiebotConsent(v);
    EXPECT_FALSE(r.ok()) << v;
  }
}

TEST(Cookiebot, DuplicateKeysAreRefused) {
  auto r =
      ParseCookiebotConsent("{preferences:true,statistics:false,marketing:true,statistics:true}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate"), std::string::npos);
}

TEST(Cookiebot, HugeInputsAreBounded) {
  std::string big = "{stamp:'" + std::string(kMaxConsentCookieBytes, 'a') + "'}";
  EXPECT_EQ(ParseCookiebotConsent(big).status().code(), Code::kTooLarge);
  std::string many = "{";
  for (int i = 0; i < 100; ++i) many += "k" + std::to_string(i) + ":1,";
  many += "preferences:true,statistics:true,marketing:true}";
  EXPECT_EQ(ParseCookiebotConsent(many).status().code(), Code::kTooLarge);
}

// A canary in every field of malformed cookies: no error message quotes input.
TEST(CookieCanary, NoErrorMessageQuotesInput) {
  const std::string c = kCanary;
  const std::vector<std::string> onetrust = {
      "groups=" + c + "%3A2",
      "groups=" + c,
      "groups=C1%3A" + c,
      c + "=1&groups=C1%3A1%2",
      "groups=C1%3A1&isGpcEnabled=" + c,
      "groups=C1%3A1&browserGpcFlag=" + c,
      "groups=C1%3A1&interactionCount=" + c,
      "groups=C1%3A1&AwaitingReconsent=" + c,
      "groups=C1%3A1&hosts=" + c,
      "groups=C1%3A1&genVendors=" + c + "%3Ax",
      "consentId=" + c + "&landingPath=" + c,
      "groups=" + c + "%3A1%2C" + c + "%3A0",
      "groups=C1%3A1&groups=" + c,
      "groups=" + c + "%zz",
      "groups=C1%3A1&" + c + "%zz=1",
      "groups=C1%3A1&geolocation=" + c + "&x=" + std::string(kMaxConsentCookieBytes, 'y')};
  for (const auto& v : onetrust) {
    auto r = ParseOptanonConsent(v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().ToString().find(c), std::string::npos) << r.status().ToString();
  }
  const std::vector<std::string> cookiebot = {
      "{stamp:'" + c,
      "{stamp:'" + c + "',preferences:true,statistics:true}",
      "{stamp:'" + c + "',preferences:" + c + ",statistics:true,marketing:true}",
      "{preferences:true,statistics:" + c + ",marketing:true}",
      "{preferences:true,statistics:true,marketing:'" + c + "'}",
      "{preferences:true,statistics:true,marketing:true,method:'" + c + "!'}",
      "{preferences:true,statistics:true,marketing:true,ver:" + c + "}",
      "{preferences:true,statistics:true,marketing:true,utc:" + c + "}",
      "{preferences:true,statistics:true,marketing:true,region:'" + c + "'}" + c,
      "{" + c + ":true " + c + "}",
      "{" + c + "%zz}",
      "{stamp:'" + c + "',stamp:'" + c + "',preferences:true,statistics:true,marketing:true}",
      c};
  for (const auto& v : cookiebot) {
    auto r = ParseCookiebotConsent(v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().ToString().find(c), std::string::npos) << r.status().ToString();
  }
}

// Every truncation of the real values: never a crash, and never more groups than written.
TEST(CookieTruncation, EveryPrefixParsesOrErrors) {
  const std::string ot = kOneTrustReal, cb = kCookiebotReal;
  for (size_t n = 0; n <= ot.size(); ++n) {
    auto r = ParseOptanonConsent(std::string_view(ot).substr(0, n));
    if (r.ok()) {
      EXPECT_LE(r->groups.size(), 4u);
    }
  }
  for (size_t n = 0; n < cb.size(); ++n)
    EXPECT_FALSE(ParseCookiebotConsent(std::string_view(cb).substr(0, n)).ok()) << n;
}

}  // namespace
}  // namespace scrubd::consent
