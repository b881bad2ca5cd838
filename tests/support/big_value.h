// Test helpers for the per-request CPU deadline: the calling thread's CPU time and one
// enormous JSON value (cheap to decode, costly to scan). Header-only, for tests only.
// Not thread-safe (ThreadCpuMs measures the calling thread).
#pragma once

#include <time.h>

#include <boost/json.hpp>
#include <string>
#include <string_view>

namespace scrubd::testing {

inline double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// {"deep":{"items":[...]}}: `n` small objects of three strings holding `canary` and one key
// shaped like it (the key pass is walked too).
inline boost::json::value EnormousValue(int n, std::string_view canary) {
  namespace json = boost::json;
  json::array items;
  items.reserve(n);
  for (int i = 0; i < n; ++i) {
    std::string s = "note " + std::to_string(i) + " " + std::string(canary);
    items.push_back(json::object{{"a", json::object{{"b", json::array{s, s}}, {"c", s}}},
                                 {std::to_string(i) + "." + std::string(canary), i}});
  }
  return json::object{{"deep", json::object{{"items", std::move(items)}}}};
}

}  // namespace scrubd::testing
