#include "dom/dom_masker.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>

#include "dom/testing/fixture_codec.h"

namespace scrubd::dom {
namespace {

namespace json = boost::json;
using policies::MaskingPolicy;

MaskingPolicy PolicyFromYaml(const std::string& yaml) {
  auto p = policies::ParseMaskingSection("test.yaml", YAML::Load(yaml));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? p.value() : MaskingPolicy::Defaults();
}

json::object Obj(std::string_view text) { return json::parse(text).as_object(); }

// A small page:
// 1 doc > 2 html > 3 body > {
//   4 div.ph-mask > 5 "Jane Doe"
//   6 p > 7 "Hello world"
//   8 input[type=email value=a@b.c]
//   9 div[data-ph-no-capture rr_width=10px] > 10 span > 11 "secret"
//   12 style > 13 ".a{color:red}" (isStyle)
//   14 div#box > 15 "box text"
//   16 input[type=checkbox value=on]
// }
constexpr char kSnapshot[] = R"({"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,
  "childNodes":[{"type":2,"tagName":"html","id":2,"attributes":{},"childNodes":[
   {"type":2,"tagName":"body","id":3,"attributes":{},"childNodes":[
    {"type":2,"tagName":"div","id":4,"attributes":{"class":"x ph-mask","title":"Jane's card"},
     "childNodes":[{"type":3,"textContent":"Jane Doe","id":5}]},
    {"type":2,"tagName":"p","id":6,"attributes":{"title":"visible"},
     "childNodes":[{"type":3,"textContent":"Hello world","id":7}]},
    {"type":2,"tagName":"input","id":8,"attributes":{"type":"email","value":"a@b.c"},
     "childNodes":[]},
    {"type":2,"tagName":"div","id":9,"attributes":{"data-ph-no-capture":"","rr_width":"10px",
      "title":"t"},"childNodes":[{"type":2,"tagName":"span","id":10,"attributes":{},
      "childNodes":[{"type":3,"textContent":"secret","id":11}]}]},
    {"type":2,"tagName":"style","id":12,"attributes":{"_cssText":".p{color:red}"},
     "childNodes":[{"type":3,"textContent":".a{color:red}","isStyle":true,"id":13}]},
    {"type":2,"tagName":"div","id":14,"attributes":{"id":"box"},
     "childNodes":[{"type":3,"textContent":"box text","id":15}]},
    {"type":2,"tagName":"input","id":16,"attributes":{"type":"checkbox","value":"on"},
     "childNodes":[]}
   ]}]}]},"initialOffset":{"left":0,"top":0}}})";

json::object& Child(json::object& n, size_t i) { return n["childNodes"].as_array()[i].as_object(); }
json::object& Body(json::object& ev) {
  return Child(Child(ev["data"].as_object()["node"].as_object(), 0), 0);
}

class DomMaskerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = MaskingPolicy::Defaults();
    snapshot_ = Obj(kSnapshot);
    ASSERT_EQ(MaskEvent(snapshot_, policy_, state_, &counts_), Verdict::kKeep);
  }
  Verdict Run(json::object& ev) { return MaskEvent(ev, policy_, state_, &counts_); }
  uint64_t Rule(const std::string& r) {
    auto it = counts_.by_rule.find(r);
    return it == counts_.by_rule.end() ? 0 : it->second;
  }

  MaskingPolicy policy_;
  WindowState state_;
  rules::RedactionCounts counts_;
  json::object snapshot_;
};

TEST(MaskValueTest, TextKeepsWhitespaceAndUtf16Length) {
  EXPECT_EQ(MaskTextValue("Jane Doe\n x"), "**** ***\n *");
  EXPECT_EQ(MaskTextValue("caf\xC3\xA9"), "****");       // é: one UTF-16 unit
  EXPECT_EQ(MaskTextValue("\xF0\x9F\x98\x80!"), "***");  // emoji: surrogate pair
  EXPECT_EQ(MaskTextValue("a\xC2\xA0"
                          "b"),
            "*\xC2\xA0*");                // NBSP kept
  EXPECT_EQ(MaskTextValue("\xFF"), "*");  // invalid byte
  EXPECT_EQ(MaskInputValue("a b\xF0\x9F\x98\x80"), "*****");
  EXPECT_EQ(MaskInputValue(""), "");
}

