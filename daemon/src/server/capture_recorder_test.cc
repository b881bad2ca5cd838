// CaptureRecorder: the meta format byte for byte against the fixtures, the files and their
// modes, the answers posthog-js gets, the count and byte bounds, the --out checks, and a full
// disk (never a body without its meta, no path or captured value in the error).
#include "server/capture_recorder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <fstream>

#include "scrubd/common/fault_env.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ReadFile;
using testing::TempDir;

unsigned ModeOf(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

HttpRequest Req(std::string method, std::string target, std::string body = "",
                std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.raw_headers = std::move(headers);
  for (const auto& [k, v] : r.raw_headers) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[lower] = v;
  }
  return r;
}

std::unique_ptr<CaptureRecorder> OpenOrDie(CaptureOptions o, Env* env = Env::Default()) {
  Result<std::unique_ptr<CaptureRecorder>> r = CaptureRecorder::Open(std::move(o), env);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Every fixture request, rebuilt from its meta file (headers in file order) and body, gives
// back exactly that meta file.
TEST(CaptureRecorderTest, MetaJsonIsTheFixtureFormatByteForByte) {
  int n = 0;
  for (const char* set : {"posthog-js-1.449.2", "posthog-js-1.449.2-crm"}) {
    for (const auto& e : fs::directory_iterator(testing::FixtureDir(set))) {
      std::string name = e.path().filename().string();
      if (!name.ends_with(".meta.json")) continue;
      std::string text = ReadFile(e.path());
      json::object meta = json::parse(text).as_object();
      std::vector<std::pair<std::string, std::string>> headers;
      for (const auto& kv : meta.at("headers").as_object())
        headers.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
      std::string body = ReadFile(e.path().parent_path() / (name.substr(0, 4) + ".body"));
      HttpRequest r = Req(std::string(meta.at("method").as_string()),
                          std::string(meta.at("path").as_string()), body, headers);
      EXPECT_EQ(CaptureMetaJson(r), text) << set << "/" << name;
      ++n;
    }
  }
  EXPECT_GE(n, 10);  // both sets were read
}

// Python's json.dumps(indent=1) escaping, with header bytes read as Latin-1; a repeated
// header is one entry (Cookie joined with "; ", others with ", "); no headers: {}.
TEST(CaptureRecorderTest, MetaJsonEscapesLikePythonAndMergesRepeatedHeaders) {
  HttpRequest r = Req("POST", "/e/?q=\"a\\b\"", "xyz",
                      {{"X-Ctl", std::string("a\tb\x01\x7f\xe9", 6)},
                       {"Cookie", "a=1"},
                       {"Accept", "x"},
                       {"cookie", "b=2"},
                       {"Accept", "y"}});
  EXPECT_EQ(CaptureMetaJson(r),
            "{\n \"method\": \"POST\",\n \"path\": \"/e/?q=\\\"a\\\\b\\\"\",\n \"headers\": {\n"
            "  \"X-Ctl\": \"a\\tb\\u0001\\u007f\\u00e9\",\n  \"Cookie\": \"a=1; b=2\",\n"
            "  \"Accept\": \"x, y\"\n },\n \"len\": 3\n}");
  EXPECT_EQ(CaptureMetaJson(Req("GET", "/flags/")),
            "{\n \"method\": \"GET\",\n \"path\": \"/flags/\",\n \"headers\": {},\n \"len\": 0\n}");
  EXPECT_EQ(CaptureName(7), "0007");
  EXPECT_EQ(CaptureName(1234), "1234");
}

TEST(CaptureRecorderTest, WritesEachPosthogRequestAsAPrivatePairAndAnswersLikeTheDefault) {
  TempDir d;
  fs::path out = d.path() / "new" / "cap";
  auto rec = OpenOrDie({out});
  ASSERT_TRUE(rec);
  EXPECT_EQ(ModeOf(out), 0700u);
  std::string gz = testing::Fixture("0008.body");
  HttpRequest s = Req("POST", "/s/?compression=gzip-js&ver=1.449.2", gz,
                      {{"Content-Type", "text/plain"}, {"Origin", "http://shop.test"}});
  EXPECT_EQ(rec->HandleRaw(s, Surface::kAll).status, 200u);
  HttpRequest e = Req("POST", "/e/", "{}");
  HttpResponse ea = rec->HandleRaw(e, Surface::kAll);
  EXPECT_EQ(ea.status, 200u);
  EXPECT_EQ(ea.body, R"({"status":1})");
  HttpRequest f = Req("POST", "/flags/?v=2", "{}");
  HttpResponse fa = rec->HandleRaw(f, Surface::kAll);
  EXPECT_EQ(fa.status, 200u);
  EXPECT_NE(fa.body.find("\"featureFlags\""), std::string::npos) << fa.body;
  HttpRequest c = Req("GET", "/array/phc_cap/config.js");
  HttpResponse ca = rec->HandleRaw(c, Surface::kAll);
  EXPECT_EQ(ca.status, 200u);
  EXPECT_NE(ca.body.find("sessionRecording"), std::string::npos);
  HttpRequest get_e = Req("GET", "/e/");
  EXPECT_EQ(rec->HandleRaw(get_e, Surface::kAll).status, 405u);  // written, answered as serve
  HttpRequest other = Req("GET", "/favicon.ico");
  EXPECT_EQ(rec->HandleRaw(other, Surface::kAll).status, 404u);  // not a posthog route
  HttpRequest health = Req("GET", "/healthz");
  EXPECT_EQ(rec->HandleRaw(health, Surface::kAll).status, 200u);
  EXPECT_FALSE(rec->IsAdminRoute("/admin/reload"));  // ingest CORS everywhere, no admin API

  CaptureStats st = rec->stats();
  EXPECT_EQ(st.written, 5u);
  EXPECT_EQ(st.state, CaptureState::kRecording);
  std::vector<std::string> names;
  for (const auto& ent : fs::directory_iterator(out)) {
    names.push_back(ent.path().filename().string());
    EXPECT_EQ(ModeOf(ent.path()), 0600u) << ent.path();
  }
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names.size(), 10u);
  EXPECT_EQ(names.front(), "0000.body");
  EXPECT_EQ(names.back(), "0004.meta.json");
  EXPECT_EQ(ReadFile(out / "0000.body"), gz);  // raw: the gzip bytes as they came
  EXPECT_EQ(ReadFile(out / "0000.meta.json"), CaptureMetaJson(s));
  json::object m = json::parse(ReadFile(out / "0003.meta.json")).as_object();
  EXPECT_EQ(m.at("method").as_string(), "GET");
  EXPECT_EQ(m.at("path").as_string(), "/array/phc_cap/config.js");
  uint64_t bytes = 0;
  for (const auto& ent : fs::directory_iterator(out)) bytes += fs::file_size(ent.path());
  EXPECT_EQ(st.bytes, bytes);
}

