// Runs every must_match / must_not_match example of every embedded catalog detector.
#include "catalog.h"

#include <gtest/gtest.h>

#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

std::shared_ptr<const Scanner> FullScanner() {
  ScannerConfig cfg;
  cfg.hmac_key = "test-key";
  auto s = Scanner::Create(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s.value() : nullptr;
}

TEST(Catalog, LoadsAndHasTheRequiredDetectors) {
  auto cat = internal::LoadEmbeddedCatalog();
  ASSERT_TRUE(cat.ok()) << cat.status().ToString();
  std::set<std::string> ids;
  for (const auto& d : *cat) ids.insert(d.id);
  for (const char* id : {"email",
                         "card",
                         "iban",
                         "ssn",
                         "phone",
                         "ipv4",
                         "ipv6",
                         "mac",
                         "jwt",
                         "bearer",
                         "aws_key",
                         "github_token",
                         "stripe_key",
                         "google_api_key",
                         "slack_token",
                         "url_credentials",
                         "url_query_secret",
                         "pem_key",
                         "uk_nino",
                         "de_tax_id"})
    EXPECT_TRUE(ids.count(id)) << id;
  for (const auto& d : *cat) {
    EXPECT_GE(d.must_match.size(), 10u) << d.id;
    EXPECT_GE(d.must_not_match.size(), 10u) << d.id;
  }
}

TEST(Catalog, EveryExample) {
  auto scanner = FullScanner();
  ASSERT_TRUE(scanner);
  auto cat = internal::LoadEmbeddedCatalog();
  ASSERT_TRUE(cat.ok());
  int checked = 0;
  for (const auto& d : *cat) {
    for (const auto& ex : d.must_match) {
      std::string text = ex.text;
      RedactionCounts counts;
      // Examples are about content detectors, so the key only adds context, never key-based
      // redaction: use a neutral key that carries the example's key as a word.
      scanner->Redact(text, ex.key, &counts);
      EXPECT_GT(counts.by_rule[d.id], 0u) << d.file << ": must_match did not fire: '" << ex.text
                                          << "' key='" << ex.key << "' -> '" << text << "'";
      ++checked;
    }
    for (const auto& ex : d.must_not_match) {
      std::string text = ex.text;
      RedactionCounts counts;
      scanner->Redact(text, ex.key, &counts);
      EXPECT_EQ(counts.by_rule[d.id], 0u) << d.file << ": must_not_match fired: '" << ex.text
                                          << "' key='" << ex.key << "' -> '" << text << "'";
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
}

TEST(Catalog, BadFileReportsLocation) {
  auto r = internal::ParseDetectorFile("x.yaml", "id: a\npatternz: []\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x.yaml:2:1"), std::string::npos) << r.status().message();
  r = internal::ParseDetectorFile(
      "y.yaml",
      "id: a\npatterns: ['x']\nvalidator: nope\nredaction: {method: mask}\n"
      "must_match: []\nmust_not_match: []\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("y.yaml:3:12"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace scrubd::rules
