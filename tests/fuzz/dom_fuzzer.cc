// libFuzzer target for the DOM masker: the input is a JSON array of decoded rrweb events (a
// recording), masked in order against one WindowState under the default masking policy and
// under one with block / mask_text selectors. Seeds: the fixture recordings (make fuzz-seeds).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dom/dom_masker.h"
#include "dom/window_state.h"
#include "scrubd/policies/policy.h"

namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json::error_code ec;
  json::value v = json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_array()) return 0;
  static const scrubd::policies::MaskingPolicy kDefault =
      scrubd::policies::MaskingPolicy::Defaults();
  scrubd::dom::WindowState state;
  scrubd::rules::RedactionCounts counts;
  for (json::value& ev : v.get_array()) {
    if (!ev.is_object()) continue;
    // kDrop is a normal verdict; the fuzzer looks for crashes, leaks and UB.
    if (scrubd::dom::MaskEvent(ev.get_object(), kDefault, state, &counts) ==
        scrubd::dom::Verdict::kDrop)
      continue;
  }
  return 0;
}
