// JSON library choice (docs/json.md): Boost.JSON parse and serialize throughput on the
// decoded CRM recording, beside nlohmann/json on the same bytes in the same run.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "support/fixtures.h"

#if __has_include(<nlohmann/json.hpp>)
#include <nlohmann/json.hpp>
#define HAVE_NLOHMANN 1
#endif

namespace {
using Clock = std::chrono::steady_clock;

template <typename F>
double MBps(const std::vector<std::string>& docs, size_t bytes, F&& f, double seconds = 1.5) {
  size_t done = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    for (const auto& d : docs) f(d);
    done += bytes;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(done) / elapsed / 1e6;
}
}  // namespace

int main() {
  namespace fs = std::filesystem;
  using scrubd::ingest::Batch;
  std::vector<std::string> docs;
  size_t bytes = 0;
  for (const auto& e :
       fs::directory_iterator(scrubd::testing::FixtureDir("posthog-js-1.449.2-crm"))) {
    if (e.path().extension() != ".body") continue;
    std::string body = scrubd::testing::ReadFile(e.path());
    scrubd::ingest::RequestView v{body, "text/plain", ""};
    auto b = scrubd::ingest::DecodeBatch(scrubd::ingest::Endpoint::kRecording, v, {});
    if (!b.ok()) continue;  // the /e/ request
    boost::json::array arr;
    for (auto& ev : b->events) arr.emplace_back(std::move(ev.json));
    docs.push_back(boost::json::serialize(arr));  // nested cv fields already expanded
    bytes += docs.back().size();
  }
  std::printf("corpus: %zu decoded /s/ bodies, %.2f MB\n", docs.size(), bytes / 1e6);
  size_t sink = 0;  // printed at the end so the work cannot be optimised away
  double bj_parse = MBps(docs, bytes, [&](const std::string& d) {
    boost::json::monotonic_resource mr;
    sink += boost::json::parse(d, &mr).is_array();
  });
  std::vector<boost::json::value> parsed;
  for (const auto& d : docs) parsed.push_back(boost::json::parse(d));
  double bj_ser = MBps(docs, bytes, [&](const std::string& d) {
    static size_t i = 0;
    sink += boost::json::serialize(parsed[i++ % parsed.size()]).size();
  });
  std::printf("boost.json  parse %8.1f MB/s   serialize %8.1f MB/s\n", bj_parse, bj_ser);
#ifdef HAVE_NLOHMANN
  double nl_parse =
      MBps(docs, bytes, [&](const std::string& d) { sink += nlohmann::json::parse(d).is_array(); });
  std::vector<nlohmann::json> nparsed;
  for (const auto& d : docs) nparsed.push_back(nlohmann::json::parse(d));
  double nl_ser = MBps(docs, bytes, [&](const std::string&) {
    static size_t i = 0;
    sink += nparsed[i++ % nparsed.size()].dump().size();
  });
  std::printf("nlohmann    parse %8.1f MB/s   serialize %8.1f MB/s\n", nl_parse, nl_ser);
  std::printf("ratio boost.json / nlohmann: parse %.1fx, serialize %.1fx\n", bj_parse / nl_parse,
              bj_ser / nl_ser);
#else
  std::printf("nlohmann/json not installed (apt-get install nlohmann-json3-dev) - no ratio\n");
#endif
  std::printf("(checksum %zu)\n", sink);
  return 0;
}
