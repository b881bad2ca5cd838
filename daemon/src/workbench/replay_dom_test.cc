// ReplayDom over synthetic rrweb streams: snapshot trees, the replayer's mutation order,
// deferred adds, moves, removes (kept findable), Input events, attribute changes that change
// selector matches, and one document per FullSnapshot.
#include "workbench/replay_dom.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "workbench/runner.h"

namespace scrubd::workbench {
namespace {
namespace json = boost::json;

json::array Events(const std::string& text) { return json::parse(text).as_array(); }

// Meta + a FullSnapshot at t=2 of <html><body><div class=ph-mask id=10><p id=11>"Secret"
// (12)</p></div><input id=13 value="a"></body></html>.
const char kPage[] = R"([
 {"type":4,"timestamp":1,"data":{"href":"https://shop.test/a","width":1,"height":1}},
 {"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,"childNodes":[
  {"type":2,"id":2,"tagName":"HTML","attributes":{},"childNodes":[
   {"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[
    {"type":2,"id":10,"tagName":"div","attributes":{"class":"box ph-mask"},"childNodes":[
     {"type":2,"id":11,"tagName":"p","attributes":{},"childNodes":[
      {"type":3,"id":12,"textContent":"Secret"}]}]},
    {"type":2,"id":13,"tagName":"input","attributes":{"Value":"a","type":"text"},
     "childNodes":[]}]}]}]}}}
]
)";

std::string With(const std::string& more) {
  std::string s = kPage;
  return s.substr(0, s.rfind(']')) + more + "]";
}

policies::SelectorList Sel(const char* text) {
  auto s = policies::SelectorList::Parse(text);
  EXPECT_TRUE(s.ok()) << text;
  return s.ok() ? *s : policies::SelectorList();
}

TEST(ReplayDomTest, BuildsTheSnapshotTreeAndMatchesSelectors) {
  ReplayDom dom;
  dom.AddWindow("w1", Events(kPage));
  ASSERT_EQ(dom.windows().size(), 1u);
  const DomWindow& w = dom.windows()[0];
  ASSERT_EQ(w.documents.size(), 1u);
  EXPECT_EQ(w.documents[0].href, "https://shop.test/a");
  EXPECT_EQ(w.documents[0].timestamp, 2);
  EXPECT_EQ(w.documents[0].Find(2)->tag, "html");  // lower-cased
  std::vector<DomMatch> m = dom.Select(Sel("body .ph-mask > p"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].node->id, 11);
  EXPECT_EQ(VisibleTexts(*m[0].node), std::vector<std::string>{"Secret"});
  EXPECT_EQ(dom.Select(Sel("input[value=a]")).size(), 1u);  // attribute names case-insensitive
  EXPECT_EQ(dom.Select(Sel("html > p")).size(), 0u);
  EXPECT_EQ(dom.skipped(), 0u);
}

TEST(ReplayDomTest, AppliesMutationsInTheReplayersOrder) {
  // One mutation: the add of 21 under 20 comes before the add of 20 (deferred); 20 goes before
  // 10 (nextId); the text of 12 changes; 10 loses its class; 13 gets typed into; 11 is removed.
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":3,"timestamp":3,"data":{"source":0,
    "removes":[{"parentId":10,"id":11}],
    "adds":[{"parentId":20,"nextId":null,"node":{"type":3,"id":21,"textContent":"late"}},
            {"parentId":3,"nextId":10,"node":{"type":2,"id":20,"tagName":"span",
             "attributes":{"data-x":true},"childNodes":[]}}],
    "texts":[{"id":12,"value":"Changed"}],
    "attributes":[{"id":10,"attributes":{"class":null,"style":{"color":"red"}}}]}},
   {"type":3,"timestamp":4,"data":{"source":5,"id":13,"text":"jane","isChecked":false}})")));
  const DomDocument& d = dom.windows()[0].documents[0];
  const DomNode* body = d.Find(3);
  ASSERT_EQ(body->children.size(), 3u);
  EXPECT_EQ(body->children[0]->id, 20);  // inserted before its next sibling
  EXPECT_EQ(VisibleTexts(*d.Find(20)), std::vector<std::string>{"late"});
  EXPECT_TRUE(d.Find(11)->removed);
  EXPECT_TRUE(d.Find(10)->children.empty());
  EXPECT_EQ(d.Find(12)->text, "Changed");             // the removed subtree still updates by id
  EXPECT_EQ(dom.Select(Sel(".ph-mask")).size(), 0u);  // the class was removed
  EXPECT_EQ(dom.Select(Sel("[data-x]")).size(), 1u);  // true is an empty attribute
  EXPECT_EQ(d.Find(13)->value, "jane");
  EXPECT_EQ(d.Find(13)->values, (std::vector<std::string>{"a", "jane"}));
  EXPECT_EQ(dom.skipped(), 0u);
}

