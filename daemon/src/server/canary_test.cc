// Issue 9 section 1: a canary planted in every field position of a synthetic /e/ and /s/ event
// must be absent from every byte of the data dir (chunks, SQLite db and -wal, audit log, DOM
// state) after App::Handle, while valid requests are stored (200) and bad routing fields are
// refused (400); and absent from what is spooled for the upstream, decoded (gunzip and cv
// expansion). Table-driven: add a row per new position (Positions() below).
#include "support/canary.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <functional>
#include <string_view>
#include <vector>

#include "dom/dom_masker.h"
#include "ingest/decode.h"
#include "ingest/gzip.h"
#include "scrubd/audit/log.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "sink/upstream.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::AnyFileContains;
using scrubd::testing::ExpectAbsentEverywhere;
using scrubd::testing::TempDir;

constexpr char kEmail[] = "canary.zq@example.com";  // found by the email detector
constexpr char kWord[] = "Zqcanaryword";            // found by nothing but position rules
constexpr char kNumber[] = "918273645501";          // a number under a sensitive key
constexpr char kMarker[] = "kept-marker-zq";        // proves that a 200 stored the batch

// `body` with its first `from` replaced by `to`.
std::string Edit(std::string body, std::string_view from, std::string_view to) {
  size_t at = body.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? body : body.replace(at, from.size(), to);
}

// Replaces every "$C" in `tmpl` by `canary`.
std::string Fill(std::string tmpl, const std::string& canary) {
  for (size_t at; (at = tmpl.find("$C")) != std::string::npos;) tmpl.replace(at, 2, canary);
  return tmpl;
}

// A latin-1 gzip cv field (as posthog-js writes it) holding `json_text` with the canary
// planted, as a JSON string.
std::string CvField(const std::string& canary, const std::string& json_text) {
  Result<std::string> gz = ingest::Gzip(Fill(json_text, canary));
  EXPECT_TRUE(gz.ok());
  return json::serialize(json::value(ingest::BytesToLatin1(gz.ok() ? *gz : "")));
}

// An /e/ batch of one event; `top` and `props` are extra members ending in a comma.
std::string EventBody(const std::string& top, const std::string& props,
                      const std::string& batch_top = "") {
  return R"({)" + batch_top + R"("batch":[{"event":"signup",)" + top +
         R"("uuid":"01a20355-1c3b-7e32-8005-5c936b66d610","timestamp":"2026-11-22T12:57:19Z",)"
         R"("properties":{"token":"phc_canary","$session_id":"s-canary","$window_id":"w-canary",)"
         R"("distinct_id":"d-canary",)" +
         props + R"("marker":")" + kMarker + R"("}}]})";
}

// A FullSnapshot data object whose <body> holds `body_children` (JSON nodes, id >= 10).
std::string FullData(const std::string& body_children) {
  return R"({"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html",)"
         R"("attributes":{},"childNodes":[{"type":2,"id":3,"tagName":"body","attributes":{},)"
         R"("childNodes":[)" +
         body_children + R"(]}]}]},"initialOffset":{"top":0,"left":0}})";
}

std::string Full(const std::string& body_children) {
  return R"({"type":2,"timestamp":2,"data":)" + FullData(body_children) + "}";
}

// An /s/ batch: Meta, the given rrweb `items` (ending in a comma) and a marker custom event.
std::string SnapshotBody(const std::string& items, const std::string& props = "",
                         const std::string& top = "") {
  return R"([{"event":"$snapshot",)" + top +
         R"("uuid":"01a20355-1c3b-7e32-8005-5c936b66d611","properties":{"token":"phc_canary",)"
         R"("$session_id":"s-canary","$window_id":"w-canary","distinct_id":"d-canary",)" +
         props +
         R"("$snapshot_data":[{"type":4,"timestamp":1,"data":{"href":"https://shop.test/",)"
         R"("width":800,"height":600}},)" +
         items + R"({"type":5,"timestamp":9,"data":{"tag":"m","payload":{"m":")" + kMarker +
         R"("}}}]}}])";
}

struct Position {
  const char* name;
  const char* path;    // "/e/" or "/s/"
  const char* canary;  // planted where the body has "$C"
  // The request body with "$C" where the canary goes; cv fields get it before compression.
  std::function<std::string(const std::string& canary)> body;
  unsigned status;  // expected response
};

void PrintTo(const Position& p, std::ostream* os) { *os << p.name; }

