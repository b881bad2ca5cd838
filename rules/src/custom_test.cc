// Custom detectors (`detectors.custom`): parsing with file:line:col errors and bounds, the
// scanner finding and counting them by id, the example check, and soundness for patterns the
// prefilter and the shape pass do not know (random RE2 patterns against RE2 itself).
#include <gtest/gtest.h>
#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <random>

#include "catalog.h"
#include "prefilter.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

Result<ScannerConfig> Parse(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  return ParseDetectorsSection("policy.yaml", root["detectors"]);
}

// A member number with a Luhn check digit, and a case reference checked by mod-97.
constexpr const char* kPolicy = R"(detectors:
  custom:
    - id: member_no
      description: ACME member numbers, M- and 8 digits with a Luhn check digit
      patterns: ['M-[0-9]{8}']
      validator: luhn
      method: mask
      keep_last: 2
      must_match: ['M-12345674', {text: 'member M-49302177 joined', key: note}]
      must_not_match: ['M-12345675', 'XM-12345674']
    - id: case_ref
      description: case references, 10 digits whose last two are a mod-97 check
      patterns: ['(?i)\bcase (?:no\. )?([0-9]{10})']
      validator: mod97
      label: '[CASE]'
      must_match: ['Case no. 2024051762', 'see case 1999123150.']
      must_not_match: ['case 2024051763', 'showcase 2024051762']
    - id: staff_id
      description: staff ids, 6 digits, only near the word staff or badge
      patterns: ['[0-9]{6}']
      context: [staff, badge]
      method: replace
      must_match: ['staff: 204511', {text: '204511', key: staffId}]
      must_not_match: ['order 204511', '1204511']
)";

std::shared_ptr<const Scanner> Make(ScannerConfig cfg, bool shape = true) {
  cfg.hmac_key = "k";
  cfg.shape_pass = shape;
  auto s = Scanner::Create(cfg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? s.value() : nullptr;
}

TEST(CustomDetectors, ParseAllFields) {
  auto r = Parse(kPolicy);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->custom.size(), 3u);
  const CustomDetector& m = r->custom[0];
  EXPECT_EQ(m.id, "member_no");
  EXPECT_EQ(m.where, "policy.yaml:3:7");
  EXPECT_EQ(m.validator, "luhn");
  EXPECT_EQ(m.method, Method::kMask);
  EXPECT_EQ(m.keep_last, 2);
  ASSERT_EQ(m.must_match.size(), 2u);
  EXPECT_EQ(m.must_match[1].key, "note");
  EXPECT_EQ(m.must_match[1].where, "policy.yaml:9:34");
  EXPECT_FALSE(m.patterns[0].context_required);
  EXPECT_TRUE(r->custom[2].patterns[0].context_required);  // `context` makes it required
  EXPECT_EQ(r->custom[2].context_words.size(), 2u);
}

TEST(CustomDetectors, FoundCountedByIdOnBothPaths) {
  auto cfg = Parse(kPolicy);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  for (bool shape : {true, false}) {
    auto s = Make(*cfg, shape);
    ASSERT_TRUE(s);
    std::string t = "Member M-12345674 (case no. 2024051762), staff 204511, jane@example.com";
    RedactionCounts c;
    EXPECT_TRUE(s->Redact(t, "note", &c));
    EXPECT_EQ(t, "Member *-******74 (case no. [CASE]), staff [STAFF_ID], [EMAIL]") << shape;
    EXPECT_EQ(c.by_rule["member_no"], 1u);
    EXPECT_EQ(c.by_rule["case_ref"], 1u);
    EXPECT_EQ(c.by_rule["staff_id"], 1u);
    EXPECT_EQ(c.by_rule["email"], 1u);
    EXPECT_EQ(c.by_method["mask"], 1u);
    // Checks reject look-alikes: a wrong Luhn digit, a wrong mod-97 pair, no context word.
    std::string miss = "M-12345675 case 2024051763 order 204511";
    EXPECT_FALSE(s->Redact(miss, "note", nullptr)) << miss;
    const auto ids = s->DetectorIds();
    EXPECT_NE(std::find(ids.begin(), ids.end(), "case_ref"), ids.end());
  }
}