TEST_F(DomMaskerTest, FullSnapshotMasksBlocksAndKeepsCss) {
  json::object& body = Body(snapshot_);
  // mask_text: text masked length-preserving, masked-region attributes masked.
  json::object& masked_div = Child(body, 0);
  EXPECT_EQ(Child(masked_div, 0)["textContent"].as_string(), "**** ***");
  EXPECT_EQ(masked_div["attributes"].as_object()["title"].as_string(), "****** ****");
  EXPECT_EQ(masked_div["attributes"].as_object()["class"].as_string(), "x ph-mask");
  // Untouched region.
  EXPECT_EQ(Child(Child(body, 1), 0)["textContent"].as_string(), "Hello world");
  EXPECT_EQ(Child(body, 1)["attributes"].as_object()["title"].as_string(), "visible");
  // Inputs masked by default; check boxes keep their static value.
  EXPECT_EQ(Child(body, 2)["attributes"].as_object()["value"].as_string(), "*****");
  EXPECT_EQ(Child(body, 6)["attributes"].as_object()["value"].as_string(), "on");
  // Block: placeholder with structural attributes only, no children.
  json::object& blocked = Child(body, 3);
  EXPECT_TRUE(blocked["childNodes"].as_array().empty());
  EXPECT_TRUE(blocked["attributes"].as_object().contains("rr_width"));
  EXPECT_FALSE(blocked["attributes"].as_object().contains("title"));
  EXPECT_FALSE(blocked["attributes"].as_object().contains("data-ph-no-capture"));
  // CSS untouched.
  EXPECT_EQ(Child(Child(body, 4), 0)["textContent"].as_string(), ".a{color:red}");
  EXPECT_EQ(Child(body, 4)["attributes"].as_object()["_cssText"].as_string(), ".p{color:red}");
  EXPECT_EQ(Rule("dom.block"), 1u);
  EXPECT_EQ(Rule("dom.mask_text"), 1u);
  EXPECT_EQ(Rule("dom.input"), 1u);
  EXPECT_EQ(Rule("dom.unknown_id"), 0u);
  EXPECT_EQ(state_.size(), 16u);  // every id tracked, dropped ones included
}

TEST_F(DomMaskerTest, LaterBatchMutationsFollowTheSnapshot) {
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,
    "texts":[{"id":5,"value":"John Roe"},{"id":7,"value":"Hi there"}],
    "attributes":[{"id":4,"attributes":{"title":"x y","class":"x ph-mask"}},
                  {"id":8,"attributes":{"value":"b@c.d"}}],
    "removes":[],
    "adds":[{"parentId":4,"nextId":null,"node":{"type":2,"tagName":"b","id":20,
               "attributes":{"aria-label":"Jane"},"childNodes":[]}},
            {"parentId":20,"nextId":null,"node":{"type":3,"textContent":"nested","id":21}},
            {"parentId":6,"nextId":null,"node":{"type":3,"textContent":"open","id":22}}]}})");
  ASSERT_EQ(Run(m), Verdict::kKeep);
  json::object& d = m["data"].as_object();
  EXPECT_EQ(d["texts"].as_array()[0].as_object()["value"].as_string(), "**** ***");
  EXPECT_EQ(d["texts"].as_array()[1].as_object()["value"].as_string(), "Hi there");
  auto& attrs = d["attributes"].as_array();
  EXPECT_EQ(attrs[0].as_object()["attributes"].as_object()["title"].as_string(), "* *");
  EXPECT_EQ(attrs[1].as_object()["attributes"].as_object()["value"].as_string(), "*****");
  auto& adds = d["adds"].as_array();
  ASSERT_EQ(adds.size(), 3u);
  EXPECT_EQ(
      adds[0].as_object()["node"].as_object()["attributes"].as_object()["aria-label"].as_string(),
      "****");
  EXPECT_EQ(adds[1].as_object()["node"].as_object()["textContent"].as_string(), "******");
  EXPECT_EQ(adds[2].as_object()["node"].as_object()["textContent"].as_string(), "open");

  // An Input event, later still.
  json::object in = Obj(R"({"type":3,"timestamp":3,"data":{"source":5,"text":"jane@x.io",
    "isChecked":false,"id":8}})");
  EXPECT_EQ(Run(in), Verdict::kKeep);
  EXPECT_EQ(in["data"].as_object()["text"].as_string(), "*********");
  json::object check = Obj(R"({"type":3,"timestamp":3,"data":{"source":5,"text":"on",
    "isChecked":true,"id":16}})");
  Run(check);
  EXPECT_EQ(check["data"].as_object()["text"].as_string(), "on");
  // A checkbox's text is its state word: any other text is masked, whatever isChecked says.
  for (const char* checked : {"true", "false"}) {
    json::object forged = Obj(std::string(R"({"type":3,"timestamp":4,"data":{"source":5,)") +
                              R"("text":"hunter2pw","isChecked":)" + checked + R"(,"id":16}})");
    Run(forged);
    EXPECT_EQ(forged["data"].as_object()["text"].as_string().find("hunter2"), std::string::npos)
        << checked;
  }
}

TEST_F(DomMaskerTest, AddsWhoseParentComesLaterInTheSameList) {
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,"texts":[],
    "attributes":[],"removes":[],"adds":[
      {"parentId":30,"nextId":null,"node":{"type":3,"textContent":"child text","id":31}},
      {"parentId":4,"nextId":null,"node":{"type":2,"tagName":"i","id":30,"attributes":{},
        "childNodes":[]}}]}})");
  Run(m);
  auto& adds = m["data"].as_object()["adds"].as_array();
  EXPECT_EQ(adds[0].as_object()["node"].as_object()["textContent"].as_string(), "***** ****");
  EXPECT_EQ(Rule("dom.unknown_id"), 0u);
  ASSERT_NE(state_.Find(31), nullptr);
  EXPECT_EQ(state_.Find(31)->parent, 30u);
}

