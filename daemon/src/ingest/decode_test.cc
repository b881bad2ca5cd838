#include "ingest/decode.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/fixtures.h"

namespace scrubd::ingest {
namespace {
namespace json = boost::json;
using scrubd::testing::Fixture;

RequestView View(const std::string& body, std::string_view ct = "text/plain",
                 std::string_view query = "") {
  return RequestView{body, ct, query};
}

TEST(GzipTest, RoundTripsAndRejectsTruncation) {
  std::string text(100000, 'x');
  Result<std::string> gz = Gzip(text);
  ASSERT_TRUE(gz.ok());
  EXPECT_TRUE(LooksGzip(*gz));
  Result<std::string> back = Gunzip(*gz, {});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, text);
  Result<std::string> cut = Gunzip(std::string_view(*gz).substr(0, gz->size() / 2), {});
  EXPECT_EQ(cut.status().code(), Code::kInvalidInput);
}

TEST(GzipTest, BombIsRejectedByAbsoluteCap) {
  std::string zeros(32u << 20, '\0');
  Result<std::string> gz = Gzip(zeros, 9);
  ASSERT_TRUE(gz.ok());
  InflateLimits lim;
  lim.max_output = 8u << 20;
  lim.max_ratio = 1e9;
  EXPECT_EQ(Gunzip(*gz, lim).status().code(), Code::kTooLarge);
}

TEST(GzipTest, BombIsRejectedByRatioCap) {
  std::string zeros(32u << 20, '\0');
  Result<std::string> gz = Gzip(zeros, 9);
  ASSERT_TRUE(gz.ok());
  InflateLimits lim;
  lim.max_output = 1u << 30;
  lim.max_ratio = 100;
  EXPECT_EQ(Gunzip(*gz, lim).status().code(), Code::kTooLarge);
}

TEST(Latin1Test, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  Result<std::string> back = Latin1ToBytes(BytesToLatin1(bytes));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(Latin1ToBytes("\xe2\x82\xac").ok());  // U+20AC is not latin-1
}

TEST(DecodeTest, ClassifiesPosthogPaths) {
  EXPECT_EQ(ClassifyPath("/s/"), Endpoint::kRecording);
  EXPECT_EQ(ClassifyPath("/i/v0/s/"), Endpoint::kRecording);
  EXPECT_EQ(ClassifyPath("/e/"), Endpoint::kEvents);
  EXPECT_EQ(ClassifyPath("/i/v0/e"), Endpoint::kEvents);
  EXPECT_EQ(ClassifyPath("/batch/"), Endpoint::kEvents);
  EXPECT_EQ(ClassifyPath("/capture/"), Endpoint::kEvents);
  EXPECT_EQ(ClassifyPath("/flags/"), Endpoint::kFlags);
  EXPECT_EQ(ClassifyPath("/decide/"), Endpoint::kFlags);
  EXPECT_EQ(ClassifyPath("/array/phc_x/config"), Endpoint::kRemoteConfig);
  EXPECT_EQ(ClassifyPath("/array/phc_x/config.js"), Endpoint::kRemoteConfig);
  EXPECT_EQ(ClassifyPath("/wp-admin"), Endpoint::kUnknown);
}

TEST(DecodeTest, RealSnapshotFixtureExpandsNestedCompression) {
  std::string body = Fixture("0008.body");
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body), {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->events.size(), 1u);
  const Event& ev = b->events[0];
  EXPECT_TRUE(ev.is_snapshot);
  EXPECT_EQ(ev.token, "phc_testkey123");
  EXPECT_EQ(ev.session_id, "01a20355-1c58-723a-837c-2bcc756c76c4");
  EXPECT_EQ(ev.window_id, "01a20355-1c59-7667-aa61-589204f46e49");
  EXPECT_EQ(ev.undecodable, 0u);
  const json::array& items = ev.json.at("properties").as_object().at("$snapshot_data").as_array();
  int full = 0, mutations_with_text = 0;
  for (const json::value& r : items) {
    const json::object& o = r.as_object();
    EXPECT_FALSE(o.contains("cv"));  // every nested field is expanded
    if (o.at("type").as_int64() == 2) {
      ++full;
      EXPECT_TRUE(o.at("data").as_object().at("node").is_object());
    }
    if (o.at("type").as_int64() == 3 && o.at("data").as_object().at("source").as_int64() == 0) {
      const json::array& adds = o.at("data").as_object().at("adds").as_array();
      if (!adds.empty() && json::serialize(adds).find("Thanks Jane Doe") != std::string::npos)
        ++mutations_with_text;
    }
  }
  EXPECT_EQ(full, 1);
  EXPECT_EQ(mutations_with_text, 3);
}