TEST(CaptureRecorderTest, OutMustBeANewOrEmptyRealDirectory) {
  TempDir d;
  fs::create_directories(d.path() / "empty");
  fs::permissions(d.path() / "empty", fs::perms::all);
  EXPECT_TRUE(OpenOrDie({d.path() / "empty"}));
  EXPECT_EQ(ModeOf(d.path() / "empty"), 0700u);  // an adopted directory is made private
  fs::create_directories(d.path() / "full");
  std::ofstream(d.path() / "full" / "0000.body") << "old";
  std::ofstream(d.path() / "file") << "x";
  fs::create_directory_symlink(d.path() / "empty", d.path() / "link");
  struct Case {
    fs::path out;
    std::string says;
  } cases[] = {{d.path() / "full", "not empty"},
               {d.path() / "file", "not a directory"},
               {d.path() / "link", "symlink"},
               {"", "required"}};
  for (const Case& c : cases) {
    Result<std::unique_ptr<CaptureRecorder>> r = CaptureRecorder::Open({c.out});
    ASSERT_FALSE(r.ok()) << c.out;
    EXPECT_EQ(r.status().code(), Code::kInvalidInput);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
    if (!c.out.empty()) {
      EXPECT_EQ(r.status().message().find(c.out.string()), std::string::npos);  // no path
    }
  }
  EXPECT_EQ(ReadFile(d.path() / "full" / "0000.body"), "old");
}

