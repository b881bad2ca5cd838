#include "scrubd/rules/scanner.h"

#include <gtest/gtest.h>

namespace scrubd::rules {
namespace {

std::shared_ptr<const Scanner> Make(ScannerConfig cfg = {}) {
  if (cfg.hmac_key.empty()) cfg.hmac_key = "k";
  auto s = Scanner::Create(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s.value() : nullptr;
}

TEST(Scanner, NothingMatchesNoChange) {
  auto s = Make();
  std::string t = "01a20358-f582-7a2a-bd51-e2dcbe4f4c0d 1795352492409";
  const char* data = t.data();
  RedactionCounts c;
  EXPECT_FALSE(s->Redact(t, "$session_id", &c));
  EXPECT_EQ(t.data(), data);  // untouched buffer, no copy
  EXPECT_EQ(c.Total(), 0u);
  std::string empty;
  EXPECT_FALSE(s->Redact(empty, "", nullptr));
}

TEST(Scanner, SeveralDetectorsInOneString) {
  auto s = Make();
  std::string t = "Jane Doe (jane.doe@example.com), SSN 536-22-1234, +1 (415) 555-2671";
  RedactionCounts c;
  EXPECT_TRUE(s->Redact(t, "textContent", &c));
  EXPECT_EQ(t, "Jane Doe ([EMAIL]), SSN ***-**-1234, +* (***) ***-**71");
  EXPECT_EQ(c.by_rule["email"], 1u);
  EXPECT_EQ(c.by_rule["ssn"], 1u);
  EXPECT_EQ(c.by_rule["phone"], 1u);
  EXPECT_EQ(c.Total(), 3u);
}

// RFC 5322 atext specials inside the local part: the whole local part is redacted, on the shape
// path and on the Set path alike; a leading quote or brace is not part of the address, and
// URL structure (/ ? = #) ends the local part.
TEST(Scanner, EmailLocalPartWithAtextSpecialsIsRedactedWhole) {
  for (bool shape : {true, false}) {
    ScannerConfig cfg;
    cfg.shape_pass = shape;
    auto made = Scanner::Create(cfg);
    ASSERT_TRUE(made.ok());
    auto s = made.value();
    const std::pair<std::string, std::string> cases[] = {
        {"canary.zq'o@example.com", "[EMAIL]"},
        {"t: canary.zq'o@example.com.", "t: [EMAIL]."},
        {"a!b$c&d*e^f`g{h|i}j~k@example.org", "[EMAIL]"},
        {"'o'brien@example.ie'", "'[EMAIL]'"},
        {"{jane{x}@example.com}", "{[EMAIL]}"},
        {"**jane*doe@example.com**", "**[EMAIL]**"},
        {"${x{y}@example.com}", "${[EMAIL]}"},
        {"jane!@example.com", "[EMAIL]"},
        {"https://app.example.com/invite?to=li.wei@example.cn",
         "https://app.example.com/invite?to=[EMAIL]"},
        {"/users/o'neil@example.com/edit", "/users/[EMAIL]/edit"},
    };
    for (const auto& [in, want] : cases) {
      std::string t = in;
      RedactionCounts c;
      EXPECT_TRUE(s->Redact(t, "t", &c)) << in;
      EXPECT_EQ(t, want) << in << " shape_pass=" << shape;
      EXPECT_EQ(c.by_rule["email"], 1u) << in;
    }
  }
}

TEST(Scanner, OverlapLongerValidatedSpanWins) {
  auto s = Make();
  // The query value "jane@example.com&x" vs the email: equal-length ties go to the earlier
  // start then catalog order; here the url_query_secret value is longer and wins.
  std::string t = "https://a.example.com/?email=jane@example.com%20x&page=2";
  RedactionCounts c;
  ASSERT_TRUE(s->Redact(t, "", &c));
  EXPECT_EQ(c.by_rule["url_query_secret"], 1u);
  EXPECT_EQ(c.by_rule["email"], 0u);
  // url_credentials (user:pass) beats the shorter email-looking "pass@host".
  std::string u = "postgres://app:s3cr3t@db.example.com/crm";
  RedactionCounts c2;
  ASSERT_TRUE(s->Redact(u, "", &c2));
  EXPECT_EQ(u, "postgres://[CREDENTIALS]@db.example.com/crm");
  EXPECT_EQ(c2.by_rule["email"], 0u);
}

TEST(Scanner, Deterministic) {
  auto s = Make();
  const std::string in = "4111 1111 1111 1111 / DE89370400440532013000 / 203.0.113.9";
  std::string a = in, b = in;
  s->Redact(a, "", nullptr);
  s->Redact(b, "", nullptr);
  EXPECT_EQ(a, b);
}

TEST(Scanner, SensitiveKeysRedactWholeValue) {
  auto s = Make();
  for (const char* k : {"password",      "passwd",
                        "secret",        "token",
                        "api_key",       "apikey",
                        "auth",          "Authorization",
                        "cookie",        "Set-Cookie",
                        "credentials",   "private_key",
                        "ssn",           "card",
                        "cvv",           "iban",
                        "x-api-key",     "accessToken",
                        "user_password", "cardNumber",
                        "cc-number",     "current-password"}) {
    EXPECT_TRUE(s->IsSensitiveKey(k)) << k;
    std::string t = "hello world";
    RedactionCounts c;
    EXPECT_TRUE(s->Redact(t, k, &c)) << k;
    EXPECT_EQ(t, "[REDACTED]");
    EXPECT_EQ(c.Total(), 1u);
  }
  for (const char* k : {"author", "cardinality", "discard", "tokenizer", "oauth_provider",
                        "textContent", "$current_url", "_cssText", ""})
    EXPECT_FALSE(s->IsSensitiveKey(k)) << k;
  // Short and banking names, matched as whole words only.
  for (const char* k : {"pwd",
                        "pass",
                        "passwd",
                        "pin",
                        "otp",
                        "passcode",
                        "mfa_code",
                        "security_code",
                        "account_number",
                        "routing_number",
                        "sort_code",
                        "cvv2",
                        "cvc",
                        "userPIN",
                        "PINCode",
                        "user-pass",
                        "otpCode",
                        "mfaCode",
                        "securityCode",
                        "accountNumber",
                        "bank.sort_code",
                        "$pwd",
                        "card_cvv2",
                        "PASSCODE"}) {
    EXPECT_TRUE(s->IsSensitiveKey(k)) << k;
    std::string t = "hello world";
    EXPECT_TRUE(s->Redact(t, k, nullptr)) << k;
    EXPECT_EQ(t, "[REDACTED]") << k;
  }
  for (const char* k : {"shipping",       "spinner",        "passenger",        "compass",
                        "pinned",         "opinion",        "shipping_address", "spinnerColor",
                        "passengerCount", "compassHeading", "bypass",           "passive",
                        "pinterest",      "topping",        "account",          "routing",
                        "sort",           "sortOrder",      "account_id",       "security",
                        "code",           "number",         "pinyin",           "otpauth_url",
                        "encompass",      "sort_by_code"})
    EXPECT_FALSE(s->IsSensitiveKey(k)) << k;
  RedactionCounts c;
  std::string t = "x";
  s->Redact(t, "password", &c);
  EXPECT_EQ(c.by_rule["key:password"], 1u);
}

TEST(Scanner, ExtraKeysAndKeyMethod) {
  ScannerConfig cfg;
  cfg.extra_sensitive_keys = {"member_no"};
  cfg.key_method = Method::kMask;
  auto s = Make(cfg);
  std::string t = "AB-123";
  ASSERT_TRUE(s->Redact(t, "memberNo", nullptr));
  EXPECT_EQ(t, "**-***");
}

TEST(Scanner, VersionKeysSuppressIp) {
  auto s = Make();
  std::string t = "1.2.3.4";
  EXPECT_FALSE(s->Redact(t, "$lib_version", nullptr));
  EXPECT_TRUE(s->Redact(t, "client_ip", nullptr));
  EXPECT_EQ(t, "1.2.3.0");
}

TEST(Scanner, DisabledAndOverrides) {
  ScannerConfig cfg;
  cfg.disabled = {"email"};
  DetectorOverride off;
  off.enabled = false;
  cfg.overrides["phone"] = off;
  auto s = Make(cfg);
  auto ids = s->DetectorIds();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "email"), 0);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "phone"), 0);
  std::string t = "jane@example.com (415) 555-2671";
  EXPECT_FALSE(s->Redact(t, "", nullptr));
  ScannerConfig bad;
  bad.disabled = {"nope"};
  EXPECT_FALSE(Scanner::Create(bad).ok());
}