TEST(DecodeTest, EveryCapturedEventBodyDecodes) {
  for (const char* f : {"0000.body", "0009.body", "0010.body", "0011.body"}) {
    std::string body = Fixture(f);
    Result<Batch> b = DecodeBatch(Endpoint::kEvents, View(body), {});
    ASSERT_TRUE(b.ok()) << f << ": " << b.status().ToString();
    EXPECT_GE(b->events.size(), 1u);
    for (const Event& e : b->events) EXPECT_EQ(e.token, "phc_testkey123");
  }
}

TEST(DecodeTest, CrmFixtureDecodesEveryRecordingRequest) {
  int decoded = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(scrubd::testing::FixtureDir("posthog-js-1.449.2-crm"))) {
    if (e.path().extension() != ".body") continue;
    std::string meta = scrubd::testing::ReadFile(
        e.path().string().substr(0, e.path().string().size() - 5) + ".meta.json");
    if (meta.find("\"/s/") == std::string::npos) continue;
    std::string body = scrubd::testing::ReadFile(e.path());
    Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body), {});
    ASSERT_TRUE(b.ok()) << e.path() << ": " << b.status().ToString();
    for (const Event& ev : b->events) EXPECT_EQ(ev.undecodable, 0u);
    ++decoded;
  }
  EXPECT_EQ(decoded, 7);
}

TEST(DecodeTest, Base64FormAndPlainBodiesDecodeAlike) {
  std::string plain =
      R"({"api_key":"phc_a","batch":[{"event":"x","properties":{"$session_id":"s-1","distinct_id":"d"}}]})";
  // base64 of `plain`, computed with coreutils
  std::string b64 =
      "eyJhcGlfa2V5IjoicGhjX2EiLCJiYXRjaCI6W3siZXZlbnQiOiJ4IiwicHJvcGVydGllcyI6eyIkc2Vzc2lvbl9p"
      "ZCI6InMtMSIsImRpc3RpbmN0X2lkIjoiZCJ9fV19";
  Result<std::string> t1 = DecodeBodyText(View(plain, "application/json"), {});
  Result<std::string> t2 = DecodeBodyText(View(b64, "text/plain", "compression=base64"), {});
  std::string form = "data=" + b64;
  Result<std::string> t3 =
      DecodeBodyText(View(form, "application/x-www-form-urlencoded", "compression=base64"), {});
  ASSERT_TRUE(t1.ok() && t2.ok() && t3.ok()) << t2.status().ToString() << t3.status().ToString();
  EXPECT_EQ(*t1, plain);
  EXPECT_EQ(*t2, plain);
  EXPECT_EQ(*t3, plain);
  Result<std::string> gz = Gzip(plain);
  Result<std::string> t4 = DecodeBodyText(View(*gz, "text/plain"), {});
  ASSERT_TRUE(t4.ok());
  EXPECT_EQ(*t4, plain);
}

TEST(DecodeTest, BadInputIsRejectedWithTheRightCode) {
  DecodeLimits lim;
  auto code = [&](const std::string& body, Endpoint ep = Endpoint::kEvents) {
    return DecodeBatch(ep, View(body, "application/json"), lim).status().code();
  };
  EXPECT_EQ(code("{\"batch\": [1,2"), Code::kInvalidInput);                           // malformed
  EXPECT_EQ(code(""), Code::kInvalidInput);                                           // empty
  EXPECT_EQ(code("[]"), Code::kInvalidInput);                                         // empty batch
  EXPECT_EQ(code(std::string(2000, '[') + std::string(2000, ']')), Code::kTooLarge);  // deep
  std::string bad_utf8 =
      "[{\"event\":\"x\",\"properties\":{\"token\":\"t\",\"$session_id\":\"s\","
      "\"a\":\"\xff\xfe\"}}]";
  EXPECT_EQ(code(bad_utf8), Code::kInvalidInput);
  EXPECT_EQ(code(R"([{"event":"x","properties":{"token":"t"}}])"), Code::kInvalidInput);  // no sid
  EXPECT_EQ(code(R"([{"event":"x","properties":{"$session_id":"s"}}])"), Code::kInvalidInput);
  EXPECT_EQ(code(R"([{"event":"x","properties":{"token":"t","$session_id":"a/../b"}}])"),
            Code::kInvalidInput);
  EXPECT_EQ(code(R"([{"event":"$pageview","properties":{"token":"t","$session_id":"s"}}])",
                 Endpoint::kRecording),
            Code::kInvalidInput);  // /s/ takes $snapshot only
  std::string gz = *Gzip(R"([{"event":"x"}])");
  EXPECT_EQ(DecodeBatch(Endpoint::kEvents, View(gz.substr(0, gz.size() - 6)), lim).status().code(),
            Code::kInvalidInput);  // truncated gzip
}

