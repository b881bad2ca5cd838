#include "scrubd/policies/selector.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace scrubd::policies {
namespace {

// A tiny element tree for ElementView-based matching.
class FakeElement : public ElementView {
 public:
  FakeElement(std::string tag, std::map<std::string, std::string> attrs,
              const FakeElement* parent = nullptr)
      : tag_(std::move(tag)), attrs_(std::move(attrs)), parent_(parent) {}
  std::string_view TagName() const override { return tag_; }
  std::optional<std::string_view> Attribute(std::string_view name) const override {
    auto it = attrs_.find(std::string(name));
    if (it == attrs_.end()) return std::nullopt;
    return it->second;
  }
  const ElementView* Parent() const override { return parent_; }
  std::map<std::string, std::string>& attrs() { return attrs_; }

 private:
  std::string tag_;
  std::map<std::string, std::string> attrs_;
  const FakeElement* parent_;
};

SelectorList P(std::string_view s) {
  auto r = SelectorList::Parse(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? r.value() : SelectorList();
}

// Matches via the atom path, building the chain from the fake tree.
bool AtomMatch(const SelectorList& list, const FakeElement& e) {
  auto cs = CompiledSelectors::Build({&list});
  EXPECT_TRUE(cs.ok());
  std::vector<CompiledSelectors::Atoms> chain;
  for (const ElementView* cur = &e; cur != nullptr; cur = cur->Parent()) {
    auto* f = static_cast<const FakeElement*>(cur);
    CompiledSelectors::Atoms a = cs->EvaluateTag(f->TagName());
    for (const auto& [k, v] : const_cast<FakeElement*>(f)->attrs())
      a = cs->UpdateAttribute(a, k, v);
    chain.insert(chain.begin(), a);
  }
  return cs->Matches(0, chain);
}

class SelectorTest : public ::testing::Test {
 protected:
  FakeElement html_{"html", {}};
  FakeElement body_{"body", {{"class", "app  dark"}}, &html_};
  FakeElement form_{"form", {{"id", "signup"}, {"data-ph-no-capture", ""}}, &body_};
  FakeElement div_{"div", {{"class", "row"}}, &form_};
  FakeElement input_{
      "input", {{"type", "email"}, {"name", "user_email"}, {"class", "ph-mask big"}}, &div_};

  void ExpectBoth(std::string_view sel, const FakeElement& e, bool want) {
    SelectorList l = P(sel);
    EXPECT_EQ(l.Matches(e), want) << sel << " (view)";
    EXPECT_EQ(AtomMatch(l, e), want) << sel << " (atoms)";
  }
};

TEST_F(SelectorTest, SimpleSelectors) {
  ExpectBoth("input", input_, true);
  ExpectBoth("INPUT", input_, true);
  ExpectBoth("*", input_, true);
  ExpectBoth("div", input_, false);
  ExpectBoth(".ph-mask", input_, true);
  ExpectBoth(".big", input_, true);
  ExpectBoth(".ph", input_, false);  // token match, not substring
  ExpectBoth("#signup", form_, true);
  ExpectBoth("#sign", form_, false);
  ExpectBoth("[data-ph-no-capture]", form_, true);
  ExpectBoth("[type=email]", input_, true);
  ExpectBoth("[type=\"email\"]", input_, true);
  ExpectBoth("[type='text']", input_, false);
  ExpectBoth("[name^=user]", input_, true);
  ExpectBoth("[name$=_email]", input_, true);
  ExpectBoth("[name*=er_em]", input_, true);
  ExpectBoth("[name^=email]", input_, false);
  ExpectBoth("input.ph-mask[type=email]", input_, true);
  ExpectBoth("input.ph-mask[type=tel]", input_, false);
}

TEST_F(SelectorTest, CombinatorsListsAndNot) {
  ExpectBoth("form input", input_, true);
  ExpectBoth("form > input", input_, false);
  ExpectBoth("div > input", input_, true);
  ExpectBoth("body form > div input", input_, true);
  ExpectBoth(".dark .row > .ph-mask", input_, true);
  ExpectBoth("html > form input", input_, false);
  ExpectBoth("#nope, [data-ph-no-capture] input", input_, true);
  ExpectBoth("input:not(.other)", input_, true);
  ExpectBoth("input:not(.big)", input_, false);
  ExpectBoth(":not([type=password])", input_, true);
  ExpectBoth("form:not(#signup) input", input_, false);
  ExpectBoth("  .row   input  ", input_, true);
  ExpectBoth(".md\\:flex", FakeElement("p", {{"class", "md:flex"}}), true);
}

TEST_F(SelectorTest, UnsupportedSelectorsAreErrors) {
  for (const char* bad :
       {"a + b",        "a ~ b",    "a:hover", "a::before", "[x~=y]",  "[x|=y]", "a >",
        ",a",           "a,",       "[x",      "[x=]",      "#",       ".",      ":not(a b)",
        ":not(.a, .b)", "a[x=y i]", "",        "a!",        ":not(*)", "[x='y"}) {
    auto r = SelectorList::Parse(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' should be rejected";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidConfig);
      EXPECT_NE(r.status().message().find("character"), std::string::npos) << r.status().message();
    }
  }
  auto r = SelectorList::Parse(".ok, div:first-child");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("character 9 (':first-child')"), std::string::npos)
      << r.status().message();
}

TEST_F(SelectorTest, AtomUpdatesAreExactPerAttribute) {
  SelectorList l = P(".ph-mask, [data-x=1], #id, div");
  auto cs = CompiledSelectors::Build({&l}).value();
  EXPECT_EQ(cs.atom_count(), 4u);
  EXPECT_TRUE(cs.IsRelevantAttribute("class"));
  EXPECT_TRUE(cs.IsRelevantAttribute("data-x"));
  EXPECT_FALSE(cs.IsRelevantAttribute("title"));
  CompiledSelectors::Atoms a = cs.EvaluateTag("span");
  a = cs.UpdateAttribute(a, "class", "foo ph-mask");
  std::vector<CompiledSelectors::Atoms> chain{a};
  EXPECT_TRUE(cs.Matches(0, chain));
  chain[0] = cs.UpdateAttribute(chain[0], "class", std::nullopt);
  EXPECT_FALSE(cs.Matches(0, chain));
  chain[0] = cs.UpdateAttribute(chain[0], "data-x", "1");
  EXPECT_TRUE(cs.Matches(0, chain));
  EXPECT_EQ(cs.UpdateAttribute(chain[0], "title", "zzz"), chain[0]);
}

TEST_F(SelectorTest, AtomLimitAndFingerprint) {
  std::string many;
  for (int i = 0; i < 65; ++i) many += (i ? ", .c" : ".c") + std::to_string(i);
  SelectorList l = P(many);
  auto cs = CompiledSelectors::Build({&l});
  EXPECT_FALSE(cs.ok());
  SelectorList a = P(".a"), b = P(".b");
  EXPECT_NE(CompiledSelectors::Build({&a}).value().fingerprint(),
            CompiledSelectors::Build({&b}).value().fingerprint());
  EXPECT_EQ(CompiledSelectors::Build({&a}).value().fingerprint(),
            CompiledSelectors::Build({&a}).value().fingerprint());
}

TEST_F(SelectorTest, AppendAndToString) {
  SelectorList l = P(".a");
  l.Append(P("div > p"));
  EXPECT_EQ(l.ToString(), ".a, div > p");
  EXPECT_FALSE(l.empty());
  EXPECT_TRUE(SelectorList().empty());
}

}  // namespace
}  // namespace scrubd::policies