TEST_F(DomMaskerTest, CssUnderAMaskedRegionHasItsStringsMasked) {
  // 20 div.ph-mask > { 21 style[_cssText] > 22 isStyle text }, later a text mutation and a
  // StyleSheetRule on the style element; outside the region CSS is left as it is.
  json::object add = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,"texts":[],
    "attributes":[],"removes":[],"adds":[{"parentId":3,"nextId":null,"node":{"type":2,
    "tagName":"div","id":20,"attributes":{"class":"ph-mask"},"childNodes":[{"type":2,
    "tagName":"style","id":21,"attributes":{"_cssText":"input[name=password]{content:'Jane'}"},
    "childNodes":[{"type":3,"id":22,"isStyle":true,"textContent":
      ".password-field::after{content:\"Jane Doe\";background:url(/u/jane.png)}"}]}]}}]}})");
  ASSERT_EQ(Run(add), Verdict::kKeep);
  json::object& div = add["data"].as_object()["adds"].as_array()[0].as_object()["node"].as_object();
  json::object& style = Child(div, 0);
  EXPECT_EQ(style["attributes"].as_object()["_cssText"].as_string(),
            "input[name=password]{content:'****'}");
  EXPECT_EQ(Child(style, 0)["textContent"].as_string(),
            ".password-field::after{content:\"**** ***\";background:url(***********)}");
  json::object later = Obj(R"({"type":3,"timestamp":3,"data":{"source":0,
    "texts":[{"id":22,"value":"[data-email]{content:'Jane'}"}],"attributes":[],"removes":[],
    "adds":[]}})");
  Run(later);
  EXPECT_EQ(later["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(),
            "[data-email]{content:'****'}");
  json::object rule = Obj(R"({"type":3,"timestamp":4,"data":{"source":8,"id":21,
    "adds":[{"rule":"a::before{content:'Jane'}","index":0}]}})");
  Run(rule);
  EXPECT_EQ(rule["data"].as_object()["adds"].as_array()[0].as_object()["rule"].as_string(),
            "a::before{content:'****'}");
  // The snapshot's own style (13, not in a masked region) keeps its CSS.
  EXPECT_EQ(Child(Child(Body(snapshot_), 4), 0)["textContent"].as_string(), ".a{color:red}");
  json::object free_rule = Obj(R"({"type":3,"timestamp":5,"data":{"source":8,"id":12,
    "adds":[{"rule":"a::before{content:'Jane'}","index":0}]}})");
  Run(free_rule);
  EXPECT_EQ(free_rule["data"].as_object()["adds"].as_array()[0].as_object()["rule"].as_string(),
            "a::before{content:'Jane'}");
}

TEST_F(DomMaskerTest, ClassChangeRemasksAndUnmasksSubtree) {
  json::object add_class = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,"texts":[],
    "attributes":[{"id":6,"attributes":{"class":"ph-mask"}}],"removes":[],"adds":[]}})");
  Run(add_class);
  json::object t1 = Obj(R"({"type":3,"timestamp":3,"data":{"source":0,
    "texts":[{"id":7,"value":"now hidden"}],"attributes":[],"removes":[],"adds":[]}})");
  Run(t1);
  EXPECT_EQ(t1["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(),
            "*** ******");
  json::object drop_class = Obj(R"({"type":3,"timestamp":4,"data":{"source":0,"texts":[],
    "attributes":[{"id":6,"attributes":{"class":null}}],"removes":[],"adds":[]}})");
  Run(drop_class);
  json::object t2 = Obj(R"({"type":3,"timestamp":5,"data":{"source":0,
    "texts":[{"id":7,"value":"visible again"}],"attributes":[],"removes":[],"adds":[]}})");
  Run(t2);
  EXPECT_EQ(t2["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(),
            "visible again");
}

TEST_F(DomMaskerTest, DescendantSelectorReevaluatedOnAncestorChange) {
  policy_ = PolicyFromYaml("mask_text: ['.private p']\nblock: []");
  state_ = WindowState();
  snapshot_ = Obj(kSnapshot);
  Run(snapshot_);
  EXPECT_EQ(Child(Child(Body(snapshot_), 1), 0)["textContent"].as_string(), "Hello world");
  // body (3) gains class "private": p (6) now matches `.private p`.
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,
    "texts":[{"id":7,"value":"Hello again"}],
    "attributes":[{"id":3,"attributes":{"class":"private"}}],"removes":[],"adds":[]}})");
  Run(m);
  EXPECT_EQ(m["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(),
            "***** *****");
}

