#include "shape.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "catalog.h"
#include "pattern_texts.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

using internal::ComputeShape;
using internal::FeatureFor;
using internal::Features;
using internal::Shape;

RE2::Options Latin1() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  return o;
}

// Fragments that build matches and near misses of every catalog pattern when glued at random.
const std::vector<std::string>& Fragments() {
  static const std::vector<std::string> kFragments = {
      "0",
      "1",
      "2",
      "5",
      "9",
      "01",
      "12",
      "415",
      "555",
      "0129",
      "2671",
      "4111",
      "1111",
      "0000",
      "536",
      "22",
      "1234",
      "65",
      "987",
      " ",
      " ",
      "-",
      "-",
      ".",
      ".",
      "(",
      ")",
      "+",
      "+1",
      "+44",
      "/",
      ":",
      "::",
      "a",
      "f",
      "F",
      "x",
      "AB",
      "DE",
      "GB",
      "QQ",
      "C",
      "89",
      "370400440532013000",
      "@",
      "jane",
      ".com",
      "e",
      "y",
      "J",
      "eyJ",
      "ey",
      "AKIA",
      "AIza",
      "ASIA",
      "A",
      "IOSFODNN7EXAMPLE",
      "ghp_",
      "gh",
      "_",
      "github_",
      "sk_",
      "rk_",
      "live_",
      "xox",
      "xoxb-",
      "xapp-",
      "hooks",
      "hooks.",
      "slack.com/services/",
      "://",
      "http",
      "?",
      "&",
      ";",
      "#",
      "=",
      "token",
      "bearer",
      "Bearer ",
      "BEARER",
      "-----BEGIN ",
      "-----",
      "PRIVATE KEY-----",
      "tel",
      "phone ",
      "ssn ",
      "ss#",
      "steuer ",
      "call ",
      "ip ",
      "mac ",
      "aB3",
      "Zx9",
      "0x",
      "\t",
      "\n",
      "\xe9",
      "T0123456",
      "/B0123456/",
      "abcdefghijklmnop",
      // Whole values, so every pattern gets matches often enough.
      "536 22 1234",
      "536-22-1234",
      "4111 1111 1111 1111",
      "+1 (415) 555-2671",
      "192.168.1.20",
      "DE89 3704 0044 0532 0130 00",
      "12 345 678 901",
      "AB 12 34 56 C",
      "01:23:45:67:89:ab",
      "0123.4567.89ab",
      "2001:db8::1",
      "?token=abc123",
      "&email=x",
      "#Sig=1",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
      "https://user:pw@host",
      "jane@example.com",
      "github_pat_",
      "-----END ",
      "xapp-1-",
      "hooks.slack.com/services/T0123456/B0123456/",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
  };
  return kFragments;
}

std::string RandomText(std::mt19937& rng, size_t max_parts) {
  const auto& f = Fragments();
  std::string t;
  const size_t parts = rng() % max_parts;
  for (size_t i = 0; i < parts; ++i) t += f[rng() % f.size()];
  return t;
}

// Every feature is sound: whenever RE2 finds the pattern in a text, the pattern's feature holds.
// It must also prune (fail for some texts), or it is no check at all.
TEST(ShapeCheck, NeverMissesAnRe2Match) {
  auto catalog = internal::LoadEmbeddedCatalog();
  ASSERT_TRUE(catalog.ok());
  std::mt19937 rng(4242);
  for (const auto& d : *catalog) {
    for (const auto& p : d.patterns) {
      const uint32_t feature = FeatureFor(p.re);
      ASSERT_NE(feature, 0u) << d.id << ": catalog pattern without a shape feature: " << p.re;
      RE2 re(p.re, Latin1());
      ASSERT_TRUE(re.ok());
      int matched = 0, pruned = 0;
      for (int iter = 0; iter < 30000; ++iter) {
        const std::string t = RandomText(rng, 24);
        Shape s;
        ComputeShape(t, &s);
        if (s.overflow) continue;
        const bool may_occur = (Features(t, s) & feature) != 0;
        if (RE2::PartialMatch(t, re)) {
          ++matched;
          ASSERT_TRUE(may_occur) << d.id << " pattern " << p.re << " matches '" << t << "'";
        }
        pruned += !may_occur;
      }
      EXPECT_GT(matched, 0) << d.id << ": the generator never builds a match of " << p.re;
      // Email's check is "always": the byte prefilter before it already demands an '@'.
      if (d.id != "email") {
        EXPECT_GT(pruned, 0) << d.id << ": the check never rules out " << p.re;
      }
    }
  }
}