std::vector<Position> Positions() {
  auto e = [](std::string top, std::string props) {
    return [=](const std::string&) { return EventBody(top, props); };
  };
  auto s = [](std::string items, std::string props = "") {
    return [=](const std::string&) { return SnapshotBody(items, props); };
  };
  const std::string text_node = R"({"type":3,"id":10,"textContent":"write to $C"})";
  return {
      // /e/ analytics events: names, keys at several depths, values, arrays.
      {"event name", "/e/", kEmail,
       [](const std::string&) { return Edit(EventBody("", ""), "signup", "$C"); }, 200},
      {"top-level key", "/e/", kEmail, e(R"("$C":1,)", ""), 200},
      {"property key", "/e/", kEmail, e("", R"("$C":true,)"), 200},
      {"deep key", "/e/", kEmail, e("", R"("a":{"b":[{"c":{"$C":{"d":1}}}]},)"), 200},
      {"property value", "/e/", kEmail, e("", R"("note":"mail $C today",)"), 200},
      {"nested value", "/e/", kEmail, e("", R"("a":{"b":{"c":["x",{"d":"$C"}]}},)"), 200},
      {"array value", "/e/", kEmail, e("", R"("list":["$C","$C"],)"), 200},
      {"top-level value", "/e/", kEmail, e(R"("extra":{"who":"$C"},)", ""), 200},
      {"current url", "/e/", kEmail, e("", R"("$current_url":"https://shop.test/?email=$C",)"),
       200},
      {"number under password", "/e/", kNumber, e("", R"("password":$C,)"), 200},
      {"number under card", "/e/", kNumber, e("", R"("card":$C,)"), 200},
      {"object under credentials", "/e/", kWord,
       e("", R"("credentials":{"user":"x","pass":"$C"},)"), 200},
      {"array under secret", "/e/", kNumber, e("", R"("form":{"secret":[1,$C]},)"), 200},
      {"number under top-level password", "/e/", kNumber, e(R"("password":$C,)", ""), 200},
      // Routing fields: strings of their shape, or the request is refused.
      {"token string", "/e/", kEmail,
       [](const std::string&) { return Edit(EventBody("", ""), "phc_canary", "$C"); }, 400},
      {"token object", "/e/", kWord,
       [](const std::string&) {
         return Edit(EventBody("", ""), "\"phc_canary\"", R"({"t":"$C"})");
       },
       400},
      {"session id", "/e/", kEmail,
       [](const std::string&) { return Edit(EventBody("", ""), "s-canary", "$C"); }, 400},
      {"window id array", "/e/", kWord,
       [](const std::string&) { return Edit(EventBody("", ""), "\"w-canary\"", R"(["$C"])"); },
       400},
      {"window id number", "/e/", kNumber,
       [](const std::string&) { return Edit(EventBody("", ""), "\"w-canary\"", "$C"); }, 400},
      {"uuid", "/e/", kEmail,
       [](const std::string&) {
         return Edit(EventBody("", ""), "01a20355-1c3b-7e32-8005-5c936b66d610", "$C");
       },
       400},
      {"event api_key", "/e/", kEmail, e(R"("api_key":"$C",)", ""), 400},
      {"event token object", "/e/", kWord, e(R"("token":{"k":"$C"},)", ""), 400},
      {"batch api_key", "/e/", kWord,
       [](const std::string&) { return EventBody("", "", R"("api_key":["$C"],)"); }, 400},
      // /s/ recordings.
      {"snapshot property key", "/s/", kEmail, s("", R"("$C":1,)"), 200},
      {"snapshot property value", "/s/", kEmail, s("", R"("note":"$C",)"), 200},
      {"snapshot number under token key", "/s/", kNumber, s("", R"("auth":{"token":$C},)"), 200},
      {"text node", "/s/", kEmail, s(Full(text_node) + ","), 200},
      {"attribute value", "/s/", kEmail,
       s(Full(R"({"type":2,"id":10,"tagName":"p","attributes":{"title":"$C"},"childNodes":[]})") +
         ","),
       200},
      {"attribute key", "/s/", kEmail,
       s(Full(R"({"type":2,"id":10,"tagName":"p","attributes":{"data-$C":"1"},"childNodes":[]})") +
         ","),
       200},
      {"input value, types written 2.0 and 2E0", "/s/", kWord,
       [](const std::string&) {
         return SnapshotBody(
             Edit(Full(R"({"type":2E0,"id":10,"tagName":"input",)"
                       R"("attributes":{"type":"text","value":"$C"},"childNodes":[]})"),
                  "\"type\":2,", "\"type\":2.0,") +
             ",");
       },
       200},
      {"cv FullSnapshot text", "/s/", kEmail,
       [](const std::string& c) {
         return SnapshotBody(R"({"type":2.0,"cv":"2024-10","timestamp":2,"data":)" +
                             CvField(c, FullData(R"({"type":3,"id":10,"textContent":"$C"})")) +
                             "},");
       },
       200},
      {"cv FullSnapshot input", "/s/", kWord,
       [](const std::string& c) {
         return SnapshotBody(
             R"({"type":2,"cv":"2024-10","timestamp":2,"data":)" +
             CvField(c, FullData(R"({"type":2,"id":10,"tagName":"input","attributes":)"
                                 R"({"type":"password","value":"$C"},"childNodes":[]})")) +
             "},");
       },
       200},
      {"cv mutation adds and texts", "/s/", kEmail,
       [](const std::string& c) {
         return SnapshotBody(Full("") +
                             R"(,{"type":3,"cv":"2024-10","timestamp":3,"data":{"source":0,)"
                             R"("adds":)" +
                             CvField(c, R"([{"parentId":3,"nextId":null,"node":{"type":3,"id":11,)"
                                        R"("textContent":"$C"}}])") +
                             R"(,"texts":)" + CvField(c, R"([{"id":11,"value":"again $C"}])") +
                             R"(,"attributes":)" +
                             CvField(c, R"([{"id":3,"attributes":{"$C":"v"}}])") +
                             R"(,"removes":)" + CvField(c, "[]") + "}},");
       },
       200},
      {"meta href", "/s/", kEmail,
       [](const std::string&) {
         return Edit(SnapshotBody(""), "https://shop.test/", "https://shop.test/?email=$C");
       },
       200},
      {"console payload", "/s/", kEmail,
       s(R"({"type":6,"timestamp":4,"data":{"plugin":"rrweb/console@1","payload":)"
         R"({"level":"log","payload":["\"user $C\""],"trace":["at $C"]}}},)"),
       200},
      {"input text array", "/s/", kWord,
       s(Full(R"({"type":2,"id":10,"tagName":"input","attributes":{"type":"text"},)"
              R"("childNodes":[]})") +
         R"(,{"type":3,"timestamp":5,"data":{"source":5,"id":10,"text":["$C"],)"
         R"("isChecked":false}},)"),
       200},
      {"input text, source written 5E0", "/s/", kWord,
       s(Full(R"({"type":2,"id":10,"tagName":"input","attributes":{"type":"text"},)"
              R"("childNodes":[]})") +
         R"(,{"type":3.0,"timestamp":5,"data":{"source":5E0,"id":10,"text":"$C",)"
         R"("isChecked":false}},)"),
       200},
      {"snapshot session id object", "/s/", kWord,
       [](const std::string&) { return Edit(SnapshotBody(""), "\"s-canary\"", R"({"s":"$C"})"); },
       400},
      {"snapshot uuid", "/s/", kEmail,
       [](const std::string&) {
         return Edit(SnapshotBody(""), "01a20355-1c3b-7e32-8005-5c936b66d611", "$C");
       },
       400},
  };
}