TEST_F(DomMaskerTest, ClassChangeToBlockedRemovesChildren) {
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,
    "texts":[{"id":15,"value":"gone"}],
    "attributes":[{"id":14,"attributes":{"class":"ph-no-capture","title":"t"}}],
    "removes":[],"adds":[{"parentId":14,"nextId":null,
      "node":{"type":3,"textContent":"late child","id":40}}]}})");
  Run(m);
  json::object& d = m["data"].as_object();
  ASSERT_EQ(d["removes"].as_array().size(), 1u);
  EXPECT_EQ(d["removes"].as_array()[0].as_object()["id"].as_int64(), 15);
  EXPECT_EQ(d["removes"].as_array()[0].as_object()["parentId"].as_int64(), 14);
  EXPECT_TRUE(d["adds"].as_array().empty());
  EXPECT_TRUE(d["texts"].as_array().empty());
  auto& a = d["attributes"].as_array()[0].as_object()["attributes"].as_object();
  EXPECT_TRUE(a.contains("class"));
  EXPECT_FALSE(a.contains("title"));
  // Later events about dropped nodes never reach the replay.
  json::object in = Obj(R"({"type":3,"timestamp":3,"data":{"source":5,"text":"x","id":40}})");
  EXPECT_EQ(Run(in), Verdict::kDrop);
  json::object rm = Obj(R"({"type":3,"timestamp":4,"data":{"source":0,"texts":[],
    "attributes":[],"removes":[{"parentId":14,"id":15}],"adds":[]}})");
  Run(rm);
  EXPECT_TRUE(rm["data"].as_object()["removes"].as_array().empty());
}

TEST_F(DomMaskerTest, UnknownIdsFailClosedAndAreCounted) {
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,
    "texts":[{"id":999,"value":"who knows"}],
    "attributes":[{"id":998,"attributes":{"title":"Jane","class":"c","value":"v"}}],
    "removes":[],"adds":[{"parentId":997,"nextId":null,"node":{"type":2,"tagName":"p",
      "id":50,"attributes":{"placeholder":"name"},"childNodes":[
      {"type":3,"textContent":"orphan text","id":51}]}}]}})");
  Run(m);
  json::object& d = m["data"].as_object();
  EXPECT_EQ(d["texts"].as_array()[0].as_object()["value"].as_string(), "*** *****");
  auto& a = d["attributes"].as_array()[0].as_object()["attributes"].as_object();
  EXPECT_EQ(a["title"].as_string(), "****");
  EXPECT_EQ(a["value"].as_string(), "*");
  EXPECT_EQ(a["class"].as_string(), "c");
  auto& node = d["adds"].as_array()[0].as_object()["node"].as_object();
  EXPECT_EQ(node["attributes"].as_object()["placeholder"].as_string(), "****");
  EXPECT_EQ(node["childNodes"].as_array()[0].as_object()["textContent"].as_string(), "****** ****");
  json::object in = Obj(R"({"type":3,"timestamp":3,"data":{"source":5,"text":"abc","id":777}})");
  Run(in);
  EXPECT_EQ(in["data"].as_object()["text"].as_string(), "***");
  EXPECT_EQ(Rule("dom.unknown_id"), 4u);
  // Children of an orphan subtree stay masked in later batches too.
  json::object later = Obj(R"({"type":3,"timestamp":4,"data":{"source":0,
    "texts":[{"id":51,"value":"still hidden"}],"attributes":[],"removes":[],"adds":[]}})");
  Run(later);
  EXPECT_EQ(later["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(),
            "***** ******");
}

TEST_F(DomMaskerTest, RemovesFreeStateAndNewSnapshotResets) {
  json::object rm = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,"texts":[],
    "attributes":[],"removes":[{"parentId":3,"id":4},{"parentId":3,"id":9}],"adds":[]}})");
  Run(rm);
  EXPECT_EQ(state_.Find(4), nullptr);
  EXPECT_EQ(state_.Find(9), nullptr);
  EXPECT_NE(state_.Find(6), nullptr);
  // Descendants of removed nodes are gone for masking purposes (swept lazily).
  json::object t = Obj(R"({"type":3,"timestamp":3,"data":{"source":0,
    "texts":[{"id":5,"value":"ghost"},{"id":7,"value":"live"}],"attributes":[],"removes":[],
    "adds":[]}})");
  Run(t);
  auto& texts = t["data"].as_object()["texts"].as_array();
  EXPECT_EQ(texts[0].as_object()["value"].as_string(), "*****");
  EXPECT_EQ(texts[1].as_object()["value"].as_string(), "live");
  EXPECT_EQ(Rule("dom.unknown_id"), 1u);

  json::object again = Obj(R"({"type":2,"timestamp":9,"data":{"node":{"type":0,"id":1,
    "childNodes":[{"type":2,"tagName":"html","id":2,"attributes":{},"childNodes":[]}]},
    "initialOffset":{"left":0,"top":0}}})");
  Run(again);
  EXPECT_EQ(state_.size(), 2u);
}