TEST(DecodeTest, UndecodableNestedFieldDropsOnlyThatEvent) {
  std::string body =
      R"([{"event":"$snapshot","properties":{"token":"t","$session_id":"s1","$window_id":"w1",)"
      R"("$snapshot_data":[{"type":2,"cv":"2024-10","data":"not gzip","timestamp":1},)"
      R"({"type":3,"data":{"source":5,"text":"x","id":1},"timestamp":2}]}}])";
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body, "application/json"), {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->events[0].undecodable, 1u);
  EXPECT_EQ(b->events[0].json.at("properties").as_object().at("$snapshot_data").as_array().size(),
            1u);
}

TEST(DecodeTest, NestedBombCountsAgainstTheRequestBudget) {
  std::string zeros(4u << 20, ' ');
  std::string inner = "[" + zeros + "]";
  std::string latin = BytesToLatin1(*Gzip(inner, 9));
  json::object ev{
      {"event", "$snapshot"},
      {"properties", json::object{{"token", "t"},
                                  {"$session_id", "s1"},
                                  {"$snapshot_data",
                                   json::array{json::object{
                                       {"type", 3},
                                       {"cv", "2024-10"},
                                       {"data", json::object{{"source", 0}, {"adds", latin}}}}}}}}};
  std::string body = json::serialize(json::array{ev});
  DecodeLimits lim;
  lim.inflate.max_output = 1u << 20;
  EXPECT_EQ(DecodeBatch(Endpoint::kRecording, View(body, "application/json"), lim).status().code(),
            Code::kTooLarge);
}

}  // namespace
}  // namespace scrubd::ingest

namespace scrubd::ingest {
namespace {

TEST(NestedCodecTest, CompressThenExpandIsLosslessOnTheRealFixture) {
  std::string body = scrubd::testing::Fixture("0008.body");
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body), {});
  ASSERT_TRUE(b.ok());
  json::array& items = b->events[0].json["properties"].as_object()["$snapshot_data"].as_array();
  int compressed = 0;
  for (json::value& r : items) {
    std::string before = json::serialize(r);
    ASSERT_TRUE(CompressNested(r.as_object()).ok());
    if (r.as_object().contains("cv")) {
      ++compressed;
      const json::value& d = r.at("data");
      const json::value& field = d.is_string() ? d : d.at("adds");
      ASSERT_TRUE(field.is_string()) << json::serialize(r).substr(0, 300);
      EXPECT_EQ(field.as_string()[0], '\x1f');  // gzip magic as a latin-1 code point
    }
    size_t budget = 64u << 20;
    ASSERT_TRUE(ExpandNested(r.as_object(), {}, &budget).ok());
    EXPECT_EQ(json::serialize(r), before);
  }
  EXPECT_EQ(compressed, 4);  // the FullSnapshot and three mutations
}

}  // namespace
}  // namespace scrubd::ingest

