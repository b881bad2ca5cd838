// libFuzzer target for the nested cv decoder: the input bytes are one cv field (gzip bytes,
// carried as a latin-1 JSON string as posthog-js sends them), placed in each field kind that
// ExpandNested decodes. Seeds: the cv fields of the fixtures (make fuzz-seeds).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/decode.h"

namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string field =
      scrubd::ingest::BytesToLatin1(std::string_view(reinterpret_cast<const char*>(data), size));
  scrubd::ingest::DecodeLimits limits;
  limits.inflate.max_output = 8u << 20;
  const json::object shapes[] = {
      {{"type", 2}, {"cv", "2024-10"}, {"data", field}, {"timestamp", 1}},
      {{"type", 3},
       {"cv", "2024-10"},
       {"data",
        {{"source", 0},
         {"adds", field},
         {"texts", field},
         {"attributes", field},
         {"removes", field}}}},
      {{"type", 3}, {"cv", "2024-10"}, {"data", {{"source", 8}, {"adds", field}}}},
  };
  for (const json::object& shape : shapes) {
    json::object ev = shape;
    size_t budget = limits.inflate.max_output;
    // Any verdict is fine here; the fuzzer looks for crashes, leaks and UB.
    if (scrubd::Status s = scrubd::ingest::ExpandNested(ev, limits, &budget); !s.ok()) continue;
  }
  return 0;
}