// Context-required patterns (national phone format): a context word in the key, or in the 48
// bytes before the value; never after it. Covers both Set variants (key with and without a
// context word of some context-required detector).
TEST(Scanner, ContextRequiredNeedsWordInKeyOrBefore) {
  auto s = Make();
  auto redacted = [&](std::string t, std::string_view key) { return s->Redact(t, key, nullptr); };
  EXPECT_TRUE(redacted("030 1234567", "phone"));
  EXPECT_TRUE(redacted("030 1234567", "mobileNumber"));
  EXPECT_TRUE(redacted("tel 030 1234567", "note"));
  EXPECT_TRUE(redacted("Call: (030) 1234567", ""));
  EXPECT_FALSE(redacted("030 1234567", "note"));
  EXPECT_FALSE(redacted("030 1234567 tel", "note"));
  EXPECT_FALSE(redacted("Tel: " + std::string(60, 'x') + " 030 1234567", "note"));
  EXPECT_TRUE(redacted("Tel: " + std::string(30, 'x') + " 030 1234567", "note"));
  // "tin" is a de_tax_id context word: the key selects the ungated Set.
  EXPECT_TRUE(redacted("tel 030 1234567", "tin"));
  EXPECT_FALSE(redacted("030 1234567", "tin"));
  EXPECT_FALSE(redacted("030 1234567 tel", "tin"));
  std::string t = "ph: 030 1234567";
  EXPECT_FALSE(s->Redact(t, "x", nullptr));
  t = "phone 030 1234567";
  EXPECT_TRUE(s->Redact(t, "x", nullptr));
  EXPECT_EQ(t, "phone *** *****67");
}