// The request that would pass the byte budget is answered 503, not written, and the
// recorder stops: nothing later is written either, even a small request.
TEST(CaptureRecorderTest, StopsAtTheByteBudgetAndTheRequestCount) {
  TempDir d;
  HttpRequest small = Req("POST", "/e/", std::string(100, 'a'));
  uint64_t one = small.body.size() + CaptureMetaJson(small).size();
  auto rec = OpenOrDie({d.path() / "bytes", 2 * one + 50});
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->HandleRaw(small, Surface::kAll).status, 200u);
  HttpRequest big = Req("POST", "/s/", std::string(200, 'b'));
  HttpResponse r = rec->HandleRaw(big, Surface::kAll);
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("capture_full"), std::string::npos);
  EXPECT_EQ(rec->HandleRaw(small, Surface::kAll).status, 503u);
  CaptureStats st = rec->stats();
  EXPECT_EQ(st.state, CaptureState::kFull);
  EXPECT_EQ(st.written, 1u);
  EXPECT_EQ(st.refused, 2u);
  EXPECT_EQ(st.bytes, one);
  EXPECT_FALSE(fs::exists(d.path() / "bytes" / "0001.body"));

  auto counted = OpenOrDie({d.path() / "count", uint64_t{1} << 20, 2});
  ASSERT_TRUE(counted);
  for (int i = 0; i < 3; ++i) counted->HandleRaw(small, Surface::kAll);
  EXPECT_EQ(counted->stats().written, 2u);
  EXPECT_EQ(counted->stats().state, CaptureState::kFull);
  EXPECT_FALSE(fs::exists(d.path() / "count" / "0002.meta.json"));
}

// A full disk on the meta file: 503, the body written just before is removed (no pair is
// ever half there), the recorder fails closed, and its error names no path or value.
TEST(CaptureRecorderTest, AWriteFaultFailsClosedAndLeavesNoHalfPair) {
  for (FaultOp op : {FaultOp::kAppend, FaultOp::kSync, FaultOp::kRename}) {
    TempDir d;
    FaultEnv env;
    auto rec = OpenOrDie({d.path() / "cap"}, &env);
    ASSERT_TRUE(rec);
    const std::string canary = "canary-cap-7f3a@example.org";
    HttpRequest ok = Req("POST", "/e/?c=" + canary, canary, {{"Cookie", canary}});
    EXPECT_EQ(rec->HandleRaw(ok, Surface::kAll).status, 200u);
    env.Arm({op, FaultKind::kEnospc, "0001.meta.json"});
    HttpResponse r = rec->HandleRaw(ok, Surface::kAll);
    EXPECT_EQ(r.status, 503u) << FaultOpName(op);
    EXPECT_NE(r.body.find("capture_failed"), std::string::npos);
    EXPECT_GE(env.injected(), 1u);
    env.Clear();
    EXPECT_EQ(rec->HandleRaw(ok, Surface::kAll).status, 503u);  // stays stopped
    CaptureStats st = rec->stats();
    EXPECT_EQ(st.state, CaptureState::kFailed);
    EXPECT_EQ(st.written, 1u);
    EXPECT_FALSE(st.error.empty());
    EXPECT_EQ(st.error.find(canary), std::string::npos);
    EXPECT_EQ(st.error.find(d.path().string()), std::string::npos);
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(d.path() / "cap"))
      left.push_back(e.path().filename().string());
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"0000.body", "0000.meta.json"})) << FaultOpName(op);
  }
}

}  // namespace
}  // namespace scrubd::server
