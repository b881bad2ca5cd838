#include "scrubd/policies/masking.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

namespace scrubd::policies {
namespace {

Result<MaskingPolicy> Parse(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  return ParseMaskingSection("p.yaml", root["masking"]);
}

TEST(MaskingPolicyTest, AbsentSectionIsPrivacySafe) {
  auto p = Parse("other: 1");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->mask_all_inputs);
  EXPECT_EQ(p->block.ToString(), ".ph-no-capture, [data-ph-no-capture]");
  EXPECT_EQ(p->mask_text.ToString(), ".ph-mask");
  EXPECT_TRUE(p->MasksAttribute("placeholder"));
  EXPECT_TRUE(p->MasksAttribute("data-user"));
  EXPECT_FALSE(p->MasksAttribute("href"));
  EXPECT_TRUE(p->MasksInputType("email"));
  EXPECT_TRUE(p->MasksInputType("hidden"));
  EXPECT_FALSE(p->MasksInputType("checkbox"));
  ASSERT_NE(p->compiled, nullptr);
  EXPECT_EQ(p->compiled->list_count(), 3u);
}

TEST(MaskingPolicyTest, ParsesEveryKey) {
  auto p = Parse(R"(
masking:
  mask_all_inputs: false
  mask_input_types: [email, TEL]
  mask_all_text: true
  block: "#a, .b"
  mask_text: [".c", "div > p"]
  unmask_text: [".public"]
  mask_attributes: [title, data-*]
  block_media: true
  console: drop
  network: scrub
  network_bodies: scrub
  redact_headers: [X-Session]
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->mask_all_inputs);
  EXPECT_TRUE(p->MasksInputType("tel"));
  EXPECT_TRUE(p->MasksInputType("password"));  // always
  EXPECT_FALSE(p->MasksInputType("text"));
  EXPECT_TRUE(p->mask_all_text);
  EXPECT_EQ(p->block.ToString(), "#a, .b");
  EXPECT_EQ(p->mask_text.ToString(), ".c, div > p");
  EXPECT_EQ(p->unmask_text.ToString(), ".public");
  EXPECT_FALSE(p->MasksAttribute("placeholder"));
  EXPECT_TRUE(p->block_media);
  EXPECT_EQ(p->console, PluginAction::kDrop);
  EXPECT_EQ(p->network, PluginAction::kScrub);
  EXPECT_EQ(p->network_bodies, PluginAction::kScrub);
  EXPECT_EQ(p->redact_headers, std::vector<std::string>{"x-session"});
}

void ExpectError(const std::string& yaml, const std::string& where, const std::string& what) {
  auto p = Parse(yaml);
  ASSERT_FALSE(p.ok()) << yaml;
  EXPECT_EQ(p.status().code(), Code::kInvalidConfig);
  EXPECT_NE(p.status().message().find(where), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find(what), std::string::npos) << p.status().message();
}

TEST(MaskingPolicyTest, ErrorsPointAtFileLineCol) {
  ExpectError("masking:\n  block:\n    - .ok\n    - 'a + b'\n", "p.yaml:4:7", "sibling");
  ExpectError("masking:\n  mask_text: 'div:hover'\n", "p.yaml:2:14", "pseudo-classes");
  ExpectError("masking:\n  mask_al_inputs: true\n", "p.yaml:2:3", "unknown key");
  ExpectError("masking:\n  mask_all_inputs: maybe\n", "p.yaml:2:20", "boolean");
  ExpectError("masking:\n  mask_input_types: [emial]\n", "p.yaml:2:22", "unknown input type");
  ExpectError("masking:\n  console: keep\n", "p.yaml:2:12", "'scrub' or 'drop'");
  ExpectError("masking:\n  mask_attributes: [class]\n", "p.yaml:2:21", "structural");
  ExpectError("masking:\n  unmask_text: ['']\n", "p.yaml:2:17", "selector");
  ExpectError("masking:\n  block: {a: 1}\n", "p.yaml:2:10", "selector string");
  ExpectError("masking: [1]\n", "p.yaml:1:10", "mapping");
}

TEST(MaskingPolicyTest, ShippedPoliciesLoad) {
  for (const char* name : {"default.yaml", "strict.yaml"}) {
    std::string path = std::string(SCRUBD_POLICIES_DIR) + "/" + name;
    YAML::Node root = YAML::LoadFile(path);
    auto p = ParseMaskingSection(path, root["masking"]);
    ASSERT_TRUE(p.ok()) << name << ": " << p.status().ToString();
    EXPECT_TRUE(p->mask_all_inputs) << name;
    EXPECT_FALSE(p->block.empty()) << name;
  }
  YAML::Node strict = YAML::LoadFile(std::string(SCRUBD_POLICIES_DIR) + "/strict.yaml");
  auto s = ParseMaskingSection("strict.yaml", strict["masking"]);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->mask_all_text);
  EXPECT_TRUE(s->block_media);
  EXPECT_EQ(s->console, PluginAction::kDrop);
}

}  // namespace
}  // namespace scrubd::policies
