#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

Result<std::shared_ptr<const Policy>> Parse(const std::string& text) {
  return ParsePolicy("p.yaml", text, {});
}

std::string ErrorOf(const std::string& text) {
  auto r = Parse(text);
  return r.ok() ? "" : r.status().message();
}

TEST(PolicyLoaderTest, EmbeddedDefaultLoads) {
  auto set = LoadPolicySet({}, {});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  const Policy* p = (*set)->ForToken("phc_anything");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->name, "default");
  EXPECT_TRUE(p->masking.mask_all_inputs);
  EXPECT_EQ(p->sha256.size(), 64u);
  EXPECT_TRUE(p->consent.Uses(ConsentSignal::kGpc));
  EXPECT_EQ(p->consent.mode, ConsentMode::kOptOut);
  EXPECT_EQ(p->retention.days, 30);
}

TEST(PolicyLoaderTest, EveryShippedPolicyIsValid) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(SCRUBD_POLICIES_DIR)) {
    if (e.path().extension() != ".yaml") continue;
    if (e.path().string().ends_with(".test.yaml")) continue;  // `policy test` files
    auto set = LoadPolicySet({e.path().string()}, {});
    EXPECT_TRUE(set.ok()) << e.path() << ": " << set.status().ToString();
    ++n;
  }
  EXPECT_GE(n, 2);  // default.yaml and strict.yaml
}

TEST(PolicyLoaderTest, ErrorsCarryFileLineColumn) {
  // Prefix only: sections are added to the key table by several changes at once.
  EXPECT_TRUE(ErrorOf("version: 1\nbogus: 3\n")
                  .starts_with("p.yaml:2:1: policy: unknown key 'bogus' (known: version, name, "
                               "description, applies_to, masking, detectors, blocking, consent, "
                               "sampling, retention"));
  EXPECT_EQ(ErrorOf("version: 2\n"), "p.yaml:1:10: policy.version 2 is not supported (1)");
  EXPECT_EQ(ErrorOf("name: x\n"), "p.yaml:1:1: policy: missing required key 'version'");
  EXPECT_EQ(ErrorOf("version: 1\nsampling:\n  session_rate: lots\n"),
            "p.yaml:3:17: sampling.session_rate must be a number");
  EXPECT_EQ(ErrorOf("version: 1\nsampling: {session_rate: 2}\n"),
            "p.yaml:2:26: sampling.session_rate must be within 0..1");
  EXPECT_EQ(ErrorOf("version: 1\nconsent:\n  respect_gpc: maybe\n"),
            "p.yaml:3:16: consent.respect_gpc must be a boolean");
  EXPECT_EQ(ErrorOf("version: 1\nretention: {days: 1, days: 2}\n"),
            "p.yaml:2:22: retention: duplicate key 'days'");
  std::string re = ErrorOf("version: 1\nblocking:\n  urls: ['(unclosed']\n");
  EXPECT_EQ(re.rfind("p.yaml:3:10: blocking.urls: bad RE2 pattern", 0), 0u) << re;
  std::string syntax = ErrorOf("version: 1\nmasking: [\n");
  EXPECT_EQ(syntax.rfind("p.yaml:", 0), 0u);
  EXPECT_NE(syntax.find("YAML syntax"), std::string::npos) << syntax;
}

TEST(PolicyLoaderTest, ErasureSuppressDaysParsedAndRangeChecked) {
  auto p = Parse("version: 1\nerasure:\n  suppress_days: 90\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->erasure.suppress_days, 90);
  auto d = Parse("version: 1\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->erasure.suppress_days, 30);
  EXPECT_EQ(ErrorOf("version: 1\nerasure:\n  suppress_days: 0\n"),
            "p.yaml:3:18: erasure.suppress_days must be within 1..3650");
  EXPECT_NE(ErrorOf("version: 1\nerasure:\n  suppress: 3\n").find("p.yaml:3:3"), std::string::npos);
}

TEST(PolicyLoaderTest, TokenRoutingPrefersExactMatch) {
  auto a = Parse("version: 1\nname: a\napplies_to: ['*']\n");
  auto b = Parse("version: 1\nname: b\napplies_to: [phc_b]\n");
  ASSERT_TRUE(a.ok() && b.ok());
  PolicySet set({*a, *b});
  EXPECT_EQ(set.ForToken("phc_b")->name, "b");
  EXPECT_EQ(set.ForToken("phc_c")->name, "a");
  PolicySet only_b({*b});
  EXPECT_EQ(only_b.ForToken("phc_c"), nullptr);  // fail closed: no policy, no data
}

TEST(PolicyLoaderTest, TwoFilesClaimingOneTokenAreRejected) {
  std::filesystem::path d = std::filesystem::temp_directory_path() / "scrubd-policy-dup";
  std::filesystem::create_directories(d);
  {
    std::ofstream(d / "a.yaml") << "version: 1\napplies_to: [phc_x]\n";
    std::ofstream(d / "b.yaml") << "version: 1\napplies_to: [phc_x]\n";
  }
  auto set = LoadPolicySet({(d / "a.yaml").string(), (d / "b.yaml").string()}, {});
  EXPECT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("already claimed"), std::string::npos);
  std::filesystem::remove_all(d);
}

}  // namespace
}  // namespace scrubd::policies
