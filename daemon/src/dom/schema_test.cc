#include "dom/schema.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "dom/dom_masker.h"

namespace scrubd::dom {
namespace {

namespace json = boost::json;

constexpr char kCanary[] = "canary.zq@example.com";

// A page whose only user data is the canary: an input[type=password] value, text under
// .ph-mask and text under .ph-no-capture. {T}, {S}, {N} and {I} are replaced by the event
// type, the text node's type, the input's node type and the input's id.
std::string Page() {
  return R"({"type":{T},"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[
    {"type":2,"tagName":"body","id":2,"attributes":{},"childNodes":[
     {"type":{N},"tagName":"input","id":{I},"attributes":{"type":"password",
      "value":"canary.zq@example.com"},"childNodes":[]},
     {"type":2,"tagName":"div","id":4,"attributes":{"class":"ph-mask"},
      "childNodes":[{"type":{S},"id":5,"textContent":"canary.zq@example.com"}]},
     {"type":2,"tagName":"div","id":6,"attributes":{"class":"ph-no-capture"},
      "childNodes":[{"type":3,"id":7,"textContent":"canary.zq@example.com"}]}]}]},
    "initialOffset":{"left":0,"top":0}}})";
}

std::string Fill(std::string s, const std::string& t, const std::string& n, const std::string& text,
                 const std::string& id) {
  for (auto [k, v] :
       {std::pair<std::string, std::string>{"{T}", t}, {"{N}", n}, {"{S}", text}, {"{I}", id}}) {
    for (size_t p = s.find(k); p != std::string::npos; p = s.find(k)) s.replace(p, k.size(), v);
  }
  return s;
}

Verdict Mask(const std::string& text, std::string* out) {
  json::object ev = json::parse(text).as_object();
  WindowState state;
  rules::RedactionCounts counts;
  Verdict v = MaskEvent(ev, policies::MaskingPolicy::Defaults(), state, &counts);
  *out = json::serialize(ev);
  return v;
}

const char* const kTricks[] = {R"("2")", "2.5",  "1e300", "-1",
                               "null",   "true", "[2]",   "18446744073709551616"};

TEST(SchemaTest, ValidPageIsMaskedAndKept) {
  std::string out;
  ASSERT_EQ(Mask(Fill(Page(), "2", "2", "3", "3"), &out), Verdict::kKeep);
  EXPECT_EQ(out.find(kCanary), std::string::npos) << out;
}

// Event type, node type, text node type or node id written another way: the masker cannot
// know what it is looking at, so the event is dropped (kInvalid) and never masked "as is".
TEST(SchemaTest, IntegerFieldsWrittenAnotherWayDropTheEvent) {
  for (const char* trick : kTricks) {
    std::string out;
    EXPECT_EQ(Mask(Fill(Page(), trick, "2", "3", "3"), &out), Verdict::kInvalid) << trick;
    EXPECT_EQ(Mask(Fill(Page(), "2", trick, "3", "3"), &out), Verdict::kInvalid) << trick;
    EXPECT_EQ(Mask(Fill(Page(), "2", "2", trick, "3"), &out), Verdict::kInvalid) << trick;
    if (std::string(trick) != "-1")  // -1 is a valid rrweb id (untracked), it masks as unknown
      EXPECT_EQ(Mask(Fill(Page(), "2", "2", "3", trick), &out), Verdict::kInvalid) << trick;
  }
}

TEST(SchemaTest, IncrementalSourcesAndIdsWrittenAnotherWayDropTheEvent) {
  const std::string input =
      R"({"type":3,"data":{"source":{S},"id":{I},"text":"canary.zq@example.com"}})";
  const std::string mutation = R"({"type":3,"data":{"source":0,"texts":[{"id":{I},
    "value":"canary.zq@example.com"}],"attributes":[],"removes":[],"adds":[{"parentId":2,
    "nextId":null,"node":{"type":{N},"id":9,"textContent":"canary.zq@example.com"}}]}})";
  for (const char* trick : kTricks) {
    std::string out;
    EXPECT_EQ(Mask(Fill(input, "", "", trick, "3"), &out), Verdict::kInvalid) << trick;
    if (std::string(trick) != "-1") {
      EXPECT_EQ(Mask(Fill(input, "", "", "5", trick), &out), Verdict::kInvalid) << trick;
      EXPECT_EQ(Mask(Fill(mutation, "", "3", "", trick), &out), Verdict::kInvalid) << trick;
    }
    EXPECT_EQ(Mask(Fill(mutation, "", trick, "", "9"), &out), Verdict::kInvalid) << trick;
  }
  std::string out;
  EXPECT_EQ(Mask(Fill(input, "", "", "5", "3"), &out), Verdict::kKeep);
  EXPECT_EQ(out.find(kCanary), std::string::npos);  // unknown id: masked
  EXPECT_EQ(Mask(R"({"type":3,"data":{"source":17}})", &out), Verdict::kInvalid);
  EXPECT_EQ(Mask(R"({"type":7,"data":{}})", &out), Verdict::kInvalid);
  EXPECT_EQ(Mask(R"({"data":{}})", &out), Verdict::kInvalid);
  EXPECT_EQ(Mask(R"({"type":3,"data":{"source":0,"removes":[{"id":3}]}})", &out),
            Verdict::kInvalid);  // parentId missing
  EXPECT_EQ(Mask(R"({"type":4,"data":{"href":"https://x.test/","width":1,"height":1}})", &out),
            Verdict::kKeep);
}

// The CPU deadline is polled inside the pass: a snapshot too big for the budget stops
// midway (kDrop, partial state), and an expired deadline stops every later event.
TEST(DeadlineTest, ThePassStopsMidwayOnceTheDeadlineExpires) {
  std::string kids;
  for (int id = 3; id < 200000; ++id)
    kids += (kids.empty() ? "" : ",") + std::string(R"({"type":3,"id":)") + std::to_string(id) +
            R"(,"textContent":"t"})";
  json::object ev = json::parse(R"({"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[)"
                                R"({"type":2,"tagName":"body","id":2,"childNodes":[)" +
                                kids + "]}]}}}")
                        .as_object();
  json::object copy = ev;
  WindowState state;
  Deadline deadline(std::chrono::microseconds(200));
  EXPECT_EQ(MaskEvent(ev, policies::MaskingPolicy::Defaults(), state, nullptr, &deadline),
            Verdict::kDrop);
  EXPECT_TRUE(deadline.expired());
  EXPECT_LT(state.size(), 199999u);
  json::object input =
      json::parse(R"({"type":3,"data":{"source":5,"id":3,"text":"x"}})").as_object();
  EXPECT_EQ(MaskEvent(input, policies::MaskingPolicy::Defaults(), state, nullptr, &deadline),
            Verdict::kDrop);
  WindowState unlimited;
  EXPECT_EQ(MaskEvent(copy, policies::MaskingPolicy::Defaults(), unlimited, nullptr),
            Verdict::kKeep);
  EXPECT_EQ(unlimited.size(), 199999u);
}

}  // namespace
}  // namespace scrubd::dom