TEST_F(DomMaskerTest, ManyRemovesAreSweptAndMemoryReturns) {
  size_t before = state_.size();
  for (int i = 0; i < 2000; ++i) {
    int id = 100 + 2 * i;
    std::string add = R"({"type":3,"data":{"source":0,"texts":[],"attributes":[],"removes":[],
      "adds":[{"parentId":6,"nextId":null,"node":{"type":2,"tagName":"div","id":)" +
                      std::to_string(id) + R"(,"attributes":{},"childNodes":[{"type":3,"id":)" +
                      std::to_string(id + 1) + R"(,"textContent":"x"}]}}]}})";
    json::object a = Obj(add);
    Run(a);
    std::string rm = R"({"type":3,"data":{"source":0,"texts":[],"attributes":[],"adds":[],
      "removes":[{"parentId":6,"id":)" +
                     std::to_string(id) + "}]}}";
    json::object r = Obj(rm);
    Run(r);
  }
  EXPECT_LT(state_.size(), before + 600);
}

TEST_F(DomMaskerTest, UnmaskExceptionAndMaskAllText) {
  policy_ = PolicyFromYaml("mask_all_text: true\nunmask_text: ['#box']");
  state_ = WindowState();
  snapshot_ = Obj(kSnapshot);
  Run(snapshot_);
  json::object& body = Body(snapshot_);
  EXPECT_EQ(Child(Child(body, 1), 0)["textContent"].as_string(), "***** *****");
  EXPECT_EQ(Child(Child(body, 5), 0)["textContent"].as_string(), "box text");
  EXPECT_EQ(Child(Child(body, 4), 0)["textContent"].as_string(), ".a{color:red}");
}

TEST_F(DomMaskerTest, InputTypesAndPasswordStickiness) {
  policy_ = PolicyFromYaml("mask_all_inputs: false\nmask_input_types: [tel]");
  state_ = WindowState();
  snapshot_ = Obj(kSnapshot);
  Run(snapshot_);
  EXPECT_EQ(Child(Body(snapshot_), 2)["attributes"].as_object()["value"].as_string(), "a@b.c");
  json::object m = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,"texts":[],
    "attributes":[{"id":8,"attributes":{"type":"password"}}],"removes":[],"adds":[]}})");
  Run(m);
  json::object m2 = Obj(R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
    "attributes":[{"id":8,"attributes":{"type":"text"}}],"removes":[],"adds":[]}})");
  Run(m2);  // "show password" toggle: stays masked
  json::object in = Obj(R"({"type":3,"timestamp":4,"data":{"source":5,"text":"hunter2","id":8}})");
  Run(in);
  EXPECT_EQ(in["data"].as_object()["text"].as_string(), "*******");
}

TEST_F(DomMaskerTest, PolicyChangeInvalidatesState) {
  MaskingPolicy other = PolicyFromYaml("mask_text: ['.other']");
  json::object t = Obj(R"({"type":3,"timestamp":2,"data":{"source":0,
    "texts":[{"id":7,"value":"Hello"}],"attributes":[],"removes":[],"adds":[]}})");
  MaskEvent(t, other, state_, &counts_);
  EXPECT_EQ(t["data"].as_object()["texts"].as_array()[0].as_object()["value"].as_string(), "*****");
  EXPECT_EQ(Rule("dom.unknown_id"), 1u);
}

TEST_F(DomMaskerTest, UndecodedCvFieldsAreDropped) {
  json::object m = Obj(R"({"type":3,"cv":"2024-10","data":{"source":0,"texts":"\u001f\u008b",
    "attributes":[],"removes":[],"adds":[]}})");
  EXPECT_EQ(Run(m), Verdict::kDrop);
  json::object s = Obj(R"({"type":2,"cv":"2024-10","data":"\u001f\u008b"})");
  EXPECT_EQ(Run(s), Verdict::kDrop);
}

TEST_F(DomMaskerTest, BlockMediaStripsSourcesAndCanvas) {
  policy_ = PolicyFromYaml("block_media: true");
  state_ = WindowState();
  json::object s = Obj(R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"tagName":"img","id":2,"attributes":{"src":"https://x/a.png","srcset":"a 1x",
     "width":"10"},"childNodes":[]},
    {"type":2,"tagName":"canvas","id":3,"attributes":{"rr_dataURL":"data:image/png;base64,AA"},
     "childNodes":[]}]}}})");
  Run(s);
  auto& kids = s["data"].as_object()["node"].as_object()["childNodes"].as_array();
  EXPECT_FALSE(kids[0].as_object()["attributes"].as_object().contains("src"));
  EXPECT_FALSE(kids[0].as_object()["attributes"].as_object().contains("srcset"));
  EXPECT_TRUE(kids[0].as_object()["attributes"].as_object().contains("width"));
  EXPECT_FALSE(kids[1].as_object()["attributes"].as_object().contains("rr_dataURL"));
  json::object m = Obj(R"({"type":3,"data":{"source":0,"texts":[],"removes":[],"adds":[],
    "attributes":[{"id":2,"attributes":{"src":"https://x/b.png"}}]}})");
  Run(m);
  EXPECT_TRUE(m["data"]
                  .as_object()["attributes"]
                  .as_array()[0]
                  .as_object()["attributes"]
                  .as_object()["src"]
                  .is_null());
  json::object canvas = Obj(R"({"type":3,"data":{"source":9,"id":3,"commands":[]}})");
  EXPECT_EQ(Run(canvas), Verdict::kDrop);
  EXPECT_EQ(Rule("dom.media"), 5u);
}