namespace scrubd::ingest {
namespace {

// A /s/ body with one $snapshot carrying `rrweb` (JSON text), routing fields filled in.
std::string SnapshotBody(const std::string& rrweb, const std::string& extra_props = "") {
  return R"([{"event":"$snapshot","properties":{"token":"phc_t","$session_id":"s-1",)" +
         extra_props + R"("$snapshot_data":[)" + rrweb + "]}}]";
}

TEST(NumberNormaliseTest, ExactIntegersBecomeInt64EverywhereOthersStay) {
  std::string body = SnapshotBody(
      R"({"type":2.0,"data":{"source":2E0,"neg":-0.0,"big":-3E2,"half":2.5,"huge":1E300,)"
      R"("u":18446744073709551615},"timestamp":1.795352239383E12})");
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body, "application/json"), {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const json::object& r = SnapshotItems(b->events[0].json)->at(0).as_object();
  EXPECT_TRUE(r.at("type").is_int64());
  EXPECT_EQ(r.at("type").as_int64(), 2);
  EXPECT_EQ(r.at("timestamp").as_int64(), 1795352239383);
  const json::object& d = r.at("data").as_object();
  EXPECT_EQ(d.at("source").as_int64(), 2);
  EXPECT_EQ(d.at("neg").as_int64(), 0);
  EXPECT_EQ(d.at("big").as_int64(), -300);
  EXPECT_TRUE(d.at("half").is_double());  // a fraction is not an integer: rrweb checks drop it
  EXPECT_TRUE(d.at("huge").is_double());  // outside int64
  EXPECT_TRUE(d.at("u").is_uint64());
}

TEST(NumberNormaliseTest, InsideACvFieldToo) {
  Result<std::string> gz = Gzip(R"({"node":{"type":0.0,"id":1E0,"childNodes":[]},)"
                                R"("initialOffset":{"top":0.0,"left":0}})");
  ASSERT_TRUE(gz.ok());
  std::string field = json::serialize(json::value(BytesToLatin1(*gz)));
  std::string body =
      SnapshotBody(R"({"type":2E0,"cv":"2024-10","timestamp":1,"data":)" + field + "}");
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(body, "application/json"), {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const json::object& r = SnapshotItems(b->events[0].json)->at(0).as_object();
  EXPECT_FALSE(r.contains("cv"));  // expanded although `type` was written 2E0
  const json::object& node = r.at("data").at("node").as_object();
  EXPECT_TRUE(node.at("type").is_int64());
  EXPECT_TRUE(node.at("id").is_int64());
  EXPECT_TRUE(r.at("data").at("initialOffset").at("top").is_int64());
}

TEST(RoutingFieldTest, WrongTypeOrShapeIsRejected) {
  const std::string ok_props = R"("$session_id":"s-1","$window_id":"w-1",)";
  struct Case {
    const char* what;
    std::string body;
  } cases[] = {
      {"token object", R"([{"event":"e","properties":{"token":{"a":"x"},"$session_id":"s"}}])"},
      {"token array", R"([{"event":"e","properties":{"token":["phc_t"],"$session_id":"s"}}])"},
      {"token number", R"([{"event":"e","properties":{"token":12,"$session_id":"s"}}])"},
      {"token shape", R"([{"event":"e","properties":{"token":"a@b.c","$session_id":"s"}}])"},
      {"window object",
       R"([{"event":"e","properties":{"token":"t","$session_id":"s","$window_id":{"x":1}}}])"},
      {"window array",
       R"([{"event":"e","properties":{"token":"t","$session_id":"s","$window_id":["w"]}}])"},
      {"session number", R"([{"event":"e","properties":{"token":"t","$session_id":7}}])"},
      {"session shape",
       R"([{"event":"e","properties":{"token":"t","$session_id":"jane@example.com"}}])"},
      {"uuid shape", R"([{"event":"e","uuid":"jane@example.com","properties":{"token":"t",)" +
                         ok_props + R"("x":1}}])"},
      {"uuid number",
       R"([{"event":"e","uuid":5,"properties":{"token":"t",)" + ok_props + R"("x":1}}])"},
      {"event api_key", R"([{"event":"e","api_key":"jane@example.com","properties":{"token":"t",)" +
                            ok_props + R"("x":1}}])"},
      {"event token",
       R"([{"event":"e","token":{"t":1},"properties":{"token":"t",)" + ok_props + R"("x":1}}])"},
      {"batch api_key",
       R"({"api_key":["t"],"batch":[{"event":"e","properties":{"token":"t","$session_id":"s"}}]})"},
      {"batch token",
       R"({"token":"a b","batch":[{"event":"e","properties":{"token":"t","$session_id":"s"}}]})"},
  };
  for (const auto& c : cases) {
    Result<Batch> b = DecodeBatch(Endpoint::kEvents, View(c.body, "application/json"), {});
    EXPECT_EQ(b.status().code(), Code::kInvalidInput) << c.what;
  }
  std::string good = R"({"api_key":"phc_b","batch":[{"event":"e",)"
                     R"("uuid":"01A20355-1c3b-7e32-8005-5c936b66d610","properties":{)" +
                     ok_props + R"("$window_id":null}}]})";
  Result<Batch> b = DecodeBatch(Endpoint::kEvents, View(good, "application/json"), {});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // The batch-level token is written into the event, where the sink reads it.
  EXPECT_EQ(b->events[0].json.at("properties").at("token").as_string(), "phc_b");
}

// Sixty nested fields of 1 MB each in a small request: each is under the per-field ratio
// floor, the whole is a bomb.
TEST(GzipBombTest, SplitBombIsRejectedAsAWhole) {
  std::string mutation = "[" + std::string(1000000 - 2, ' ') + "]";
  Result<std::string> gz = Gzip(mutation, 9);
  ASSERT_TRUE(gz.ok());
  std::string field = json::serialize(json::value(BytesToLatin1(*gz)));
  std::string items;
  for (int i = 0; i < 60; ++i) {
    if (i) items += ",";
    items += R"({"type":3,"cv":"2024-10","timestamp":1,"data":{"source":0,"adds":)" + field + "}}";
  }
  Result<std::string> body = Gzip(SnapshotBody(items), 9);
  ASSERT_TRUE(body.ok());
  ASSERT_LT(body->size(), 20000u);
  Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(*body), {});
  EXPECT_EQ(b.status().code(), Code::kTooLarge);
  // One such field alone is within the caps.
  Result<std::string> one = Gzip(SnapshotBody(items.substr(0, items.find("}},") + 2)), 9);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(DecodeBatch(Endpoint::kRecording, View(*one), {}).ok());
}

TEST(GzipBombTest, RequestCapIsAbsoluteAndRatioWithAFloor) {
  InflateLimits lim;
  lim.max_output = 64u << 20;
  lim.max_ratio = 1000;
  EXPECT_EQ(RequestInflateCap(lim, 10), kRatioFloorBytes);
  EXPECT_EQ(RequestInflateCap(lim, 2000), 2000000u);
  EXPECT_EQ(RequestInflateCap(lim, 1u << 20), lim.max_output);
}

}  // namespace
}  // namespace scrubd::ingest

