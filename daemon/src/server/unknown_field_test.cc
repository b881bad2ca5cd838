// Fields the DOM masker does not know (dom/schema.h) fail closed, through App::Handle and
// checked against every byte of the data dir: text in a masked, input-masked or unknown
// region is masked, values of a type rrweb never writes are dropped, and both are counted
// `dom.unknown_field`. One row per position (the attack round's case 14, and more).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/canary.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
using scrubd::testing::ExpectAbsentEverywhere;
using scrubd::testing::TempDir;

constexpr char kCanary[] = "Qzunkfld";  // shapeless: no detector would catch it

struct Row {
  const char* name;
  const char* items;  // rrweb events after the Meta one; @ is replaced by the canary
};

// A page with a password input (12), a ph-mask div (10) with a text (11), a checkbox (13).
constexpr char kPage[] = R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
  "childNodes":[{"type":2,"tagName":"html","attributes":{},"id":3,"childNodes":[
  {"type":2,"tagName":"body","attributes":{},"id":4,"childNodes":[
  {"type":2,"tagName":"input","attributes":{"type":"password"},"childNodes":[],"id":12},
  {"type":2,"tagName":"div","attributes":{"class":"ph-mask"},"id":10,"childNodes":[
   {"type":3,"textContent":"x","id":11}]}]}]}]},"initialOffset":{"left":0,"top":0}}})";

const Row kRows[] = {
    {"input_extra_field", R"({"type":3,"timestamp":3,"data":{"source":5,"text":"***",
      "value":"@","isChecked":false,"id":12}})"},
    {"input_extra_object", R"({"type":3,"timestamp":3,"data":{"source":5,"text":"***",
      "extra":{"v":"@"},"id":12}})"},
    {"text_value_key", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,"childNodes":[
      {"type":2,"tagName":"div","attributes":{"class":"ph-mask"},"id":10,"childNodes":[
      {"type":3,"textContent":"x","value":"@","id":11}]}]},"initialOffset":{"left":0,"top":0}}})"},
    {"element_child_text_key", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
      "childNodes":[{"type":2,"tagName":"div","attributes":{"class":"ph-mask"},"id":10,
      "childNodes":[],"textContent":"@"}]},"initialOffset":{"left":0,"top":0}}})"},
    {"attributes_array", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
      "childNodes":[{"type":2,"tagName":"input","attributes":[["value","@"]],"id":10,
      "childNodes":[]}]},"initialOffset":{"left":0,"top":0}}})"},
    {"attribute_value_object", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
      "childNodes":[{"type":2,"tagName":"input","attributes":{"value":{"v":"@"}},"id":10,
      "childNodes":[]}]},"initialOffset":{"left":0,"top":0}}})"},
    {"text_content_object", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
      "childNodes":[{"type":3,"textContent":["@"],"id":10}]},
      "initialOffset":{"left":0,"top":0}}})"},
    {"tag_name_object", R"({"type":2,"timestamp":2,"data":{"node":{"type":0,"id":1,
      "childNodes":[{"type":2,"tagName":{"t":"@"},"attributes":{},"id":10,"childNodes":[]}]},
      "initialOffset":{"left":0,"top":0}}})"},
    {"mouse_interaction_text", R"({"type":3,"timestamp":3,"data":{"source":2,"type":1,"id":10,
      "x":1,"y":2,"text":"@"}})"},
    {"selection_text", R"({"type":3,"timestamp":3,"data":{"source":14,"ranges":[{"start":1,
      "startOffset":0,"end":1,"endOffset":3}],"text":"@"}})"},
    {"scroll_nested", R"({"type":3,"timestamp":3,"data":{"source":3,"id":4,"x":0,"y":0,
      "note":{"deep":["@"]}}})"},
    {"mutation_text_extra", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":11,
      "value":"y","old":"@"}],"attributes":[],"removes":[],"adds":[]}})"},
    {"mutation_text_object", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":11,
      "value":{"v":"@"}}],"attributes":[],"removes":[],"adds":[]}})"},
    {"mutation_attribute_object", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
      "attributes":[{"id":4,"attributes":{"title":["@"]}}],"removes":[],"adds":[]}})"},
    {"mutation_add_extra", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
      "attributes":[],"removes":[],"adds":[{"parentId":10,"nextId":null,"label":"@",
      "node":{"type":3,"textContent":"z","id":20}}]}})"},
    {"mutation_data_extra", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
      "attributes":[],"removes":[],"adds":[],"summary":"@"}})"},
    {"mutation_remove_extra", R"({"type":3,"timestamp":3,"data":{"source":0,"texts":[],
      "attributes":[],"removes":[{"parentId":4,"id":99,"why":"@"}],"adds":[]}})"},
};

std::string Body(const Row& row) {
  std::string items = row.items;
  for (size_t at = items.find('@'); at != std::string::npos; at = items.find('@'))
    items.replace(at, 1, kCanary);
  return R"([{"event":"$snapshot","properties":{"token":"phc_unknownf1",)"
         R"("$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4","$window_id":"w1",)"
         R"("distinct_id":"d-1","$snapshot_data":[{"type":4,"timestamp":1,"data":{)"
         R"("href":"https://shop.test/","width":1,"height":1}},)" +
         std::string(kPage) + "," + items + "]}}]";
}

class UnknownFieldTest : public ::testing::TestWithParam<Row> {};

TEST_P(UnknownFieldTest, CanaryIsAbsentFromEveryByteOfTheDataDir) {
  TempDir dir;
  uint64_t counted = 0;
  {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok());
    auto store = sink::LocalStore::Open(dir.path());
    ASSERT_TRUE(store.ok());
    dom::StateStore::Options o;
    o.dir = dir.path() / "state";
    auto state = dom::StateStore::Open(o);
    ASSERT_TRUE(state.ok());
    AppConfig cfg;
    cfg.pseudonym_key = "k";
    App app(cfg, *set, store->get(), state->get(), nullptr);
    HttpRequest req;
    req.method = "POST";
    req.target = "/s/";
    req.body = Body(GetParam());
    req.headers["content-type"] = "application/json";
    HttpResponse r = app.Handle(req);
    EXPECT_EQ(r.status, 200u) << r.body;
    auto sessions = (*store)->ListSessions(10);
    ASSERT_TRUE(sessions.ok());
    EXPECT_EQ(sessions->size(), 1u) << "the recording is stored, not dropped whole";
    counted = app.metrics().redactions.load();
    ASSERT_TRUE((*state)->PersistAll().ok());
  }
  EXPECT_GT(counted, 0u);
  ExpectAbsentEverywhere(dir.path(), kCanary);
}

INSTANTIATE_TEST_SUITE_P(Positions, UnknownFieldTest, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace scrubd::server