// An upstream that is never reached: the forwarder is not started, so what would go upstream
// stays in DATA_DIR/spool.
class UnusedClient : public sink::UpstreamClient {
 public:
  Result<sink::UpstreamResponse> Exchange(const sink::UpstreamRequest&) override {
    return Status::Unavailable("not started");
  }
};

// Every spooled body, decoded as the upstream would read it: gunzipped, with every nested cv
// field of its rrweb events expanded.
std::string SpooledText(const std::filesystem::path& spool) {
  std::string all;
  if (!std::filesystem::exists(spool)) return all;
  for (const auto& e : std::filesystem::recursive_directory_iterator(spool)) {
    if (!e.is_regular_file() || !e.path().string().ends_with(".req")) continue;
    std::string file = scrubd::testing::ReadFile(e.path());
    size_t at = file.find("\n\n");
    EXPECT_NE(at, std::string::npos);
    Result<std::string> text = ingest::Gunzip(file.substr(at + 2), {});
    EXPECT_TRUE(text.ok());
    json::value v = json::parse(*text);
    json::array* list = v.is_array() ? &v.as_array() : &v.as_object()["batch"].as_array();
    for (json::value& ev : *list) {
      json::array* items = ingest::SnapshotItems(ev.as_object());
      for (json::value& r : items ? *items : json::array()) {
        size_t budget = 64u << 20;
        EXPECT_TRUE(ingest::ExpandNested(r.as_object(), {}, &budget).ok());
      }
    }
    all += json::serialize(v);
  }
  return all;
}

