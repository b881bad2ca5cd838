// pipeline_bench: the whole data plane on the CRM recording (decode with nested cv fields ->
// admit -> DOM masking -> PII detectors -> serialize), against decode + serialize alone on the
// same requests in the same run. Fresh session ids per iteration so DOM state starts cold,
// as it does for a new visitor (eight visitors are prepared and cycled). Disk writes are left out
// (they are fsync-bound, not CPU).
//   pipeline_bench [--seconds N]
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "admit/admit.h"
#include "dom/dom_masker.h"
#include "ingest/decode.h"
#include "scrub/scrub.h"
#include "support/fixtures.h"

namespace {
using Clock = std::chrono::steady_clock;
namespace json = boost::json;
using namespace scrubd;  // NOLINT: benchmark main

struct Request {
  std::string body;
  ingest::Endpoint endpoint;
};

// Rewrites the session id so every iteration is a new visitor (cold DOM state).
std::string WithSession(const std::string& gz_body, int n) {
  auto raw = ingest::Gunzip(gz_body, {});
  std::string text = *raw;
  const std::string sid = "01a20358-f9cc-7a29-a3a5-4d18fc877bd9";
  std::string fresh = sid.substr(0, sid.size() - 6) + std::to_string(100000 + n);
  for (size_t p = text.find(sid); p != std::string::npos; p = text.find(sid, p + 1))
    text.replace(p, sid.size(), fresh);
  return *ingest::Gzip(text, 1);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
  std::vector<Request> reqs;
  size_t decoded_bytes = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::FixtureDir("posthog-js-1.449.2-crm"))) {
    if (e.path().extension() != ".body") continue;
    std::string meta =
        testing::ReadFile(e.path().string().substr(0, e.path().string().size() - 5) + ".meta.json");
    bool rec = meta.find("\"/s/\"") != std::string::npos;
    reqs.push_back({testing::ReadFile(e.path()),
                    rec ? ingest::Endpoint::kRecording : ingest::Endpoint::kEvents});
    auto b = ingest::DecodeBatch(reqs.back().endpoint, {reqs.back().body, "text/plain", ""}, {});
    for (auto& ev : b->events) decoded_bytes += json::serialize(ev.json).size();
  }
  std::sort(reqs.begin(), reqs.end(),
            [](auto& a, auto& b) { return a.body.size() > b.body.size(); });
  auto set = policies::LoadPolicySet({}, {"bench-key-0123456789"});
  const policies::Policy* policy = (*set)->ForToken("phc_any");
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "scrubd-pipeline-bench";
  std::filesystem::remove_all(dir);
  dom::StateStore::Options so;
  so.dir = dir;
  auto state = dom::StateStore::Open(so);
  scrub::Scrubber scrubber(state->get());

  // Eight visitors' worth of requests, prepared outside the timed loop.
  std::vector<std::vector<Request>> sessions;
  for (int n = 0; n < 8; ++n) {
    sessions.emplace_back();
    for (const auto& r : reqs) sessions.back().push_back({WithSession(r.body, n), r.endpoint});
  }
  auto run = [&](bool full) {
    size_t bytes = 0, out = 0;
    int iter = 0;
    auto start = Clock::now();
    double elapsed = 0;
    do {
      for (const auto& r : sessions[iter % sessions.size()]) {
        auto b = ingest::DecodeBatch(r.endpoint, {r.body, "text/plain", ""}, {});
        for (auto& ev : b->events) {
          if (full) {
            if (admit::Admit(ev, policy) != admit::Verdict::kAdmit) continue;
            scrub::Report rep;
            if (!scrubber.ScrubEvent(ev, *policy, &rep)) continue;
          }
          out += json::serialize(ev.json).size();
        }
      }
      bytes += decoded_bytes;
      ++iter;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds);
    if (out == 0) std::printf("nothing serialized?\n");
    return std::make_pair(static_cast<double>(bytes) / elapsed / 1e6, iter);
  };
  auto [base, base_iter] = run(false);
  auto [full, full_iter] = run(true);
  std::printf("corpus: CRM recording, %zu requests, %.2f MB decoded JSON per pass\n", reqs.size(),
              decoded_bytes / 1e6);
  std::printf("decode + serialize (baseline)      %7.1f MB/s  (%d passes)\n", base, base_iter);
  std::printf("decode + admit + DOM + detectors   %7.1f MB/s  (%d passes)\n", full, full_iter);
  std::printf("ratio full / baseline              %7.2f\n", full / base);
  std::filesystem::remove_all(dir);
  return 0;
}