namespace scrubd::ingest {
namespace {

// Only one recording field is ever masked, so a body that carries both, or one on a
// non-$snapshot event, is rejected whole (the reviewer's cv-gzipped $snapshot_items leak).
TEST(SnapshotFieldTest, BothFieldsOrFieldOnOtherEventIsRejected) {
  DecodeLimits lim;
  auto code = [&](const std::string& body, Endpoint ep) {
    return DecodeBatch(ep, View(body, "application/json"), lim).status().code();
  };
  const std::string meta = R"({"type":4,"data":{"href":"http://x/"},"timestamp":1})";
  const std::string routing = R"("token":"phc_t","$session_id":"s-1",)";
  std::string both = R"([{"event":"$snapshot","properties":{)" + routing + R"("$snapshot_data":[)" +
                     meta + R"(],"$snapshot_items":[)" + meta +
                     R"(,{"type":3,"cv":"2024-10","data":{"source":0,"texts":"H4sI"}}]}}])";
  EXPECT_EQ(code(both, Endpoint::kRecording), Code::kInvalidInput);
  EXPECT_EQ(code(both, Endpoint::kEvents), Code::kInvalidInput);
  for (std::string_view field : {"$snapshot_data", "$snapshot_items"}) {
    std::string other = R"([{"event":"$pageview","properties":{)" + routing + "\"" +
                        std::string(field) + R"(":[{"secret":"canary-4111111111111111"}]}}])";
    EXPECT_EQ(code(other, Endpoint::kEvents), Code::kInvalidInput) << field;
  }
  // One field alone, on a $snapshot, still decodes (either name).
  for (std::string_view field : {"$snapshot_data", "$snapshot_items"}) {
    std::string one = R"([{"event":"$snapshot","properties":{)" + routing + "\"" +
                      std::string(field) + "\":[" + meta + "]}}]";
    Result<Batch> b = DecodeBatch(Endpoint::kRecording, View(one, "application/json"), lim);
    ASSERT_TRUE(b.ok()) << field << ": " << b.status().message();
    ASSERT_NE(SnapshotItems(b->events[0].json), nullptr);
  }
}

}  // namespace
}  // namespace scrubd::ingest
