// Issue 9 section 2 property: JavaScript reads 2, 2.0 and 2E0 alike, so a recording whose
// integers are all written as floats (in the body and inside every gzip cv field) must be
// stored exactly as the original is. Both go through App::Handle into their own data dir.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "dom/dom_masker.h"
#include "ingest/decode.h"
#include "ingest/gzip.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd::server {
namespace {
namespace json = boost::json;
using scrubd::testing::FixtureDir;
using scrubd::testing::ReadFile;
using scrubd::testing::TempDir;

// Re-serialises JSON with every integer written as a float ("N.0" and "NE0" alternately),
// recursing into latin-1 gzip cv fields, which it re-encodes.
class Floatifier {
 public:
  std::string Text(const json::value& v) {
    std::string out;
    Write(v, out);
    return out;
  }
  int ints() const { return ints_; }
  int fields() const { return fields_; }

 private:
  static bool IsGzipField(std::string_view s) { return s.starts_with("\x1f\xc2\x8b"); }

  std::string Field(std::string_view latin) {
    Result<std::string> bytes = ingest::Latin1ToBytes(latin);
    EXPECT_TRUE(bytes.ok());
    Result<std::string> raw = ingest::Gunzip(*bytes, {});
    EXPECT_TRUE(raw.ok());
    Result<std::string> gz = ingest::Gzip(Text(json::parse(*raw)));
    EXPECT_TRUE(gz.ok());
    ++fields_;
    return ingest::BytesToLatin1(*gz);
  }

  void Write(const json::value& v, std::string& out) {
    switch (v.kind()) {
      case json::kind::int64:
        out += std::to_string(v.get_int64());
        out += (ints_++ % 2) ? "E0" : ".0";
        break;
      case json::kind::string:
        if (IsGzipField(v.get_string())) {
          out += json::serialize(json::value(Field(v.get_string())));
        } else {
          out += json::serialize(v);
        }
        break;
      case json::kind::array: {
        out += '[';
        bool first = true;
        for (const json::value& e : v.get_array()) {
          if (!first) out += ',';
          first = false;
          Write(e, out);
        }
        out += ']';
        break;
      }
      case json::kind::object: {
        out += '{';
        bool first = true;
        for (const auto& kv : v.get_object()) {
          if (!first) out += ',';
          first = false;
          out += json::serialize(json::value(kv.key()));
          out += ':';
          Write(kv.value(), out);
        }
        out += '}';
        break;
      }
      default: out += json::serialize(v);
    }
  }

  int ints_ = 0;
  int fields_ = 0;
};

struct Request {
  std::string path;
  std::string body;
};

// Every /e/ and /s/ request of both fixture sets, in capture order.
std::vector<Request> FixtureRequests() {
  std::vector<Request> out;
  for (const char* set : {"posthog-js-1.449.2", "posthog-js-1.449.2-crm"}) {
    std::vector<std::filesystem::path> metas;
    for (const auto& e : std::filesystem::directory_iterator(FixtureDir(set)))
      if (e.path().string().ends_with(".meta.json")) metas.push_back(e.path());
    std::sort(metas.begin(), metas.end());
    for (const auto& m : metas) {
      std::string path(json::parse(ReadFile(m)).at("path").as_string());
      ingest::Endpoint ep = ingest::ClassifyPath(path.substr(0, path.find('?')));
      if (ep != ingest::Endpoint::kRecording && ep != ingest::Endpoint::kEvents) continue;
      std::string body_file = m.string();
      body_file.replace(body_file.size() - std::string(".meta.json").size(), std::string::npos,
                        ".body");
      out.push_back({path, ReadFile(body_file)});
    }
  }
  return out;
}

// What one data dir holds: every session's export and index row, every events row (minus
// server clock columns).
std::vector<std::string> StoredOutput(const std::filesystem::path& dir, sink::LocalStore& store) {
  std::vector<std::string> out;
  Result<std::vector<sink::SessionInfo>> sessions = store.ListSessions(1000);
  EXPECT_TRUE(sessions.ok());
  for (const sink::SessionInfo& s : *sessions) {
    out.push_back(s.token + " " + s.session_id + " " + s.distinct_id + " " + s.first_url + " " +
                  std::to_string(s.first_ts) + " " + std::to_string(s.last_ts) + " " +
                  std::to_string(s.bytes) + " " + std::to_string(s.events));
    Result<std::string> exported = store.ExportSession(s.session_id, s.token);
    EXPECT_TRUE(exported.ok());
    out.push_back(exported.ok() ? *exported : "");
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(
      sqlite3_open_v2((dir / "store" / "index.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
      SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT token,session_id,distinct_id,uuid,event,timestamp,body "
                               "FROM events ORDER BY id",
                               -1, &q, nullptr),
            SQLITE_OK);
  while (sqlite3_step(q) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < 7; ++i) {
      const unsigned char* t = sqlite3_column_text(q, i);
      row += t ? reinterpret_cast<const char*>(t) : "";
      row += '\t';
    }
    out.push_back(row);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

std::vector<std::string> Replay(const std::vector<Request>& requests) {
  TempDir dir;
  auto set = policies::LoadPolicySet({}, {"0123456789abcdef0123456789abcdef"});
  EXPECT_TRUE(set.ok());
  auto store = sink::LocalStore::Open(dir.path());
  EXPECT_TRUE(store.ok());
  dom::StateStore::Options so;
  so.dir = dir.path() / "state";
  auto state = dom::StateStore::Open(so);
  EXPECT_TRUE(state.ok());
  AppConfig cfg;
  cfg.pseudonym_key = "pseudonym-key-for-tests";
  App app(cfg, *set, store->get(), state->get(), nullptr);
  for (const Request& r : requests) {
    HttpRequest req;
    req.method = "POST";
    req.target = r.path;
    req.body = r.body;
    req.headers["content-type"] = "text/plain";
    HttpResponse resp = app.Handle(req);
    EXPECT_EQ(resp.status, 200u) << r.path << " " << resp.body;
  }
  return StoredOutput(dir.path(), **store);
}

TEST(FloatFixtureTest, IntegersWrittenAsFloatsAreStoredAsTheOriginals) {
  std::vector<Request> originals = FixtureRequests();
  ASSERT_GE(originals.size(), 10u);
  Floatifier floats;
  std::vector<Request> rewritten;
  for (const Request& r : originals) {
    Result<std::string> text = ingest::Gunzip(r.body, {});
    ASSERT_TRUE(text.ok()) << r.path;  // every fixture body is gzip
    Result<std::string> gz = ingest::Gzip(floats.Text(json::parse(*text)));
    ASSERT_TRUE(gz.ok());
    rewritten.push_back({r.path, *gz});
  }
  EXPECT_GT(floats.ints(), 10000);  // the rewrite touched the trees, not just the envelope
  EXPECT_GT(floats.fields(), 10);   // and the nested cv fields
  std::vector<std::string> want = Replay(originals);
  std::vector<std::string> got = Replay(rewritten);
  ASSERT_GT(want.size(), 5u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(got[i], want[i]) << "stored output " << i << " differs";
}

}  // namespace
}  // namespace scrubd::server
