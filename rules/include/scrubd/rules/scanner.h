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

// One must_match / must_not_match example of a custom detector. `where` is its
// "file:line:col" for error messages; the text itself is never put in a message (an officer
// may have pasted a real identifier).
struct CustomExample {
  std::string text;
  std::string key;    // the key it sits under (may be empty)
  std::string where;  // "policy.yaml:12:9"
};

// A policy's own detector (`detectors.custom`, docs/detectors.md): compiled into the same
// scanner as the catalog and counted under its id. Create validates it again (bounds, id,
// validator, boundary, method, patterns), so a config built in code is held to the same rules.
struct CustomDetector {
  std::string id;  // [a-z][a-z0-9_]*, at most 48 bytes; no catalog id
  std::string description;
  std::string where;  // "file:line:col" of the entry
  struct Pattern {
    std::string re;                 // RE2 (Latin-1); capture group 1, if any, is the value
    bool context_required = false;  // fires only with a context word in the key or before it
    std::string where;
  };
  std::vector<Pattern> patterns;
  std::string validator = "none";          // FindValidator name: luhn, mod97, iban, card, ...
  std::vector<std::string> context_words;  // lower-cased on use
  std::vector<std::string> suppress_keys;  // key substrings under which it never fires
  std::string boundary = "alnum";          // none | digit | alnum | word
  Method method = Method::kReplace;        // mask | replace | remove | hash
  std::string label;                       // replace: empty means "[<ID>]"
  int keep_last = 0;                       // mask: keep the last N letters/digits
  std::vector<CustomExample> must_match, must_not_match;
};

// Bounds on `detectors.custom`: together with the catalog's 31 patterns every pattern keeps a
// bit of the scanner's 64-bit candidate masks.
inline constexpr size_t kMaxCustomDetectors = 16;
inline constexpr size_t kMaxCustomPatterns = 32;  // over all custom detectors
inline constexpr size_t kMaxCustomPatternBytes = 512;
inline constexpr int kMaxCustomProgramSize = 4000;  // RE2 instructions per pattern
inline constexpr size_t kMaxCustomExamples = 64;    // per list
inline constexpr size_t kMaxCustomExampleBytes = 4096;
inline constexpr size_t kMaxCustomContextWords = 32;

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
  std::vector<CustomDetector> custom;  // compiled after the catalog, in this order
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

// Runs every custom detector's examples through `scanner` (built from `config`): a
// must_match example must be redacted by that detector (counted under its id), a
// must_not_match example must not be. The first miss is kInvalidConfig at the example's
// file:line:col; the message names the detector and what fired, never the example text.
Status CheckCustomExamples(const Scanner& scanner, const ScannerConfig& config);

const char* MethodName(Method m);

}  // namespace scrubd::rules
