#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "scrubd/policies/policy.h"
#include "scrubd/policies/url_policy.h"

namespace scrubd::policies {
namespace {

Result<UrlPolicy> Parse(const std::string& yaml) {
  return ParseUrlsSection("p.yaml", YAML::Load(yaml));
}

TEST(UrlsSectionTest, ParsesEveryKey) {
  auto p = Parse(
      "allow_params: [UTM_Source, page]\npath_templates: ['/users/:id', '/o/*/i/:item/**']\n"
      "id_segments: true\nstrip_fragment: true\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->query_mode, UrlPolicy::QueryMode::kAllow);
  EXPECT_EQ(p->params, (std::vector<std::string>{"page", "utm_source"}));
  ASSERT_EQ(p->path_templates.size(), 2u);
  EXPECT_EQ(p->path_templates[1].segments,
            (std::vector<std::string>{"o", "*", "i", ":item", "**"}));
  EXPECT_TRUE(p->id_segments);
  EXPECT_TRUE(p->strip_fragment);
  EXPECT_TRUE(Parse("").value().empty());
}

TEST(UrlsSectionTest, ErrorsCarryLocations) {
  struct Case {
    const char* yaml;
    const char* where;
  } cases[] = {
      {"allow_params: [a]\ndeny_params: [b]\n", "p.yaml:2:14"},
      {"deny: [a]\n", "p.yaml:1:1"},
      {"path_templates: ['users/:id']\n", "p.yaml:1:18"},
      {"path_templates: ['/users/:']\n", "p.yaml:1:18"},
      {"path_templates: ['/a/**/b']\n", "p.yaml:1:18"},
      {"path_templates: ['/a?x=1']\n", "p.yaml:1:18"},
      {"id_segments: maybe\n", "p.yaml:1:14"},
      {"deny_params: ['']\n", "p.yaml:1:15"},
  };
  for (const auto& c : cases) {
    auto p = Parse(c.yaml);
    ASSERT_FALSE(p.ok()) << c.yaml;
    EXPECT_EQ(p.status().message().rfind(c.where, 0), 0u) << p.status().message();
  }
}

TEST(UrlsSectionTest, LoadedThroughMasking) {
  auto p = ParsePolicy("p.yaml", "version: 1\nmasking:\n  urls: {deny_params: [token]}\n", {});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->masking.urls.query_mode, UrlPolicy::QueryMode::kDeny);
  auto bad = ParsePolicy("p.yaml", "version: 1\nmasking:\n  urls: {nope: 1}\n", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.yaml:3:10"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace scrubd::policies