TEST(ShapeCheck, EditedPatternHasNoCheck) {
  EXPECT_EQ(FeatureFor("[0-9](?:[ -]?[0-9]){11,19}"), 0u);
  EXPECT_EQ(FeatureFor(internal::kCardRe), internal::kFeatCard);
}

TEST(Shape, RunsCountsAndOverflow) {
  Shape s;
  ComputeShape("a12-345 6789:x", &s);
  ASSERT_EQ(s.nruns, 3);
  EXPECT_EQ(s.runs[0].b, 1u);
  EXPECT_EQ(s.runs[0].e, 3u);
  EXPECT_EQ(s.runs[2].b, 8u);
  EXPECT_EQ(s.runs[2].e, 12u);
  EXPECT_EQ(s.dashes, 1u);
  EXPECT_EQ(s.colons, 1u);
  EXPECT_FALSE(s.overflow);
  std::string many;
  for (int i = 0; i < Shape::kMaxRuns + 1; ++i) many += "1 ";
  ComputeShape(many, &s);
  EXPECT_TRUE(s.overflow);
}

// The shape path and the Set path give byte-identical output and counts on random strings that
// mix PII, look-alikes and context words, under keys with and without context words.
TEST(ShapePath, SameOutputAsSetPath) {
  ScannerConfig with, without;
  with.hmac_key = without.hmac_key = "k";
  without.shape_pass = false;
  auto a = Scanner::Create(with);
  auto b = Scanner::Create(without);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  const std::string keys[] = {"", "textContent", "phone", "ssn_note", "tax_id", "build", "href"};
  std::mt19937 rng(99);
  int altered = 0;
  for (int iter = 0; iter < 25000; ++iter) {
    const std::string in = RandomText(rng, 30);
    const std::string& key = keys[rng() % std::size(keys)];
    std::string x = in, y = in;
    RedactionCounts cx, cy;
    const bool rx = (*a)->Redact(x, key, &cx);
    const bool ry = (*b)->Redact(y, key, &cy);
    ASSERT_EQ(x, y) << "input '" << in << "' key '" << key << "'";
    ASSERT_EQ(rx, ry);
    ASSERT_EQ(cx.by_rule, cy.by_rule);
    altered += rx;
  }
  EXPECT_GT(altered, 3000);  // the generator does plant PII
  // And on every catalog example.
  auto catalog = internal::LoadEmbeddedCatalog();
  ASSERT_TRUE(catalog.ok());
  for (const auto& d : *catalog) {
    std::vector<internal::Example> all = d.must_match;
    all.insert(all.end(), d.must_not_match.begin(), d.must_not_match.end());
    for (const auto& ex : all) {
      std::string x = ex.text, y = ex.text;
      (*a)->Redact(x, ex.key, nullptr);
      (*b)->Redact(y, ex.key, nullptr);
      EXPECT_EQ(x, y) << d.id << ": '" << ex.text << "'";
    }
  }
}

// A context word that ends right where the value starts ("ss#" then the digits) counts, on
// both paths (the gated Set once needed a byte between them for its boundary prefix).
TEST(ShapePath, ContextWordRightBeforeTheValue) {
  for (bool shape : {true, false}) {
    ScannerConfig cfg;
    cfg.hmac_key = "k";
    cfg.shape_pass = shape;
    auto s = Scanner::Create(cfg);
    ASSERT_TRUE(s.ok());
    std::string t = "ss#536221234";
    RedactionCounts c;
    EXPECT_TRUE((*s)->Redact(t, "", &c)) << "shape_pass=" << shape;
    EXPECT_EQ(c.by_rule["ssn"], 1u) << t;
    EXPECT_EQ(t.find("536221"), std::string::npos) << t;
  }
}