TEST(CustomDetectors, ExamplesPassAndAMissNamesTheExampleNotItsText) {
  auto cfg = Parse(kPolicy);
  ASSERT_TRUE(cfg.ok());
  auto s = Make(*cfg);
  EXPECT_TRUE(CheckCustomExamples(*s, *cfg).ok()) << CheckCustomExamples(*s, *cfg).ToString();
  // A must_match example the detector does not redact (a catalog email wins the span).
  const std::string canary = "canary.zq9@example.com";
  std::string yaml = std::string(kPolicy) +
                     "    - id: login\n      description: logins\n"
                     "      patterns: ['[a-z.0-9]+@example[.]com']\n"
                     "      must_match: ['zz', '" +
                     canary +
                     "']\n"
                     "      must_not_match: ['nobody']\n";
  auto bad = Parse(yaml);
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  auto sb = Make(*bad);
  Status st = CheckCustomExamples(*sb, *bad);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidConfig);
  EXPECT_NE(st.message().find("policy.yaml:28:20: detectors.custom.login.must_match[0]"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("fired: nothing"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("zz"), std::string::npos);
  (*bad).custom.back().must_match.erase((*bad).custom.back().must_match.begin());
  st = CheckCustomExamples(*sb, *bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not redacted by 'login' (fired: email)"), std::string::npos)
      << st.message();
  EXPECT_EQ(st.message().find("canary"), std::string::npos) << "example text never echoed";
  // A must_not_match example it does redact (its span is longer than the email's).
  auto nm = Parse(R"(detectors:
  custom:
    - id: login
      description: logins
      patterns: ['ok [a-z]@example[.]com']
      must_match: ['ok y@example.com']
      must_not_match: ['ok', 'ok x@example.com']
)");
  ASSERT_TRUE(nm.ok()) << nm.status().ToString();
  st = CheckCustomExamples(*Make(*nm), *nm);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("policy.yaml:7:30: detectors.custom.login.must_not_match[1] is "
                              "redacted by 'login'"),
            std::string::npos)
      << st.message();
}

void ExpectError(const std::string& entry, const std::string& where, const std::string& what) {
  auto r = Parse("detectors:\n  custom:\n" + entry);
  ASSERT_FALSE(r.ok()) << entry;
  EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
  EXPECT_NE(r.status().message().find(where + ": "), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
}

std::string Entry(const std::string& id, const std::string& extra,
                  const std::string& patterns = "['X[0-9]{4}']") {
  return "    - id: " + id + "\n      description: d\n      patterns: " + patterns +
         "\n      must_match: [X1234]\n      must_not_match: [X12]\n" + extra;
}

TEST(CustomDetectors, ErrorsCarryLineAndColumn) {
  ExpectError(Entry("email", ""), "policy.yaml:3:11", "is a catalog detector");
  ExpectError(Entry("Bad-Id", ""), "policy.yaml:3:11", "id must be a lower-case letter");
  ExpectError(Entry("a", "") + Entry("a", ""), "policy.yaml:8:11", "duplicate id 'a'");
  ExpectError(Entry("a", "      validator: luhnn\n"), "policy.yaml:8:18", "unknown validator");
  ExpectError(Entry("a", "      boundary: edge\n"), "policy.yaml:8:17", "boundary must be");
  ExpectError(Entry("a", "      method: truncate_ip\n"), "policy.yaml:8:15", "unknown method");
  ExpectError(Entry("a", "      keep_last: 99\n"), "policy.yaml:8:18", "keep_last must be 0..64");
  ExpectError(Entry("a", "      colour: red\n"), "policy.yaml:8:7", "unknown key 'colour'");
  ExpectError(Entry("a", "", "['ok[0-9]', '(x']"), "policy.yaml:5:29", "bad RE2 pattern");
  ExpectError(Entry("a", "", "['[0-9]*']"), "policy.yaml:5:18", "must not match the empty");
  ExpectError(Entry("a", "", "[{re: '[0-9]{4}', context_required: true}]"), "policy.yaml:5:18",
              "needs context words");
  ExpectError(Entry("a", "", "['" + std::string(600, 'a') + "']"), "policy.yaml:5:18",
              "longer than 512 bytes");
  ExpectError(Entry("a", "", "['[a-z]{1000}[0-9]{1000}[A-Z]{1000}[_-]{1000}[a-f]{1000}']"),
              "policy.yaml:5:18", "too large");
  ExpectError(Entry("a", "", "[]"), "policy.yaml:5:17", "at least one RE2 pattern");
  ExpectError("    - id: a\n      description: d\n      patterns: [x]\n      must_match: [x]\n",
              "policy.yaml:3:7", "missing required key 'must_not_match'");
  ExpectError(
      "    - id: a\n      description: d\n      patterns: [x]\n      must_match: []\n"
      "      must_not_match: [y]\n",
      "policy.yaml:6:19", "at least one example");
  ExpectError(
      "    - id: a\n      description: d\n      patterns: [x]\n      must_match: ['']\n"
      "      must_not_match: [y]\n",
      "policy.yaml:6:20", "must not be empty");
  ExpectError(
      "    - id: a\n      description: d\n      patterns: [x]\n      context: [staff, '']\n"
      "      must_match: [x]\n      must_not_match: [y]\n",
      "policy.yaml:6:24", "a word is 1..64 bytes");
  ExpectError("    - just a string\n", "policy.yaml:3:7", "must be a mapping");
  std::string many;
  for (int i = 0; i < 17; ++i) many += Entry("d" + std::to_string(i), "");
  ExpectError(many, "policy.yaml:3:5", "more than 16 detectors");
  std::string patterns;
  for (int i = 0; i < 9; ++i) patterns += Entry("p" + std::to_string(i), "", "[a1, b2, c3, d4]");
  ExpectError(patterns, "policy.yaml:45:17", "more than 32 patterns in all");
}

// Create holds a config built in code to the same rules.
TEST(CustomDetectors, CreateValidatesToo) {
  CustomDetector d;
  d.id = "x1";
  d.patterns.push_back({"X[0-9]{4}", false, ""});
  auto bad = [&](auto edit, const std::string& why) {
    ScannerConfig cfg;
    CustomDetector e = d;
    edit(e);
    cfg.custom.push_back(e);
    auto s = Scanner::Create(cfg);
    ASSERT_FALSE(s.ok()) << why;
    EXPECT_NE(s.status().message().find(why), std::string::npos) << s.status().message();
  };
  bad([](CustomDetector& e) { e.id = "card"; }, "id already taken");
  bad([](CustomDetector& e) { e.validator = "nope"; }, "unknown validator");
  bad([](CustomDetector& e) { e.method = Method::kTruncateIp; }, "truncate_ip");
  bad([](CustomDetector& e) { e.patterns[0].re = "(x"; }, "bad RE2");
  bad([](CustomDetector& e) { e.patterns[0].context_required = true; }, "needs context words");
  bad([](CustomDetector& e) { e.method = Method::kHash; }, "hmac_key");
  ScannerConfig cfg;
  for (int i = 0; i < 17; ++i) {
    cfg.custom.push_back(d);
    cfg.custom.back().id = "d" + std::to_string(i);
  }
  EXPECT_FALSE(Scanner::Create(cfg).ok());
  cfg.custom.resize(1);
  EXPECT_TRUE(Scanner::Create(cfg).ok());
}

// A context word inside the match, before the captured value, counts (HasContext looks before
// the value): the gated RE2::Set must not demand a second one before the match.
TEST(CustomDetectors, ContextWordInsideTheMatchBeforeTheValue) {
  auto cfg = Parse(R"(detectors:
  custom:
    - id: acct
      description: account numbers after 'acct'
      patterns: ['acct[ #:]*([0-9]{7})']
      context: [acct]
      must_match: ['acct 1234567']
      must_not_match: ['1234567']
)");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  for (bool shape : {true, false}) {
    auto s = Make(*cfg, shape);
    std::string t = "ref acct #1234567 ok";
    RedactionCounts c;
    EXPECT_TRUE(s->Redact(t, "textContent", &c)) << shape;
    EXPECT_EQ(t, "ref acct #[ACCT] ok");
    EXPECT_TRUE(CheckCustomExamples(*s, *cfg).ok());
  }
}

// ---- soundness for patterns nobody hand-analysed ---------------------------------------

// Random RE2 syntax over a small alphabet: literals (ASCII and Latin-1 letters), classes,
// negated classes, Perl classes, groups with and without flags, (?i) flag groups, repeats,
// alternation, anchors and word boundaries.
class PatternGen {
 public:
  explicit PatternGen(uint32_t seed) : rng_(seed) {}
  std::string Pattern() { return Alt(0); }
  std::string Text(size_t max_len) {
    static const std::string kAlpha = std::string("abAB01 -.@x_") + "\xe9\xc9\xdf";
    std::string t;
    const size_t n = rng_() % (max_len + 1);
    for (size_t i = 0; i < n; ++i) t.push_back(kAlpha[rng_() % kAlpha.size()]);
    return t;
  }

 private:
  std::string Alt(int depth) {
    std::string s = Concat(depth);
    while (rng_() % 5 == 0) s += "|" + Concat(depth);
    return s;
  }
  std::string Concat(int depth) {
    std::string s;
    const int n = 1 + rng_() % 4;
    for (int i = 0; i < n; ++i) s += Repeat(depth);
    return s;
  }
  std::string Repeat(int depth) {
    std::string a = Atom(depth);
    static const char* kOps[] = {"",    "",      "",      "*",    "+",  "?",
                                 "{2}", "{1,3}", "{0,2}", "{2,}", "*?", "+?"};
    if (a.size() > 2 && a.substr(0, 3) == "(?i" && a.back() == ')' && a.find(':') == a.npos)
      return a;  // a flag group takes no repeat
    return a + kOps[rng_() % std::size(kOps)];
  }
  std::string Atom(int depth) {
    static const char* kAtoms[] = {
        "a",   "b",     "A",    "0",      "1",       "-",        " ",           "@",
        "\\.", ".",     "\xe9", "\xc9",   "\\d",     "\\w",      "\\s",         "\\D",
        "\\W", "[a-b]", "[^a]", "[0-1 ]", "[\xe9x]", "[^\xc9@]", "[[:alpha:]]", "\\b",
        "^",   "$",     "\\pL", "(?i)",   "(?-i)",   "[\\d.]"};
    if (depth < 3 && rng_() % 4 == 0) {
      static const char* kOpen[] = {"(?:", "(", "(?i:", "(?-i:", "(?s:", "(?i-s:"};
      return kOpen[rng_() % std::size(kOpen)] + Alt(depth + 1) + ")";
    }
    return kAtoms[rng_() % std::size(kAtoms)];
  }
  std::mt19937 rng_;
};

RE2::Options Latin1() {
  RE2::Options o;
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_log_errors(false);
  return o;
}

// Whenever RE2 matches (from any start), the match is at least min_len bytes and holds a byte
// of every required set: the prefilter never hides a match of a pattern it has not seen.
TEST(CustomSoundness, PrefilterNeverHidesARandomPatternsMatch) {
  PatternGen gen(2026);
  int patterns = 0, analyzed = 0, with_sets = 0, matches = 0;
  while (patterns < 3000) {
    const std::string p = gen.Pattern();
    RE2 re(p, Latin1());
    if (!re.ok()) continue;
    ++patterns;
    const internal::PatternRequirement r = internal::AnalyzePattern(p);
    analyzed += r.analyzed;
    with_sets += !r.sets.empty();
    for (int k = 0; k < 40; ++k) {
      const std::string t = gen.Text(16);
      for (size_t pos = 0; pos <= t.size(); ++pos) {
        re2::StringPiece m;
        if (!re.Match(t, pos, t.size(), RE2::ANCHOR_START, &m, 1)) continue;
        ++matches;
        ASSERT_GE(m.size(), r.min_len) << "pattern '" << p << "' on '" << t << "'";
        for (const internal::ByteSet& s : r.sets) {
          bool hit = false;
          for (char c : m) hit |= s.Has(static_cast<unsigned char>(c));
          ASSERT_TRUE(hit) << "pattern '" << p << "' on '" << t << "'";
        }
      }
    }
  }
  EXPECT_GT(analyzed, 1000);  // not vacuous: most patterns get a requirement
  EXPECT_GT(with_sets, 500);
  EXPECT_GT(matches, 50000);
}

// End to end: a random pattern as the only detector (catalog off, no validator, no boundary)
// redacts every string RE2 finds it in, on the shape path and the Set path alike, with and
// without a context word (then required and given in the key).
TEST(CustomSoundness, ScannerFiresWheneverRe2Matches) {
  std::vector<std::string> catalog_ids;
  auto catalog = internal::LoadEmbeddedCatalog();
  ASSERT_TRUE(catalog.ok());
  for (const auto& d : *catalog) catalog_ids.push_back(d.id);
  PatternGen gen(7);
  int built = 0, fired = 0;
  while (built < 400) {
    std::string p = gen.Pattern();
    for (size_t i = 0; i + 1 < p.size(); ++i)  // no capture groups: the match is the value
      if (p[i] == '(' && p[i + 1] != '?' && (i == 0 || p[i - 1] != '\\')) p.insert(i + 1, "?:");
    RE2 re(p, Latin1());
    if (!re.ok() || RE2::FullMatch("", re) || p.find("\\b") != p.npos) continue;
    ++built;
    const bool context = built % 2 == 0;
    ScannerConfig cfg;
    cfg.disabled = catalog_ids;
    CustomDetector d;
    d.id = "rnd";
    d.boundary = "none";
    d.patterns.push_back({p, context, ""});
    if (context) d.context_words = {"ctx"};
    cfg.custom.push_back(d);
    auto shape = Make(cfg, true), set = Make(cfg, false);
    ASSERT_TRUE(shape && set) << p;
    for (int k = 0; k < 60; ++k) {
      const std::string t = gen.Text(16);
      if (t.empty()) continue;
      const bool want = RE2::PartialMatch(t, re);
      const std::string key = context ? "ctx" : "";
      std::string a = t, b = t;
      RedactionCounts ca, cb;
      shape->Redact(a, key, &ca);
      set->Redact(b, key, &cb);
      ASSERT_EQ(a, b) << "pattern '" << p << "' on '" << t << "'";
      if (want) {
        ++fired;
        ASSERT_GE(ca.by_rule["rnd"], 1u) << "pattern '" << p << "' on '" << t << "'";
      }
    }
  }
  EXPECT_GT(fired, 2000);
}

}  // namespace
}  // namespace scrubd::rules
