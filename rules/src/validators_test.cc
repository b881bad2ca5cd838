#include "validators.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace scrubd::rules::internal {
namespace {

TEST(Luhn, KnownNumbers) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("41x1"));
}

TEST(CardIssuer, PrefixAndLength) {
  EXPECT_TRUE(CardIssuerValid("4111111111111111"));
  EXPECT_TRUE(CardIssuerValid("2221000000000009"));  // Mastercard 2-series
  EXPECT_TRUE(CardIssuerValid("2720990000000000"));
  EXPECT_FALSE(CardIssuerValid("2721000000000000"));
  EXPECT_TRUE(CardIssuerValid("378282246310005"));
  EXPECT_FALSE(CardIssuerValid("3782822463100050"));  // Amex is 15
  EXPECT_TRUE(CardIssuerValid("6759649826438453"));
  EXPECT_FALSE(CardIssuerValid("1729000000000"));   // ms timestamp: no issuer 1
  EXPECT_FALSE(CardIssuerValid("20241015123045"));  // YYYYMMDDhhmmss
}

TEST(Iban, LengthTableAndMod97) {
  EXPECT_TRUE(IbanValid("DE89370400440532013000"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_FALSE(IbanValid("DE89370400440532013001"));
  EXPECT_FALSE(IbanValid("DE8937040044053201300"));
  EXPECT_EQ(IbanLength("NO"), 15);
  EXPECT_EQ(IbanLength("US"), 0);
}

TEST(Ssn, SsaRules) {
  EXPECT_TRUE(SsnValid("536221234"));
  EXPECT_FALSE(SsnValid("000221234"));
  EXPECT_FALSE(SsnValid("666221234"));
  EXPECT_FALSE(SsnValid("912221234"));
  EXPECT_FALSE(SsnValid("536001234"));
  EXPECT_FALSE(SsnValid("536220000"));
  EXPECT_FALSE(SsnValid("078051120"));
  EXPECT_FALSE(SsnValid("111111111"));
}

TEST(Ip, Parse) {
  uint8_t v4[4];
  EXPECT_TRUE(ParseIpv4("192.168.1.20", v4));
  EXPECT_EQ(v4[3], 20);
  EXPECT_FALSE(ParseIpv4("256.1.1.1", v4));
  EXPECT_FALSE(ParseIpv4("01.2.3.4", v4));
  EXPECT_FALSE(ParseIpv4("1.2.3", v4));
  uint16_t v6[8];
  EXPECT_TRUE(ParseIpv6("2001:db8::1", v6));
  EXPECT_EQ(v6[0], 0x2001);
  EXPECT_EQ(v6[7], 1);
  EXPECT_TRUE(ParseIpv6("::1", v6));
  EXPECT_FALSE(ParseIpv6("10:30:45", v6));
  EXPECT_FALSE(ParseIpv6("1::2::3", v6));
  EXPECT_FALSE(ParseIpv6("12345::1", v6));
}

TEST(Jwt, HeaderDecode) {
  EXPECT_TRUE(JwtHeaderHasAlg("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.sig"));
  EXPECT_FALSE(JwtHeaderHasAlg("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig"));  // no alg
  EXPECT_FALSE(JwtHeaderHasAlg("WyJhbGciXQ.eyJzdWIiOiIxIn0.sig"));          // array
  EXPECT_FALSE(JwtHeaderHasAlg("eyJ!!.x.y"));
}

TEST(Ids, NinoAndDeTaxId) {
  EXPECT_TRUE(NinoValid("AB123456C"));
  EXPECT_TRUE(NinoValid("AB 12 34 56 C"));
  EXPECT_FALSE(NinoValid("GB123456C"));
  EXPECT_FALSE(NinoValid("AB123456E"));
  EXPECT_TRUE(DeTaxIdValid("86095742719"));
  EXPECT_FALSE(DeTaxIdValid("86095742718"));
  EXPECT_FALSE(DeTaxIdValid("12345678903"));  // no repeated digit
}

TEST(Phone, Plans) {
  EXPECT_TRUE(PhoneValid("+1 (415) 555-2671"));
  EXPECT_TRUE(PhoneValid("+44 20 7946 0958"));
  EXPECT_TRUE(PhoneValid("(415) 555-2671"));
  EXPECT_FALSE(PhoneValid("+1 115 555 2671"));  // NANP area code starts 2-9
  EXPECT_FALSE(PhoneValid("+0 123 4567"));
  EXPECT_FALSE(PhoneValid("+54.7678-151.5663"));  // ISO 6709 coordinate
  EXPECT_FALSE(PhoneValid("+1729000000000"));
}

TEST(Validators, CardShrinksToTheValidGroupRun) {
  ValidatorFn card = FindValidator("card");
  ASSERT_NE(card, nullptr);
  std::string_view t = "12 4111 1111 1111 1111";
  size_t b = 0, e = t.size();
  ASSERT_TRUE(card(t, &b, &e));
  EXPECT_EQ(t.substr(b, e - b), "4111 1111 1111 1111");
  std::string_view run = "94111111111111111";
  b = 1, e = run.size();
  EXPECT_FALSE(card(run, &b, &e));  // continues a digit run
  EXPECT_EQ(FindValidator("nope"), nullptr);
}

// The per-prefix length mask the card validator uses agrees with CardIssuerValid everywhere.
TEST(Validators, CardIssuerLengthsMatchesCardIssuerValid) {
  char d[20];
  for (int p = 0; p < 1000000; ++p) {
    int v = p;
    for (int k = 5; k >= 0; --k, v /= 10) d[k] = static_cast<char>('0' + v % 10);
    for (int k = 6; k < 20; ++k) d[k] = '7';
    const uint32_t mask = CardIssuerLengths(std::string_view(d, 19));
    for (size_t n = 12; n <= 19; ++n)
      ASSERT_EQ(((mask >> n) & 1) != 0, CardIssuerValid(std::string_view(d, n))) << p << " " << n;
  }
}

// Luhn and mod-97 against their textbook forms (one digit at a time, one reduction per digit)
// on random digit strings and random IBAN-shaped strings, valid ones included.
TEST(Validators, LuhnAndMod97MatchTextbookForms) {
  auto luhn_ref = [](const std::string& d) {
    int sum = 0;
    bool dbl = false;
    for (size_t i = d.size(); i-- > 0;) {
      int v = d[i] - '0';
      if (dbl) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
      dbl = !dbl;
    }
    return !d.empty() && sum % 10 == 0;
  };
  auto mod97_ref = [](const std::string& s) {
    int rem = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      const char c = s[(k + 4) % s.size()];
      rem = c <= '9' ? (rem * 10 + (c - '0')) % 97 : (rem * 100 + (c - 'A' + 10)) % 97;
    }
    return rem == 1;
  };
  std::mt19937 rng(5);
  int luhn_ok = 0, iban_ok = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    std::string d(1 + rng() % 19, '0');
    for (char& c : d) c = static_cast<char>('0' + rng() % 10);
    ASSERT_EQ(LuhnValid(d), luhn_ref(d)) << d;
    luhn_ok += luhn_ref(d);
    // DE + check digits + 18 digits/letters; the check digits chosen to make every tenth valid.
    std::string iban = "DE00";
    for (int k = 0; k < 18; ++k)
      iban.push_back(rng() % 4 ? static_cast<char>('0' + rng() % 10)
                               : static_cast<char>('A' + rng() % 26));
    if (iter % 10 == 0) {
      for (int cd = 2; cd <= 98; ++cd) {
        iban[2] = static_cast<char>('0' + cd / 10);
        iban[3] = static_cast<char>('0' + cd % 10);
        if (mod97_ref(iban)) break;
      }
    }
    ASSERT_EQ(IbanValid(iban), mod97_ref(iban)) << iban;
    iban_ok += mod97_ref(iban);
  }
  EXPECT_GT(luhn_ok, 10000);
  EXPECT_GT(iban_ok, 10000);
}

}  // namespace
}  // namespace scrubd::rules::internal
