// dom_toggle_bench: the cost of `class` toggles on one element after a FullSnapshot, on a
// 1,000-node page (the baseline) and on a 100,000-node page, in the same run. Re-evaluation
// must cost the toggled subtree, not the window: the ratio (large / small) should stay <= 2.
// Each toggle is one rrweb Mutation event flipping `ph-mask` on a row. Thread CPU time,
// best of --rounds.
//   dom_toggle_bench [--toggles N] [--small N] [--large N] [--rounds N]
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "dom/dom_masker.h"

namespace json = boost::json;
using scrubd::dom::MaskEvent;
using scrubd::dom::WindowState;

namespace {

double CpuNow() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// html > body > rows of <div class=row><span>"Customer n"</span>" "<input></div>: 5 ids a row.
std::string Snapshot(int nodes) {
  std::string kids;
  for (int id = 4, row = 0; id + 5 <= nodes; id += 5, ++row) {
    if (!kids.empty()) kids += ",";
    std::string i = std::to_string(id);
    kids += "{\"type\":2,\"tagName\":\"div\",\"id\":" + i +
            ",\"attributes\":{\"class\":\"row\"},\"childNodes\":[{\"type\":2,\"tagName\":"
            "\"span\",\"id\":" +
            std::to_string(id + 1) +
            ",\"attributes\":{},\"childNodes\":[{\"type\":3,\"id\":" + std::to_string(id + 2) +
            ",\"textContent\":\"Customer " + std::to_string(row) +
            "\"}]},{\"type\":3,\"id\":" + std::to_string(id + 3) +
            ",\"textContent\":\" \"},{\"type\":2,\"tagName\":\"input\","
            "\"id\":" +
            std::to_string(id + 4) +
            ",\"attributes\":{\"type\":\"text\",\"value\":\"v\"},\"childNodes\":[]}]}";
  }
  return "{\"type\":2,\"timestamp\":1,\"data\":{\"node\":{\"type\":0,\"id\":1,\"childNodes\":["
         "{\"type\":2,\"tagName\":\"html\",\"id\":2,\"attributes\":{},\"childNodes\":["
         "{\"type\":2,\"tagName\":\"body\",\"id\":3,\"attributes\":{},\"childNodes\":[" +
         kids + "]}]}]},\"initialOffset\":{\"left\":0,\"top\":0}}}";
}

std::vector<json::object> Toggles(int count, int element) {
  std::vector<json::object> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    json::object attrs{{"class", i % 2 ? "row" : "row ph-mask"}};
    json::object change{{"id", element}, {"attributes", std::move(attrs)}};
    json::object data{{"source", 0},
                      {"texts", json::array()},
                      {"attributes", json::array{change}},
                      {"removes", json::array()},
                      {"adds", json::array()}};
    out.push_back(json::object{{"type", 3}, {"timestamp", 2 + i}, {"data", std::move(data)}});
  }
  return out;
}

// Seconds of CPU for `toggles` toggles on a middle row of a `nodes`-node page (best round).
double Measure(int nodes, int toggles, int rounds, size_t* tracked) {
  const scrubd::policies::MaskingPolicy policy = scrubd::policies::MaskingPolicy::Defaults();
  const json::value snap = json::parse(Snapshot(nodes));
  const int rows = (nodes - 4) / 5;
  const int element = 4 + 5 * (rows / 2);
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    WindowState state;
    json::value ev = snap;
    MaskEvent(ev.as_object(), policy, state, nullptr);
    *tracked = state.size();
    std::vector<json::object> events = Toggles(toggles, element);
    double t0 = CpuNow();
    for (auto& e : events) MaskEvent(e, policy, state, nullptr);
    best = std::min(best, CpuNow() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int toggles = 2000, small = 1000, large = 100000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--toggles")) toggles = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--small")) small = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--large")) large = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  size_t small_nodes = 0, large_nodes = 0;
  double s = Measure(small, toggles, rounds, &small_nodes);
  double l = Measure(large, toggles, rounds, &large_nodes);
  std::printf("%d class toggles on one element, thread CPU, best of %d rounds\n", toggles, rounds);
  std::printf("page %7zu nodes  %8.2f ms  (%.2f us/toggle)  baseline\n", small_nodes, s * 1e3,
              s * 1e6 / toggles);
  std::printf("page %7zu nodes  %8.2f ms  (%.2f us/toggle)\n", large_nodes, l * 1e3,
              l * 1e6 / toggles);
  std::printf("ratio (large / small) %.2f  (target <= 2)\n", l / s);
  return l / s <= 2.0 ? 0 : 1;
}