TEST_F(DomMaskerTest, NetworkAndConsolePlugins) {
  json::object net = Obj(R"({"type":6,"data":{"plugin":"rrweb/network@1","payload":{
    "requests":[{"name":"https://api/x","method":"GET",
      "requestHeaders":{"Authorization":"Bearer abc","Accept":"*/*","X-API-Key":"k"},
      "responseHeaders":{"set-cookie":"sid=1","content-type":"text/html"},
      "requestBody":"{\"email\":\"a@b.c\"}","responseBody":null}]}}})");
  EXPECT_EQ(Run(net), Verdict::kKeep);
  auto& rq = net["data"].as_object()["payload"].as_object()["requests"].as_array()[0].as_object();
  EXPECT_EQ(rq["requestHeaders"].as_object()["Authorization"].as_string(), "[REDACTED]");
  EXPECT_EQ(rq["requestHeaders"].as_object()["X-API-Key"].as_string(), "[REDACTED]");
  EXPECT_EQ(rq["requestHeaders"].as_object()["Accept"].as_string(), "*/*");
  EXPECT_EQ(rq["responseHeaders"].as_object()["set-cookie"].as_string(), "[REDACTED]");
  EXPECT_TRUE(rq["requestBody"].is_null());
  EXPECT_EQ(Rule("dom.network_header"), 3u);

  json::object console = Obj(R"({"type":6,"data":{"plugin":"rrweb/console@1",
    "payload":{"level":"log","trace":[],"payload":["\"a@b.c\""]}}})");
  EXPECT_EQ(Run(console), Verdict::kKeep);
  policy_ = PolicyFromYaml("console: drop\nnetwork: drop");
  EXPECT_EQ(Run(console), Verdict::kDrop);
  EXPECT_EQ(Run(net), Verdict::kDrop);
}

// HTML attribute names are case-insensitive: every rule compares the lower-cased name.
TEST_F(DomMaskerTest, UpperCaseAttributeNamesFollowTheRules) {
  policy_ = PolicyFromYaml("mask_all_inputs: false\nmask_text: ['.ph-mask', '[data-ph-mask]']");
  json::object snap = Obj(R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"tagName":"body","id":2,"attributes":{},"childNodes":[
     {"type":2,"tagName":"input","id":3,"attributes":{"TYPE":"password","VALUE":"Zq9canary"},
      "childNodes":[]},
     {"type":2,"tagName":"div","id":4,"attributes":{"DATA-PH-MASK":"","Title":"Zq9canary"},
      "childNodes":[{"type":3,"textContent":"Zq9canary","id":5}]},
     {"type":2,"tagName":"div","id":6,"attributes":{},
      "childNodes":[{"type":3,"textContent":"plain","id":7}]}]}]}}})");
  EXPECT_EQ(Run(snap), Verdict::kKeep);
  std::string out = json::serialize(snap);
  EXPECT_EQ(out.find("Zq9canary"), std::string::npos) << out;
  EXPECT_NE(out.find("\"DATA-PH-MASK\""), std::string::npos) << out;  // names kept for replay
  json::object mut = Obj(R"({"type":3,"data":{"source":0,"adds":[],"removes":[],
    "attributes":[{"id":6,"attributes":{"CLASS":"ph-mask"}},
                  {"id":3,"attributes":{"Value":"Zq9canary"}}],
    "texts":[{"id":7,"value":"Zq9canary"}]}})");
  EXPECT_EQ(Run(mut), Verdict::kKeep);
  out = json::serialize(mut);
  EXPECT_EQ(out.find("Zq9canary"), std::string::npos) << out;
}

// Numbers and bools at text or attribute positions are masked as their text.
TEST_F(DomMaskerTest, NumbersAtTextPositionsAreMasked) {
  policy_ = PolicyFromYaml("mask_all_inputs: true");
  json::object snap = Obj(R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"tagName":"body","id":2,"attributes":{},"childNodes":[
     {"type":2,"tagName":"input","id":3,"attributes":{"type":"text","value":4111111111111111},
      "childNodes":[]},
     {"type":2,"tagName":"div","id":4,"attributes":{"class":"ph-mask","title":987654321},
      "childNodes":[{"type":3,"textContent":123456789,"id":5}]}]}]}}})");
  EXPECT_EQ(Run(snap), Verdict::kKeep);
  std::string out = json::serialize(snap);
  for (const char* n : {"4111111111111111", "987654321", "123456789"})
    EXPECT_EQ(out.find(n), std::string::npos) << out;
  json::object mut = Obj(R"({"type":3,"data":{"source":0,"adds":[],"removes":[],
    "attributes":[{"id":3,"attributes":{"value":4111111111111111}},
                  {"id":4,"attributes":{"title":987654321}}],
    "texts":[{"id":5,"value":123456789}]}})");
  EXPECT_EQ(Run(mut), Verdict::kKeep);
  out = json::serialize(mut);
  for (const char* n : {"4111111111111111", "987654321", "123456789"})
    EXPECT_EQ(out.find(n), std::string::npos) << out;
  json::object in = Obj(R"({"type":3,"data":{"source":5,"id":3,"text":4111111111111111}})");
  EXPECT_EQ(Run(in), Verdict::kKeep);
  EXPECT_EQ(json::serialize(in).find("4111111111111111"), std::string::npos);
}

