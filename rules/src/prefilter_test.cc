// The byte-class prefilter and the fast locators against RE2 itself.
#include "prefilter.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>
#include <string>

#include "catalog.h"
#include "pattern_texts.h"

namespace scrubd::rules::internal {
namespace {

RE2::Options Latin1() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  return o;
}

// Every must_match example of every catalog pattern set satisfies the pattern's requirement
// whenever RE2 finds that pattern in it (the prefilter never hides a real match).
TEST(Prefilter, SoundOnCatalogExamples) {
  auto catalog = LoadEmbeddedCatalog();
  ASSERT_TRUE(catalog.ok());
  int analyzed = 0;
  for (const auto& d : *catalog) {
    for (const auto& p : d.patterns) {
      RE2 re(p.re, Latin1());
      ASSERT_TRUE(re.ok()) << p.re;
      const PatternRequirement r = AnalyzePattern(p.re);
      analyzed += r.analyzed;
      EXPECT_TRUE(r.analyzed) << p.re;
      std::vector<Example> all = d.must_match;
      all.insert(all.end(), d.must_not_match.begin(), d.must_not_match.end());
      for (const auto& ex : all) {
        re2::StringPiece m;
        if (!re.Match(ex.text, 0, ex.text.size(), RE2::UNANCHORED, &m, 1)) continue;
        EXPECT_GE(m.size(), r.min_len) << p.re << " on " << ex.text;
        for (const ByteSet& s : r.sets) {
          bool hit = false;
          for (char c : m) hit |= s.Has(static_cast<unsigned char>(c));
          EXPECT_TRUE(hit) << p.re << " on " << ex.text;
        }
      }
    }
  }
  EXPECT_GT(analyzed, 20);
}

TEST(Prefilter, Requirements) {
  PatternRequirement r = AnalyzePattern("[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,24}");
  ASSERT_TRUE(r.analyzed);
  EXPECT_EQ(r.min_len, 6u);
  ASSERT_FALSE(r.sets.empty());
  EXPECT_EQ(r.sets[0].Count(), 1);
  EXPECT_TRUE(r.sets[0].Has('@'));
  r = AnalyzePattern(kEmailRe);  // with the atext-special runs in front
  ASSERT_TRUE(r.analyzed);
  EXPECT_EQ(r.min_len, 6u);
  ASSERT_FALSE(r.sets.empty());
  EXPECT_TRUE(r.sets[0].Has('@'));
  r = AnalyzePattern("(?i:bearer)[ ]+x");
  ASSERT_TRUE(r.analyzed);
  EXPECT_EQ(r.min_len, 8u);
  r = AnalyzePattern("a?b*");
  EXPECT_EQ(r.min_len, 0u);
  EXPECT_TRUE(r.sets.empty());
  EXPECT_FALSE(AnalyzePattern("(?P<x>a)").analyzed);
  EXPECT_FALSE(AnalyzePattern("\\pN").analyzed);
}

// (?i) folds as RE2 folds in Latin-1 mode: for every literal byte, under (?i) and in a
// positive and a negated class, the analysed set holds every byte RE2 matches (custom
// patterns may hold Latin-1 / UTF-8 bytes; the catalog is ASCII).
TEST(Prefilter, CaseFoldingMatchesRe2) {
  int folded = 0;
  for (unsigned c = 1; c < 256; ++c) {
    if (std::string_view("\\^$.|?*+()[]{}-").find(static_cast<char>(c)) != std::string_view::npos)
      continue;
    const std::string lit(1, static_cast<char>(c));
    for (const std::string& p :
         {"(?i:" + lit + ")", "(?i)" + lit, "(?i:[" + lit + "])", "(?i:[^" + lit + "])"}) {
      RE2 re(p, Latin1());
      ASSERT_TRUE(re.ok()) << c;
      const PatternRequirement r = AnalyzePattern(p);
      ASSERT_TRUE(r.analyzed) << p;
      for (unsigned b = 0; b < 256; ++b) {
        const std::string t(1, static_cast<char>(b));
        if (!RE2::FullMatch(t, re)) continue;
        folded += b != c && p.find('^') == std::string::npos;
        for (const ByteSet& s : r.sets)
          ASSERT_TRUE(s.Has(b)) << "pattern byte " << c << " byte " << b;
      }
    }
  }
  EXPECT_GT(folded, 2 * (26 + 30));  // ASCII and Latin-1 letters do fold
}

// Random strings over each pattern's interesting alphabet: the fast locator and RE2 agree on
// the leftmost-first match from every start position.
TEST(FastLocator, AgreesWithRe2) {
  std::mt19937 rng(12345);
  const std::string alphabets[] = {
      "0123456789 -",  "0123456789 -x",      "ABDEGZ0123456789 -a", "ab.@-_9X+%cO",
      "a@b.co-m.x1",   "0123456789 .-+()@A", "1234 .-+()",          "+1(2 3-4.)5",
      "0a:f:::1bcdeg", "::1.2af:Fg",         "0(1) 2.3/4-5",        "0012(34)) /.-",
      "0123456789.",   "19.2.55.1.0.3",      "0aF:-.9bX",           "ABCEHJZOQD 0123",
      "AB CD 12 34",   "a'b!.@c{o}m-|x",     "o'b.r@e.i'e@x.co"};
  for (std::string_view pat : FastLocatorPatterns()) {
    FastLocateFn fast = FindFastLocator(pat);
    ASSERT_NE(fast, nullptr);
    RE2 re(std::string(pat), Latin1());
    ASSERT_TRUE(re.ok());
    for (const std::string& alpha : alphabets) {
      for (int iter = 0; iter < 4000; ++iter) {
        std::string t;
        const size_t len = rng() % 80;
        for (size_t i = 0; i < len; ++i) t.push_back(alpha[rng() % alpha.size()]);
        for (size_t pos = 0; pos <= t.size(); pos += 1 + rng() % 7) {
          re2::StringPiece m;
          const bool want = re.Match(t, pos, t.size(), RE2::UNANCHORED, &m, 1);
          size_t b = 0, e = 0;
          const bool got = fast(t, pos, &b, &e);
          ASSERT_EQ(got, want) << pat << " on '" << t << "' from " << pos;
          if (want) {
            ASSERT_EQ(b, static_cast<size_t>(m.data() - t.data())) << pat << " on '" << t << "'";
            ASSERT_EQ(e, b + m.size()) << pat << " on '" << t << "'";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace scrubd::rules::internal

namespace scrubd::rules::internal {
namespace {

// The Set's occurrence forms answer "occurs somewhere" exactly like the catalog patterns, alone
// and (start_kept) after each boundary prefix the scanner uses.
TEST(OccurrenceForm, SameOccurrenceAsPattern) {
  std::mt19937 rng(777);
  const std::string alphabets[] = {
      "0123456789 -",       "0123456789 -x", "ABDEGZ0123456789 -a", "ab.@-_9X+%cO",  "a@b.co-m.x1",
      "0123456789 .-+()@A", "+1(2 3-4.)5",   "0(1) 2.3/4-5",        "0a:f:::1bcdeg", "::1.2af:Fg",
      "0123456789.",        "ghp_Ab1",       "github_pat_A1",       "xoxb-A1",       "xapp-1A",
      "sk_live_test_rA1",   "eyJ.a_-",       "bearer BEARER 1/=.",  "a'b!.@c{o}m-|x"};
  const std::string prefixes[] = {"", "(?:^|[^0-9])", "(?:^|[^0-9A-Za-z])", "(?:^|[^0-9A-Za-z_-])"};
  for (const OccurrenceForm& f : OccurrenceForms()) {
    for (const std::string& prefix : prefixes) {
      if (!prefix.empty() && !f.start_kept) continue;
      RE2 full(prefix + "(?:" + std::string(f.re) + ")", Latin1());
      RE2 occ(prefix + "(?:" + std::string(f.occurs) + ")", Latin1());
      ASSERT_TRUE(full.ok()) << f.re;
      ASSERT_TRUE(occ.ok()) << f.occurs;
      for (const std::string& alpha : alphabets) {
        for (int iter = 0; iter < 1500; ++iter) {
          std::string t;
          const size_t len = rng() % 120;
          for (size_t i = 0; i < len; ++i) t.push_back(alpha[rng() % alpha.size()]);
          ASSERT_EQ(RE2::PartialMatch(t, full), RE2::PartialMatch(t, occ))
              << f.re << " vs " << f.occurs << " on '" << t << "' prefix " << prefix;
        }
      }
    }
  }
}

}  // namespace
}  // namespace scrubd::rules::internal