// The shape path really replaces the Set on replay-shaped strings: no RE2::Set pass with it,
// one per candidate string without it, and the same text either way.
TEST(ShapePath, SkipsTheSetOnReplayStrings) {
  const std::string texts[] = {"Call logged with +1 415 555 0129 at 229s",
                               "4111 1111 1111 1111",
                               "DE89 3704 0044 0532 0130 00",
                               "Updated 2023-11-14T22:15:58.000Z by jane.doe@example.com",
                               "Customer since 2020, order #100494, v2.3.3",
                               "td",
                               "1795352492409"};
  ScannerConfig with, without;
  with.hmac_key = without.hmac_key = "k";
  without.shape_pass = false;
  auto a = Scanner::Create(with);
  auto b = Scanner::Create(without);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  RedactionCounts ca, cb;
  for (const std::string& in : texts) {
    std::string x = in, y = in;
    (*a)->Redact(x, "textContent", &ca);
    (*b)->Redact(y, "textContent", &cb);
    EXPECT_EQ(x, y) << in;
  }
  EXPECT_EQ(ca.set_scans, 0u);
  EXPECT_GE(cb.set_scans, 5u);  // every string but "td" and the timestamp is a candidate
  EXPECT_EQ(ca.by_rule, cb.by_rule);
  EXPECT_GT(ca.Total(), 3u);
}

}  // namespace
}  // namespace scrubd::rules

namespace scrubd::rules {
namespace {

// With custom detectors in the scanner (no shape feature, no fast locator: their strings take
// the Set), both paths still give the same output; catalog-only strings keep the shape path.
TEST(ShapePath, SameOutputWithCustomDetectors) {
  ScannerConfig with, without;
  auto add = [&](const std::string& id, const std::string& re, std::vector<std::string> words,
                 const std::string& validator) {
    CustomDetector d;
    d.id = id;
    d.patterns.push_back({re, !words.empty(), ""});
    d.context_words = std::move(words);
    d.validator = validator;
    with.custom.push_back(d);
  };
  add("member_no", "M-[0-9]{8}", {}, "luhn");
  add("acct", "acct[ #:]*([0-9]{7})", {"acct"}, "none");
  add("staff_id", "[0-9]{6}", {"staff", "ss#"}, "none");
  add("ref",
      "(?i)r\xe9"
      "f-[a-z]{3}",
      {}, "none");
  add("iban_like", "[A-Z]{2}[0-9]{2}(?: ?[0-9]{4}){3}", {}, "mod97");
  without.custom = with.custom;
  with.hmac_key = without.hmac_key = "k";
  without.shape_pass = false;
  auto a = Scanner::Create(with);
  auto b = Scanner::Create(without);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  const std::string planted[] = {"M-12345674",
                                 "acct #1234567",
                                 "staff 204511",
                                 "R\xc9"
                                 "F-abc",
                                 "ss#536221234",
                                 "AB12 3456 7890 0041"};
  const std::string keys[] = {"", "textContent", "phone", "staff_no", "acct", "href"};
  std::mt19937 rng(2026);
  int custom = 0, set_free = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string in = RandomText(rng, 12);
    if (rng() % 2) in.insert(rng() % (in.size() + 1), planted[rng() % std::size(planted)]);
    const std::string& key = keys[rng() % std::size(keys)];
    std::string x = in, y = in;
    RedactionCounts cx, cy;
    ASSERT_EQ((*a)->Redact(x, key, &cx), (*b)->Redact(y, key, &cy));
    ASSERT_EQ(x, y) << "input '" << in << "' key '" << key << "'";
    ASSERT_EQ(cx.by_rule, cy.by_rule);
    for (const auto& d : with.custom) custom += cx.by_rule.count(d.id) > 0;
    set_free += cx.set_scans == 0 && cy.set_scans > 0;
  }
  EXPECT_GT(custom, 1500);   // the planted values are found
  EXPECT_GT(set_free, 300);  // strings no custom pattern can match still skip the Set
}

}  // namespace
}  // namespace scrubd::rules
