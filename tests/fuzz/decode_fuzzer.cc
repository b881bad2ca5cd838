// libFuzzer target for the ingest decoder (the untrusted-input surface). Build with
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DSCRUBD_FUZZ=ON
//   cmake --build build-fuzz --target decode_fuzzer
//   build-fuzz/tests/decode_fuzzer -max_total_time=60 ../shared/fixtures/posthog-js-1.449.2
#include <cstddef>
#include <cstdint>
#include <string>

#include "ingest/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  scrubd::ingest::DecodeLimits limits;
  limits.inflate.max_output = 8u << 20;
  for (auto ep : {scrubd::ingest::Endpoint::kRecording, scrubd::ingest::Endpoint::kEvents}) {
    scrubd::ingest::RequestView v{body, "text/plain", ""};
    (void)scrubd::ingest::DecodeBatch(ep, v, limits);
  }
  return 0;
}
