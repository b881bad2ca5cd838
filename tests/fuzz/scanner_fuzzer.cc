// libFuzzer target for the PII scanner: input "key\ntext" (no newline: empty key), redacted
// with the full default catalog. Checks the output is still valid UTF-8 when the input was.
// Seeds: strings and keys of the fixtures (make fuzz-seeds).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "scrubd/rules/scanner.h"

namespace {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<const scrubd::rules::Scanner> kScanner = [] {
    auto s = scrubd::rules::Scanner::Create(scrubd::rules::ScannerConfig{});
    if (!s.ok()) std::abort();  // the shipped catalog must compile
    return std::move(s).value();
  }();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view key = nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  std::string text(nl == std::string_view::npos ? in : in.substr(nl + 1));
  const bool was_utf8 = ValidUtf8(text);
  scrubd::rules::RedactionCounts counts;
  const bool changed = kScanner->Redact(text, key, &counts);
  if (changed && was_utf8 && !ValidUtf8(text)) std::abort();  // a redaction broke the string
  return 0;
}