TEST(Scanner, LongAdversarialInputsStayLinear) {
  auto s = Make();
  std::string digits(200000, '1');
  std::string seps;
  for (int i = 0; i < 50000; ++i) seps += "1 ";
  std::string colons;
  for (int i = 0; i < 50000; ++i) colons += "a:";
  for (std::string* t : {&digits, &seps, &colons}) {
    std::string copy = *t;
    s->Redact(copy, "", nullptr);  // completes (ctest timeout guards a regression)
  }
  SUCCEED();
}

// OOM: a budget too small for the RE2::Set either fails Create (kUnavailable) or, when the
// program fits but the DFA cannot, Redact fails closed. Both outcomes must be observed as
// the budget shrinks, and no budget may let PII through unredacted.
TEST(Scanner, OutOfMemoryFailsClosed) {
  std::string varied;
  for (int i = 0; i < 4000; ++i) varied += "x" + std::to_string(i * 7919) + " a@b.co ";
  bool saw_create_fail = false, saw_redact_fail = false;
  for (int64_t mem = 8 << 20; mem >= 16 << 10; mem = mem * 3 / 4) {
    ScannerConfig cfg;
    cfg.max_mem_bytes = mem;
    auto s = Scanner::Create(cfg);
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), Code::kUnavailable) << s.status().ToString();
      saw_create_fail = true;
      continue;
    }
    std::string t = varied + " jane.doe@example.com";
    RedactionCounts c;
    bool changed = (*s)->Redact(t, "", &c);
    EXPECT_TRUE(changed);
    EXPECT_EQ(t.find("jane.doe@example.com"), std::string::npos) << mem;
    if (c.errors) {
      saw_redact_fail = true;
      EXPECT_EQ(t, kFailClosedText);
    }
  }
  EXPECT_TRUE(saw_create_fail);
  EXPECT_TRUE(saw_create_fail || saw_redact_fail);
}

TEST(Counts, AddAndTotal) {
  RedactionCounts a, b;
  a.by_rule["email"] = 2;
  b.by_rule["email"] = 1;
  b.by_rule["card"] = 1;
  b.errors = 1;
  a.Add(b);
  EXPECT_EQ(a.by_rule["email"], 3u);
  EXPECT_EQ(a.Total(), 4u);
  EXPECT_EQ(a.errors, 1u);
}

}  // namespace
}  // namespace scrubd::rules
