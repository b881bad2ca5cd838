// libFuzzer target for the TCF decoder: input is a TC string; decodes, checks validity and
// renders both ways. Aborts if a decoded vendor set breaks its own invariants.
// Seeds: the IAB reference vectors (daemon/src/consent/testdata/tcf_vectors.inc).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "consent/tcf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto tc = scrubd::consent::DecodeTcString(in);
  if (!tc.ok()) return 0;
  for (const auto* set : {&tc->vendor_consents, &tc->vendor_legitimate_interests})
    if (set->bits.size() != static_cast<size_t>(set->max_vendor_id) + 1) std::abort();
  (void)scrubd::consent::CheckTcfValidity(*tc);
  (void)scrubd::consent::TcStringJson(*tc);
  (void)scrubd::consent::TcStringText(*tc);
  return 0;
}
