// dom_bench: the DOM pass (MaskEvent over every rrweb event) on the CRM recording, as a ratio
// to JSON parse + serialize alone on the same input, and the memory of the per-window node
// state (bytes per tracked node; 10k sessions x 3k nodes). Single-threaded.
//   dom_bench [--iterations N] [--sessions N] [--nodes N]
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "dom/dom_masker.h"
#include "dom/testing/fixture_codec.h"

namespace json = boost::json;
using scrubd::dom::MaskEvent;
using scrubd::dom::WindowState;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, rss = 0;
  in >> pages >> rss;
  return rss * 4096;
}

json::value Parse(const std::string& s) {
  json::parse_options o;
  o.max_depth = 4096;
  return json::parse(s, {}, o);
}

// A FullSnapshot with `nodes` nodes: rows of <div class=row><span>text</span> <input></div>.
std::string SyntheticSnapshot(int nodes) {
  std::string kids;
  int id = 4;
  int row = 0;
  while (id + 5 <= nodes) {
    if (!kids.empty()) kids += ",";
    const char* cls = row % 10 == 0 ? "row ph-mask" : "row";
    kids += "{\"type\":2,\"tagName\":\"div\",\"id\":" + std::to_string(id) +
            ",\"attributes\":{\"class\":\"" + cls + "\"},\"childNodes\":[" +
            "{\"type\":2,\"tagName\":\"span\",\"id\":" + std::to_string(id + 1) +
            ",\"attributes\":{},\"childNodes\":[{\"type\":3,\"id\":" + std::to_string(id + 2) +
            ",\"textContent\":\"Customer " + std::to_string(row) + "\"}]}," +
            "{\"type\":3,\"id\":" + std::to_string(id + 3) + ",\"textContent\":\" \"}," +
            "{\"type\":2,\"tagName\":\"input\",\"id\":" + std::to_string(id + 4) +
            ",\"attributes\":{\"type\":\"text\",\"value\":\"v\"},\"childNodes\":[]}]}";
    id += 5;
    ++row;
  }
  return "{\"type\":2,\"timestamp\":1,\"data\":{\"node\":{\"type\":0,\"id\":1,\"childNodes\":["
         "{\"type\":2,\"tagName\":\"html\",\"id\":2,\"attributes\":{},\"childNodes\":["
         "{\"type\":2,\"tagName\":\"body\",\"id\":3,\"attributes\":{},\"childNodes\":[" +
         kids + "]}]}]},\"initialOffset\":{\"left\":0,\"top\":0}}}";
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20, sessions = 10000, nodes = 3000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations")) iterations = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--sessions")) sessions = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--nodes")) nodes = std::atoi(argv[i + 1]);
  }
  const std::string dir = std::string(SCRUBD_SHARED_DIR) + "/fixtures/posthog-js-1.449.2-crm/";
  // The corpus: each /s/ request's rrweb events, cv-decoded, as one JSON array per batch
  // (what the DOM pass sees after ingest).
  std::vector<std::string> batches;
  size_t total_bytes = 0;
  for (const char* b : {"0005", "0006", "0007", "0008", "0009", "0010", "0011"}) {
    auto events = scrubd::dom::testing::LoadSnapshotEvents(dir + b + ".body");
    if (!events.ok()) {
      std::fprintf(stderr, "fixture %s: %s\n", b, events.status().ToString().c_str());
      return 1;
    }
    json::array arr;
    for (auto& e : events.value()) arr.push_back(std::move(e));
    batches.push_back(json::serialize(arr));
    total_bytes += batches.back().size();
  }
  scrubd::policies::MaskingPolicy policy = scrubd::policies::MaskingPolicy::Defaults();

  // Baseline: parse + serialize.
  size_t sink = 0;
  double t0 = Now();
  for (int it = 0; it < iterations; ++it)
    for (const auto& b : batches) sink += json::serialize(Parse(b)).size();
  double base = Now() - t0;

  // Parse + DOM pass + serialize, a fresh window per replay of the recording.
  scrubd::rules::RedactionCounts counts;
  size_t tracked = 0, state_bytes = 0;
  t0 = Now();
  for (int it = 0; it < iterations; ++it) {
    WindowState state;
    for (const auto& b : batches) {
      json::value v = Parse(b);
      for (auto& e : v.as_array()) MaskEvent(e.as_object(), policy, state, &counts);
      sink += json::serialize(v).size();
    }
    tracked = state.size();
    state_bytes = state.MemoryBytes();
  }
  double dom = Now() - t0;

  // DOM pass alone (already-parsed input), to separate its own cost.
  std::vector<json::value> parsed;
  for (const auto& b : batches) parsed.push_back(Parse(b));
  double pass_only = 0;
  for (int it = 0; it < iterations; ++it) {
    std::vector<json::value> copy = parsed;
    WindowState state;
    double s = Now();
    for (auto& v : copy)
      for (auto& e : v.as_array()) MaskEvent(e.as_object(), policy, state, nullptr);
    pass_only += Now() - s;
  }

  double mb = double(total_bytes) * iterations / 1e6;
  std::printf("corpus: CRM recording, %zu batches, %.2f MB decoded JSON, %d iterations\n",
              batches.size(), total_bytes / 1e6, iterations);
  std::printf("parse+serialize            %8.1f MB/s\n", mb / base);
  std::printf("parse+DOM pass+serialize   %8.1f MB/s\n", mb / dom);
  std::printf("DOM pass alone             %8.1f MB/s\n", mb / pass_only);
  std::printf("ratio (with DOM / without) %8.2f  (throughput; 1.00 = free)\n", base / dom);
  std::printf("CRM window state: %zu nodes, %zu bytes, %.2f bytes/node\n", tracked, state_bytes,
              double(state_bytes) / std::max<size_t>(tracked, 1));

  // Memory at scale: `sessions` windows of `nodes` nodes each, all live.
  json::value snap = Parse(SyntheticSnapshot(nodes));
  size_t rss0 = RssBytes();
  std::vector<WindowState> states(sessions);
  size_t total_nodes = 0, total_state = 0;
  t0 = Now();
  for (int s = 0; s < sessions; ++s) {
    json::value ev = snap;
    MaskEvent(ev.as_object(), policy, states[s], nullptr);
    total_nodes += states[s].size();
    total_state += states[s].MemoryBytes();
  }
  double fill = Now() - t0;
  size_t rss1 = RssBytes();
  std::printf(
      "%d sessions x %zu nodes: %.1f MiB accounted (%.2f bytes/node), RSS +%.1f MiB "
      "(%.2f bytes/node incl. allocator), %.1f s to build\n",
      sessions, total_nodes / std::max(sessions, 1), total_state / 1048576.0,
      double(total_state) / total_nodes, (rss1 - rss0) / 1048576.0,
      double(rss1 - rss0) / total_nodes, fill);
  std::printf("counts: mask_text=%llu input=%llu block=%llu unknown_id=%llu (sink %zu)\n",
              (unsigned long long)counts.by_rule["dom.mask_text"],
              (unsigned long long)counts.by_rule["dom.input"],
              (unsigned long long)counts.by_rule["dom.block"],
              (unsigned long long)counts.by_rule["dom.unknown_id"], sink % 10);
  return 0;
}