// Runs one row against a fresh data dir: the local store, or (upstream) the upstream spool.
void RunRow(const Position& p, bool upstream) {
  TempDir dir;
  std::string body = Fill(p.body(p.canary), p.canary);
  if (body.find("\"cv\"") == std::string::npos) {
    ASSERT_NE(body.find(p.canary), std::string::npos) << "the row plants nothing";
  }
  std::string spooled;
  {
    auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    auto store = sink::LocalStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    dom::StateStore::Options so;
    so.dir = dir.path() / "state";
    auto state = dom::StateStore::Open(so);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    auto log = audit::Log::Open(dir.path() / "audit", {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    UnusedClient client;
    std::unique_ptr<sink::Upstream> up;
    if (upstream) {
      sink::UpstreamOptions uo;
      uo.url = "http://127.0.0.1:9";
      uo.spool_dir = dir.path() / "spool";
      auto u = sink::Upstream::Open(uo, &client);
      ASSERT_TRUE(u.ok()) << u.status().ToString();
      up = std::move(u).value();
    }
    AppConfig cfg;
    cfg.pseudonym_key = "pseudonym-key-for-tests";
    App app(cfg, *set, store->get(), state->get(), log->get(), up.get());
    HttpRequest req;
    req.method = "POST";
    req.target = p.path;
    req.body = body;
    req.headers["content-type"] = "text/plain";
    HttpResponse r = app.Handle(req);
    EXPECT_EQ(r.status, p.status) << r.body;
    EXPECT_EQ(r.body.find(p.canary), std::string::npos) << "response echoes the canary";
    (void)(*log)->Close();
    spooled = SpooledText(dir.path() / "spool");
  }  // everything flushed and closed: the state store persists its windows here
  EXPECT_EQ(ExpectAbsentEverywhere(dir.path(), p.canary), 0u) << p.name;
  EXPECT_EQ(spooled.find(p.canary), std::string::npos) << p.name << " goes upstream";
  bool stored = AnyFileContains(dir.path(), kMarker) || spooled.find(kMarker) != std::string::npos;
  EXPECT_EQ(stored, p.status == 200) << p.name;
}

class CanaryTest : public ::testing::TestWithParam<Position> {};

TEST_P(CanaryTest, AbsentFromEveryByteOfTheDataDir) { RunRow(GetParam(), false); }

TEST_P(CanaryTest, AbsentFromWhatGoesUpstream) { RunRow(GetParam(), true); }

std::string RowName(const ::testing::TestParamInfo<Position>& info) {
  std::string n;
  for (const char* c = info.param.name; *c; ++c) n += std::isalnum(*c) ? *c : '_';
  return n + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Positions, CanaryTest, ::testing::ValuesIn(Positions()), RowName);

}  // namespace
}  // namespace scrubd::server

namespace scrubd::server {
namespace {

// Issue 9 section 8: sixty 1 MB cv fields in a request of about 1.3 KB. Each field is within
// the per-field caps; the request as a whole is a bomb: 413, nothing stored.
TEST(SplitGzipBombTest, RequestIsRefusedWholeAndNothingIsStored) {
  Result<std::string> gz = ingest::Gzip("[" + std::string(1000000 - 2, ' ') + "]", 9);
  ASSERT_TRUE(gz.ok());
  std::string field = json::serialize(json::value(ingest::BytesToLatin1(*gz)));
  std::string items;
  for (int i = 0; i < 60; ++i)
    items += R"({"type":3,"cv":"2024-10","timestamp":3,"data":{"source":0,"adds":)" + field + "}},";
  Result<std::string> body = ingest::Gzip(SnapshotBody(items), 9);
  ASSERT_TRUE(body.ok());
  EXPECT_LT(body->size(), 2000u);
  TempDir dir;
  auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
  ASSERT_TRUE(set.ok());
  auto store = sink::LocalStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  dom::StateStore::Options so;
  so.dir = dir.path() / "state";
  auto state = dom::StateStore::Open(so);
  ASSERT_TRUE(state.ok());
  App app(AppConfig{}, *set, store->get(), state->get(), nullptr);
  HttpRequest req;
  req.method = "POST";
  req.target = "/s/";
  req.body = *body;
  EXPECT_EQ(app.Handle(req).status, 413u);
  ExpectAbsentEverywhere(dir.path(), kMarker);
  auto list = (*store)->ListSessions(10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  // The same request with one such field is stored.
  req.body = *ingest::Gzip(SnapshotBody(items.substr(0, items.find("}},") + 3)), 9);
  EXPECT_EQ(app.Handle(req).status, 200u);
  EXPECT_TRUE(AnyFileContains(dir.path(), kMarker));
}

}  // namespace
}  // namespace scrubd::server
