// The PII scanner: a compiled, immutable detector set (RE2::Set prefilter, per-detector
// locate + validate, redaction operators). Built once per policy snapshot; afterwards every
// method is const and safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace YAML {
class Node;
}

namespace scrubd::rules {

enum class Method { kMask, kReplace, kRemove, kHash, kTruncateIp };

// Per-detector override from a policy's `detectors:` section.
struct DetectorOverride {
  bool enabled = true;
  bool has_method = false;
  Method method = Method::kMask;
  int keep_last = -1;  // mask: keep the last N chars (-1: detector default)
  std::string label;   // replace: label such as "[EMAIL]" (empty: detector default)
};

// What a policy says about detectors. Defaults: every catalog detector on, catalog methods.
struct ScannerConfig {
  std::vector<std::string> disabled;                  // detector ids turned off
  std::map<std::string, DetectorOverride> overrides;  // by detector id
  std::vector<std::string> extra_sensitive_keys;      // added to the built-in key list
  std::string hmac_key;                               // raw key bytes for Method::kHash
  int64_t max_mem_bytes = 64 << 20;                   // RE2::Set / RE2 budget
  // Strings whose candidate patterns all have a shape feature skip the RE2::Set (same output;
  // rules/README.md "Scanner"). False (policy `detectors.shape_pass`) sends every candidate
  // string through the Set; tests and benchmarks compare the two.
  bool shape_pass = true;
  // Added: how a value under a sensitive key is redacted (mask, replace, remove or hash).
  Method key_method = Method::kReplace;
  std::string key_label = "[REDACTED]";
};

// What a fail-closed Redact leaves in place of the whole string.
inline constexpr const char* kFailClosedText = "[REDACTED:scan_error]";

// Counts only, never the matched text.
struct RedactionCounts {
  std::map<std::string, uint64_t> by_rule;    // detector id or "key:<name>" -> count
  std::map<std::string, uint64_t> by_method;  // "mask", "replace", ...
  uint64_t errors = 0;                        // fail-closed events (e.g. RE2 out of memory)
  uint64_t set_scans = 0;  // strings that needed an RE2::Set pass (the shape pass could not decide)
  void Add(const RedactionCounts& o);
  uint64_t Total() const;
};

class Scanner {
 public:
  virtual ~Scanner() = default;
  // Builds from the embedded catalog (rules/*.yaml compiled into the binary) plus `config`.
  static Result<std::shared_ptr<const Scanner>> Create(const ScannerConfig& config);

  // Redacts detected PII in `text` in place; `key` is the JSON key / header / field name the
  // string sits under (empty if none). A sensitive key redacts the whole value. Returns true
  // when `text` changed. Fail closed: if scanning cannot complete, the whole string is
  // replaced and counts->errors is incremented. A string with '%', '&' or non-ASCII bytes is
  // also scanned through its canonical view (entities and percent-escapes decoded, NFKC,
  // invisibles removed); such a match redacts the original bytes it came from, keeping the
  // output valid UTF-8 (rules/README.md "Canonical view").
  virtual bool Redact(std::string& text, std::string_view key, RedactionCounts* counts) const = 0;

  // True when values under `key` are redacted whatever their content (password, token, ...).
  virtual bool IsSensitiveKey(std::string_view key) const = 0;

  // Detector ids in the compiled set.
  virtual std::vector<std::string> DetectorIds() const = 0;
};

// Parses a policy's `detectors:` section (file for error locations). Unknown keys, wrong
// types, unknown detector ids and bad methods are errors with file:line:col.
Result<ScannerConfig> ParseDetectorsSection(const std::string& file, const YAML::Node& node);

const char* MethodName(Method m);

}  // namespace scrubd::rules
