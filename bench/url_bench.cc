// url_bench: the masking.urls pass (scrub/urls.h, strict.yaml's rules: allowlist, id segments,
// fragments) over the CRM recording and events, against copy + serialize alone on the same
// decoded events in the same run.
//   url_bench [--seconds N]
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "scrub/urls.h"
#include "scrubd/policies/policy.h"
#include "support/fixtures.h"

namespace {
using Clock = std::chrono::steady_clock;
namespace json = boost::json;
using namespace scrubd;  // NOLINT: benchmark main
}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
  std::vector<json::value> events;
  size_t bytes = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::FixtureDir("posthog-js-1.449.2-crm"))) {
    if (e.path().extension() != ".body") continue;
    std::string body = testing::ReadFile(e.path());
    for (auto ep : {ingest::Endpoint::kRecording, ingest::Endpoint::kEvents}) {
      auto b = ingest::DecodeBatch(ep, {body, "text/plain", ""}, {});
      if (!b.ok()) continue;
      for (auto& ev : b->events) {
        bytes += json::serialize(ev.json).size();
        events.emplace_back(std::move(ev.json));
      }
      break;
    }
  }
  auto set = policies::LoadPolicySet({std::string(SCRUBD_POLICIES_DIR) + "/strict.yaml"},
                                     {"bench-key-0123456789"});
  if (!set.ok()) return 1;
  const policies::UrlPolicy& urls = (*set)->policies().front()->masking.urls;
  uint64_t rewrites = 0;
  auto run = [&](bool rewrite) {
    int passes = 0;
    size_t out = 0;
    auto start = Clock::now();
    double elapsed = 0;
    do {
      for (const json::value& ev : events) {
        json::value copy = ev;
        if (rewrite) {
          rules::RedactionCounts counts;
          scrub::RewriteUrls(copy, "", urls, &counts);
          rewrites += counts.Total();
        }
        out += json::serialize(copy).size();
      }
      ++passes;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds);
    if (out == 0) std::printf("nothing serialized?\n");
    return std::make_pair(bytes * static_cast<double>(passes) / elapsed / 1e6, passes);
  };
  auto [base, base_passes] = run(false);
  auto [with, with_passes] = run(true);
  std::printf("corpus: CRM fixtures, %zu events, %.2f MB JSON per pass\n", events.size(),
              bytes / 1e6);
  std::printf("copy + serialize (baseline)        %7.1f MB/s  (%d passes)\n", base, base_passes);
  std::printf("copy + masking.urls + serialize    %7.1f MB/s  (%d passes, %llu rewrites)\n", with,
              with_passes,
              static_cast<unsigned long long>(rewrites / (with_passes ? with_passes : 1)));
  std::printf("ratio with / baseline              %7.2f\n", with / base);
  return 0;
}
