// identity_bench: the identity pass (identifier pseudonyms, person properties, $ip) on the
// posthog-js /e/ fixture events plus an $identify with $set, against the detector string pass
// alone on the same events in the same run. The two alternate in short rounds and the best
// round of each counts (the machine is shared). Prints events/s for both and their ratio.
//   identity_bench [--seconds N]
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ingest/decode.h"
#include "scrub/identity.h"
#include "scrub/scrub.h"
#include "support/fixtures.h"

namespace {
using Clock = std::chrono::steady_clock;
namespace json = boost::json;
using namespace scrubd;  // NOLINT: benchmark main

constexpr char kIdentify[] = R"({"api_key":"phc_testkey123","batch":[{"event":"$identify",
  "uuid":"01a20355-1c58-723a-837c-2bcc756c7601",
  "$set":{"email":"jane.doe@example.com","name":"Jane Doe","plan":"pro","$browser":"Chrome"},
  "$set_once":{"$initial_referrer":"$direct","signup_source":"ads"},
  "properties":{"distinct_id":"jane.doe@example.com","$anon_distinct_id":"01a20355-1c26-7bcc",
    "$device_id":"01a20355-1c26-7bcc","$session_id":"01a20355-1c58-723a-837c-2bcc756c76c4",
    "$ip":"203.0.113.77","token":"phc_testkey123","$current_url":"http://127.0.0.1:18931/"}}]})";

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  for (int i = 1; i + 1 < argc; ++i)
    if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
  std::vector<ingest::Event> events;
  std::vector<std::string> bodies;
  for (const char* f : {"0000.body", "0009.body", "0010.body", "0011.body"})
    bodies.push_back(testing::Fixture(f));
  bodies.push_back(kIdentify);
  for (const std::string& body : bodies) {
    auto b = ingest::DecodeBatch(ingest::Endpoint::kEvents, {body, "text/plain", ""}, {});
    if (!b.ok()) return std::printf("decode failed: %s\n", b.status().ToString().c_str()), 1;
    for (auto& ev : b->events) events.push_back(std::move(ev));
  }
  auto set = policies::LoadPolicySet({}, {"bench-key-0123456789", "bench-identity-key-0123"});
  const policies::Policy* policy = (*set)->ForToken("phc_testkey123");
  auto run = [&](bool identity, bool strings = true) {
    uint64_t n = 0, redactions = 0;
    auto start = Clock::now();
    double elapsed = 0;
    do {
      for (int rep = 0; rep < 100; ++rep) {
        for (const ingest::Event& src : events) {
          ingest::Event ev = src;
          rules::RedactionCounts counts;
          if (identity) scrub::ApplyIdentity(ev, *policy, &counts);
          json::value v(std::move(ev.json));
          if (strings) (void)scrub::ScrubStrings(v, "", *policy->scanner, &counts);  // no deadline
          redactions += counts.Total();
          ++n;
        }
      }
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds);
    if (redactions == 0 && (identity || strings)) std::printf("nothing redacted?\n");
    return static_cast<double>(n) / elapsed;
  };
  const double total = seconds;
  seconds = total / 20;
  double base = 0, full = 0, copy = 0, alone = 0;
  for (int round = 0; round < 10; ++round) {
    base = std::max(base, run(false));
    full = std::max(full, run(true));
    copy = std::max(copy, run(false, false));
    alone = std::max(alone, run(true, false));
  }
  std::printf("corpus: %zu posthog events (4 fixture /e/ bodies + one $identify with $set)\n",
              events.size());
  std::printf("copy + detector string pass (baseline)   %10.0f events/s\n", base);
  std::printf("copy + identity pass + string pass       %10.0f events/s\n", full);
  std::printf("ratio with identity / baseline           %10.2f\n", full / base);
  std::printf("identity pass alone                      %10.2f us/event (copy: %.2f us)\n",
              1e6 / alone - 1e6 / copy, 1e6 / copy);
  return 0;
}