TEST(ReplayDomTest, RemovedNodesKeepTheirAncestryForSelectors) {
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":3,"timestamp":3,"data":{"source":0,"removes":[{"parentId":3,"id":10}],"adds":[],
    "texts":[],"attributes":[]}})")));
  std::vector<DomMatch> m = dom.Select(Sel(".ph-mask p"));
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(VisibleTexts(*m[0].node), std::vector<std::string>{"Secret"});
}

TEST(ReplayDomTest, EverShownKeepsRemovedChildrenAndEveryValue) {
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":12,"value":"Later"}]}},
   {"type":3,"timestamp":4,"data":{"source":0,"removes":[{"parentId":10,"id":11}]}},
   {"type":3,"timestamp":5,"data":{"source":5,"id":13,"text":"b"}})")));
  const DomDocument& d = dom.windows()[0].documents[0];
  EXPECT_EQ(EverShown(d, *d.Find(10)), (std::vector<std::string>{"Secret", "Later"}));
  EXPECT_EQ(EverShown(d, *d.Find(13)), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(d.Find(10)->children.empty());
  EXPECT_TRUE(EverHadDescendants(d, *d.Find(10)));  // 11 and 12 were under it
  EXPECT_FALSE(EverHadDescendants(d, *d.Find(13)));
}

TEST(ReplayDomTest, AMoveReusesTheNode) {
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":3,"timestamp":3,"data":{"source":0,"removes":[{"parentId":10,"id":11}],
    "adds":[{"parentId":3,"nextId":null,"node":{"type":2,"id":11,"tagName":"p",
             "attributes":{}}}],"texts":[],"attributes":[]}})")));
  const DomDocument& d = dom.windows()[0].documents[0];
  const DomNode* p = d.Find(11);
  EXPECT_FALSE(p->removed);
  EXPECT_EQ(p->parent, d.Find(3));
  EXPECT_EQ(VisibleTexts(*p), std::vector<std::string>{"Secret"});  // its subtree moved along
  EXPECT_TRUE(d.Find(10)->children.empty());
}

TEST(ReplayDomTest, EachFullSnapshotStartsADocument) {
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":4,"timestamp":5,"data":{"href":"https://shop.test/b"}},
   {"type":2,"timestamp":6,"data":{"node":{"type":0,"id":1,"childNodes":[
     {"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[]}]}}},
   {"type":3,"timestamp":7,"data":{"source":0,"adds":[{"parentId":2,"nextId":null,
     "node":{"type":2,"id":3,"tagName":"main","attributes":{},"childNodes":[]}}]}})")));
  const DomWindow& w = dom.windows()[0];
  ASSERT_EQ(w.documents.size(), 2u);
  EXPECT_EQ(w.FindDocument(6)->href, "https://shop.test/b");
  EXPECT_EQ(w.FindDocument(6)->Find(3)->tag, "main");
  EXPECT_EQ(w.FindDocument(2)->Find(3)->tag, "body");  // the first page is left as it was
  EXPECT_EQ(w.FindDocument(99), nullptr);
}

TEST(ReplayDomTest, UnappliableEventsAreCountedNotFatal) {
  ReplayDom dom;
  dom.AddWindow("w", Events(With(R"(,
   {"type":3,"timestamp":3,"data":{"source":0,
    "removes":[{"parentId":1,"id":999}],
    "adds":[{"parentId":998,"nextId":null,"node":{"type":3,"id":50,"textContent":"x"}},
            {"parentId":3,"nextId":null,"node":{"type":9,"id":51}}],
    "texts":[{"id":997,"value":"x"}],"attributes":[{"id":996,"attributes":{}}]}},
   {"type":3,"timestamp":4,"data":{"source":5,"id":995,"text":"x"}},
   "not an event", {"type":3})")));
  EXPECT_EQ(dom.skipped(), 6u);
  EXPECT_EQ(dom.windows()[0].documents[0].Find(50), nullptr);
}

TEST(ReplayDomTest, EventsBeforeAnySnapshotAreIgnoredAndSessionsUseTheirWindows) {
  StoredSession s;
  s.events = Events(R"([{"type":3,"timestamp":1,"data":{"source":5,"id":1,"text":"x"}}])");
  ReplayDom one = ReplayDom::FromSession(s);
  ASSERT_EQ(one.windows().size(), 1u);
  EXPECT_EQ(one.windows()[0].window_id, "");
  EXPECT_TRUE(one.windows()[0].documents.empty());
  s.windows.push_back({"w1", Events(kPage)});
  s.windows.push_back({"w2", Events(kPage)});
  ReplayDom two = ReplayDom::FromSession(s);
  ASSERT_EQ(two.windows().size(), 2u);
  EXPECT_NE(two.FindWindow("w2"), nullptr);
  EXPECT_EQ(two.Select(Sel("p")).size(), 2u);
}

TEST(ReplayDomTest, LooksMaskedAcceptsStarsAndWhitespaceOnly) {
  EXPECT_TRUE(LooksMasked("****** ** \n***"));
  EXPECT_TRUE(LooksMasked(""));
  EXPECT_FALSE(LooksMasked("***a"));
  EXPECT_FALSE(LooksMasked("4111 **** **** 1111"));
}

}  // namespace
}  // namespace scrubd::workbench