// A network payload of any other shape than rrweb/network@1's is dropped, not kept raw.
TEST_F(DomMaskerTest, NetworkPayloadOfUnexpectedShapeIsDropped) {
  for (const char* payload :
       {R"({"requests":{"0":{"requestHeaders":{"Authorization":"Bearer Zq9canary"}}}})",
        R"({"requests":[{"requestHeaders":[["Authorization","Bearer Zq9canary"]]}]})",
        R"({"requests":["Zq9canary"]})", R"("Zq9canary")", R"({"request":[]})"}) {
    json::object ev = Obj(std::string(R"({"type":6,"data":{"plugin":"rrweb/network@1",)") +
                          R"("payload":)" + payload + "}}");
    EXPECT_EQ(Run(ev), Verdict::kDrop) << payload;
  }
  EXPECT_EQ(Rule("dom.network_invalid"), 5u);
}

// A style attribute in a mask region keeps its declarations, its strings and urls masked.
TEST_F(DomMaskerTest, StyleAttributeStringsMaskedInMaskRegion) {
  json::object snap = Obj(R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"tagName":"div","id":2,"attributes":{"class":"ph-mask",
     "style":"font-family:\"Zq9canary\";color:red"},"childNodes":[]}]}}})");
  EXPECT_EQ(Run(snap), Verdict::kKeep);
  std::string out = json::serialize(snap);
  EXPECT_EQ(out.find("Zq9canary"), std::string::npos) << out;
  EXPECT_NE(out.find("color:red"), std::string::npos) << out;
  json::object mut = Obj(R"J({"type":3,"data":{"source":0,"adds":[],"removes":[],
    "attributes":[{"id":2,"attributes":{"STYLE":"background:url(https://x/Zq9canary)"}}]}})J");
  EXPECT_EQ(Run(mut), Verdict::kKeep);
  EXPECT_EQ(json::serialize(mut).find("Zq9canary"), std::string::npos) << json::serialize(mut);
}

TEST_F(DomMaskerTest, HostileShapesDoNotCrash) {
  for (const char* text : {
           R"({"type":3,"data":{"source":0,"adds":[{"parentId":1,"node":5}],"texts":[1,null],
               "attributes":[{"id":"x"}],"removes":[{"id":-1}]}})",
           R"({"type":3,"data":{"source":0,"adds":[{"parentId":60,"node":{"type":2,"id":61,
               "tagName":"div","childNodes":[]}},{"parentId":61,"node":{"type":2,"id":60,
               "tagName":"div","childNodes":[]}}]}})",
           R"({"type":3,"data":{"source":5,"id":1e300,"text":7}})",
           R"({"type":2,"data":{"node":{"type":2,"id":4294967295,"tagName":7,"attributes":[],
               "childNodes":{}}}})",
           R"({"type":"2","data":null})",
           R"({"type":6,"data":{"plugin":"rrweb/network@1","payload":{"requests":[1,
               {"requestHeaders":[]}]}}})"}) {
    json::object ev = Obj(text);
    MaskEvent(ev, policy_, state_, &counts_);
  }
}

// ---------- real posthog-js traffic ----------

std::string Fixture(const std::string& rel) {
  return std::string(SCRUBD_SHARED_DIR) + "/fixtures/" + rel;
}

TEST(DomFixtureTest, CheckoutRecordingIsMaskedServerSide) {
  auto events = testing::LoadSnapshotEvents(Fixture("posthog-js-1.449.2/0008.body"));
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  MaskingPolicy policy = MaskingPolicy::Defaults();
  WindowState state;
  rules::RedactionCounts counts;
  std::string all;
  for (auto& ev : events.value()) {
    if (MaskEvent(ev.as_object(), policy, state, &counts) == Verdict::kKeep)
      all += json::serialize(ev);
  }
  // Typed values (Input events) and the ph-mask paragraph never survive.
  EXPECT_EQ(all.find("jane.doe@example.com\",\"isChecked"), std::string::npos);
  EXPECT_EQ(all.find("078-05-1120"), std::string::npos);
  EXPECT_EQ(all.find("\"Jane Doe\""), std::string::npos);
  EXPECT_EQ(counts.by_rule["dom.unknown_id"], 0u);
  EXPECT_GE(counts.by_rule["dom.input"], 3u);
  EXPECT_GE(counts.by_rule["dom.block"], 1u);  // the data-ph-no-capture block
  // Text that only detectors should handle is left for the generic pass.
  EXPECT_NE(all.find("Welcome back, Jane Doe"), std::string::npos);
}

TEST(DomFixtureTest, LosslessRoundTripWhenNothingFires) {
  auto events = testing::LoadSnapshotEvents(Fixture("posthog-js-1.449.2/0008.body"));
  ASSERT_TRUE(events.ok());
  MaskingPolicy none = PolicyFromYaml(
      "mask_all_inputs: false\nmask_input_types: []\nblock: []\nmask_text: []\n"
      "mask_attributes: [aria-label]");
  WindowState state;
  for (auto& ev : events.value()) {
    json::value before = ev;
    MaskEvent(ev.as_object(), none, state, nullptr);
    json::value reencoded = ev;
    testing::EncodeCvEvent(reencoded);
    ASSERT_TRUE(testing::DecodeCvEvent(reencoded).ok());
    // Only the client-masked password Input stays as it was ('*' already).
    EXPECT_EQ(before, reencoded) << json::serialize(before).substr(0, 200);
  }
}

