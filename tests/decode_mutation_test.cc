// Mutation smoke test: thousands of deterministic corruptions of the real posthog-js bodies
// (bit flips, truncations, splices, nested-field damage) go through the decoder and the whole
// App flow. Every one must end in a Status or an HTTP answer, never a crash or a hang, and a
// 200 must never store a planted value. Runs under ctest; tests/fuzz/ has the libFuzzer twin.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

#include "dom/dom_masker.h"
#include "ingest/decode.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/fixtures.h"

namespace scrubd {
namespace {
using testing::Fixture;
using testing::TempDir;

std::string Mutate(const std::string& in, std::mt19937& rng) {
  std::string s = in;
  std::uniform_int_distribution<int> kind(0, 5);
  auto pos = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n ? n - 1 : 0)(rng); };
  switch (kind(rng)) {
    case 0:  // bit flips
      for (int i = 0; i < 4 && !s.empty(); ++i)
        s[pos(s.size())] ^= static_cast<char>(1 << (rng() % 8));
      break;
    case 1:  // truncate
      s.resize(pos(s.size()));
      break;
    case 2:  // splice a chunk of the body into itself
      if (s.size() > 8) {
        size_t a = pos(s.size()), b = pos(s.size());
        s.insert(b, s.substr(a, std::min<size_t>(64, s.size() - a)));
      }
      break;
    case 3:  // byte runs
      if (!s.empty())
        s.replace(pos(s.size()), 1, std::string(1 + rng() % 300, static_cast<char>(rng())));
      break;
    case 4: {  // damage the decoded JSON, then re-gzip so the damage reaches the parser
      auto raw = ingest::Gunzip(s, {});
      if (!raw.ok() || raw->empty()) break;
      std::string j = *raw;
      for (int i = 0; i < 3; ++i) j[pos(j.size())] = "{}[]\",:\\0a\x80\xff"[rng() % 13];
      s = *ingest::Gzip(j, 1);
      break;
    }
    default: {  // damage inside a nested cv field (latin-1 gzip) of the snapshot
      auto raw = ingest::Gunzip(s, {});
      if (!raw.ok()) break;
      std::string j = *raw;
      size_t at = j.find("\\u001f\\b");
      if (at == std::string::npos) break;
      size_t p = at + 20 + pos(200);
      if (p < j.size() && j[p] != '"' && j[p] != '\\') j[p] = static_cast<char>('A' + rng() % 26);
      s = *ingest::Gzip(j, 1);
      break;
    }
  }
  return s;
}

TEST(DecodeMutationTest, MutatedRealBodiesNeverCrashTheDecoder) {
  std::mt19937 rng(20261122);
  const std::string bodies[] = {Fixture("0008.body"), Fixture("0000.body"), Fixture("0011.body")};
  int ok = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = Mutate(bodies[i % 3], rng);
    ingest::RequestView v{body, "text/plain", ""};
    auto b = ingest::DecodeBatch(
        i % 3 == 0 ? ingest::Endpoint::kRecording : ingest::Endpoint::kEvents, v, {});
    (b.ok() ? ok : rejected)++;
    if (!b.ok()) {
      Code c = b.status().code();
      EXPECT_TRUE(c == Code::kInvalidInput || c == Code::kTooLarge) << b.status().ToString();
    }
  }
  EXPECT_GT(rejected, 5000);  // most corruptions are caught
  EXPECT_GT(ok, 50);          // and some survive to exercise the later stages
  std::printf("decoded %d, rejected %d\n", ok, rejected);
}

TEST(DecodeMutationTest, MutatedSnapshotsThroughTheAppNeverLeakOrCrash) {
  TempDir dir;
  auto set = policies::LoadPolicySet({}, {"k123456789abcdef"});
  ASSERT_TRUE(set.ok());
  auto store = sink::LocalStore::Open(dir.path());
  ASSERT_TRUE(store.ok());
  dom::StateStore::Options so;
  so.dir = dir.path() / "state";
  auto state = dom::StateStore::Open(so);
  ASSERT_TRUE(state.ok());
  server::AppConfig cfg;
  cfg.pseudonym_key = "k";
  server::App app(cfg, *set, store->get(), state->get(), nullptr);
  std::mt19937 rng(7);
  const std::string snap = Fixture("0008.body");
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    server::HttpRequest r;
    r.method = "POST";
    r.target = "/s/";
    r.body = Mutate(snap, rng);
    r.headers["content-type"] = "text/plain";
    server::HttpResponse resp = app.Handle(r);
    EXPECT_TRUE(resp.status == 200 || (resp.status >= 400 && resp.status < 500)) << resp.status;
    accepted += resp.status == 200;
  }
  EXPECT_GT(accepted, 0);
  std::printf("mutated snapshots accepted: %d of 2000\n", accepted);
  EXPECT_FALSE(testing::AnyFileContains(dir.path(), "jane.doe@example.com"));
  EXPECT_FALSE(testing::AnyFileContains(dir.path(), "078-05-1120"));
}

}  // namespace
}  // namespace scrubd
