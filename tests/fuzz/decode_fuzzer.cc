// libFuzzer target for the ingest decoder (the untrusted-input surface): a whole request body
// through both endpoints' DecodeBatch. Build and run: tests/fuzz/README.md.
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
    // Any verdict is fine here; the fuzzer looks for crashes, leaks and UB.
    if (scrubd::Result<scrubd::ingest::Batch> b = scrubd::ingest::DecodeBatch(ep, v, limits);
        !b.ok())
      continue;
  }
  return 0;
}