TEST(DomFixtureTest, CrmRecordingAcrossBatchesAndRestart) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "scrubd_dom_crm_test";
  fs::remove_all(dir);
  MaskingPolicy policy = MaskingPolicy::Defaults();
  rules::RedactionCounts counts;
  std::vector<std::string> bodies = {"0005", "0006", "0007", "0008", "0009", "0010", "0011"};
  std::string kept;
  for (size_t i = 0; i < bodies.size(); ++i) {
    // A restart between every batch: state must come back from disk.
    StateStore::Options opts;
    opts.dir = dir;
    auto store = StateStore::Open(opts);
    ASSERT_TRUE(store.ok());
    auto events =
        testing::LoadSnapshotEvents(Fixture("posthog-js-1.449.2-crm/" + bodies[i] + ".body"));
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    {
      auto lease = store.value()->Acquire("phc_heavy_demo", "s1", "w1");
      for (auto& ev : events.value()) {
        if (MaskEvent(ev.as_object(), policy, lease.state(), &counts) == Verdict::kKeep)
          kept += json::serialize(ev);
      }
    }
    ASSERT_TRUE(store.value()->PersistAll().ok());
  }
  EXPECT_EQ(counts.by_rule["dom.unknown_id"], 0u);
  EXPECT_GT(counts.by_rule["dom.mask_text"], 300u);  // the ph-mask notes cells
  EXPECT_EQ(kept.find("Customer since 2010, prefers email; order #100000"), std::string::npos);
  EXPECT_NE(kept.find("Customer since 2011"), std::string::npos);  // row 1 is not ph-mask
  fs::remove_all(dir);
}

}  // namespace
}  // namespace scrubd::dom

namespace scrubd::dom {
namespace {

// Key-based detection on form fields: with input masking switched off, a field whose name,
// id or autocomplete is a sensitive key is still masked, in snapshots, later Input events and
// value mutations, and it stays masked when its type changes.
TEST(SensitiveFieldTest, NameIdOrAutocompleteMaskTheFieldWhateverThePolicy) {
  MaskingPolicy policy = PolicyFromYaml("mask_all_inputs: false\n");
  policy.sensitive_key = [](std::string_view k) {
    return k == "card-number" || k == "cc-number" || k == "api_token";
  };
  WindowState state;
  rules::RedactionCounts counts;
  json::object snap = Obj(R"({"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,
    "childNodes":[{"type":2,"tagName":"html","id":2,"attributes":{},"childNodes":[
      {"type":2,"tagName":"input","id":3,"attributes":{"type":"text","name":"card-number",
        "value":"4111 1111 1111 1111"},"childNodes":[]},
      {"type":2,"tagName":"input","id":4,"attributes":{"type":"text","autocomplete":"cc-number",
        "value":"5500"},"childNodes":[]},
      {"type":2,"tagName":"textarea","id":5,"attributes":{"id":"api_token","value":"tok"},
        "childNodes":[]},
      {"type":2,"tagName":"input","id":6,"attributes":{"type":"text","name":"city",
        "value":"Paris"},"childNodes":[]}]}]},"initialOffset":{"left":0,"top":0}}})");
  ASSERT_EQ(MaskEvent(snap, policy, state, &counts), Verdict::kKeep);
  std::string out = json::serialize(snap);
  EXPECT_EQ(out.find("4111"), std::string::npos);
  EXPECT_EQ(out.find("5500"), std::string::npos);
  EXPECT_EQ(out.find("\"tok\""), std::string::npos);
  EXPECT_NE(out.find("Paris"), std::string::npos);  // not sensitive, masking off
  EXPECT_EQ(counts.by_rule["dom.sensitive_field"], 3u);

  json::object typed = Obj(R"({"type":3,"timestamp":2,"data":{"source":5,"text":"4242424242424242",
    "isChecked":false,"id":3}})");
  ASSERT_EQ(MaskEvent(typed, policy, state, &counts), Verdict::kKeep);
  EXPECT_EQ(typed["data"].as_object()["text"].as_string(), "****************");
  json::object retype = Obj(R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
    "removes":[],"adds":[],"attributes":[{"id":3,"attributes":{"type":"search"}},
    {"id":6,"attributes":{"name":"password_confirm"}}]}})");
  ASSERT_EQ(MaskEvent(retype, policy, state, &counts), Verdict::kKeep);
  json::object typed2 = Obj(R"({"type":3,"timestamp":4,"data":{"source":5,"text":"1234",
    "isChecked":false,"id":3}})");
  ASSERT_EQ(MaskEvent(typed2, policy, state, &counts), Verdict::kKeep);
  EXPECT_EQ(typed2["data"].as_object()["text"].as_string(), "****");
  json::object city = Obj(R"({"type":3,"timestamp":5,"data":{"source":5,"text":"Lyon",
    "isChecked":false,"id":6}})");
  ASSERT_EQ(MaskEvent(city, policy, state, &counts), Verdict::kKeep);
  EXPECT_EQ(city["data"].as_object()["text"].as_string(), "Lyon");
}

}  // namespace
}  // namespace scrubd::dom
