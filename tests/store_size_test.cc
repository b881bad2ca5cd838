// The storage target of issue 11 section 4: the CRM fixture set, replayed as 40 visitors under
// fresh session ids through the whole ingest flow (App::Handle: decode, admit, DOM masking,
// detectors, LocalStore), takes no more disk than it took on the wire. The whole store
// directory counts (chunk files, directories, index.sqlite after close), as `du` counts it.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdio>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/local_store.h"
#include "support/crm_replay.h"

namespace scrubd {
namespace {
namespace json = boost::json;

TEST(StoreSizeTest, FortyCrmSessionsTakeNoMoreDiskThanTheWire) {
  spdlog::set_level(spdlog::level::warn);
  testing::TempDir dir;
  testing::CrmReplay replay = testing::CrmSessions(40);
  {
    auto set = policies::LoadPolicySet({}, {"store-size-key-0123456789abcdef"});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    auto store = sink::LocalStore::Open(dir.path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    dom::StateStore::Options so;
    so.dir = dir.path() / "state";
    auto state = dom::StateStore::Open(so);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    server::AppConfig cfg;
    cfg.pseudonym_key = "store-size-pseudonym-key";
    cfg.request_deadline = std::chrono::nanoseconds(0);  // sanitizer builds are slow
    server::App app(cfg, *set, store->get(), state->get(), nullptr);
    for (const auto& visitor : replay.sessions) {
      for (const auto& r : visitor) {
        server::HttpRequest req;
        req.method = r.method;
        req.target = r.path;
        req.body = r.body;
        req.headers["content-type"] = r.content_type;
        server::HttpResponse res = app.Handle(req);
        ASSERT_EQ(res.status, 200u) << res.body;
      }
    }
    auto list = (*store)->ListSessions(100);
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->size(), 40u);
    // Every session exports as plain rrweb JSON with its FullSnapshot.
    auto one = (*store)->ExportSession(testing::CrmSessionId(7), "");
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    json::array events = json::parse(*one).as_array();
    EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                            [](const json::value& e) { return e.at("type").as_int64() == 2; }));
  }  // the store is closed: SQLite checkpoints the WAL into index.sqlite and removes it
  testing::DiskUsage du = testing::DiskUsageOf(dir.path() / "store");
  const uint64_t wire = std::min(replay.wire_bytes, replay.fixture_bytes);
  std::printf(
      "40 CRM sessions: wire %llu bytes (captured %llu); store %llu bytes apparent "
      "(%.3fx), %llu bytes allocated (%.3fx); %llu files, %llu dirs\n",
      static_cast<unsigned long long>(replay.wire_bytes),
      static_cast<unsigned long long>(replay.fixture_bytes),
      static_cast<unsigned long long>(du.apparent), static_cast<double>(du.apparent) / wire,
      static_cast<unsigned long long>(du.allocated), static_cast<double>(du.allocated) / wire,
      static_cast<unsigned long long>(du.files), static_cast<unsigned long long>(du.dirs));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "store" / "index.sqlite-wal"));
  EXPECT_LE(du.allocated, wire);
  EXPECT_LE(du.apparent, wire);
}

}  // namespace
}  // namespace scrubd
