// The detector catalog model: one DetectorSpec per rules/catalog/*.yaml file, parsed from the
// text embedded into the library at build time (see cmake/embed_catalog.cmake). Internal to
// scrubd_rules (scanner, tests, rules_eval). Pure functions over immutable data; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::rules::internal {

// One catalog file as embedded: name ("catalog/email.yaml") and full YAML text.
struct EmbeddedFile {
  const char* name;
  const char* text;
};
const std::vector<EmbeddedFile>& EmbeddedCatalog();

// Which neighbouring characters must not touch a value (checked outside the value span).
enum class Boundary { kNone, kDigit, kAlnum, kWord };

struct PatternSpec {
  std::string re;                 // RE2 syntax; capture group 1 (if any) is the value span
  bool context_required = false;  // fires only with a context word in the key or before it
};

struct Example {
  std::string text;
  std::string key;  // JSON key / field name the text sits under (may be empty)
};

struct DetectorSpec {
  std::string file;  // for error messages
  std::string id;
  std::string description;
  std::vector<PatternSpec> patterns;
  std::string validator;  // built-in validator name; "none" for none
  Boundary boundary = Boundary::kAlnum;
  std::vector<std::string> context_words;  // lower case; searched in key and text before value
  std::vector<std::string> suppress_keys;  // lower case substrings of the key that disable it
  Method method = Method::kReplace;
  std::string label;        // replace label, e.g. "[EMAIL]"
  int keep_last = 0;        // mask: keep the last N alphanumerics
  std::string hash_prefix;  // hash: output prefix, e.g. "email_"
  std::vector<Example> must_match;
  std::vector<Example> must_not_match;
};

// Parses one catalog file; errors carry file:line:col.
Result<DetectorSpec> ParseDetectorFile(const std::string& file, const std::string& text);

// Parses every embedded file (sorted by file name); rejects duplicate ids.
Result<std::vector<DetectorSpec>> LoadEmbeddedCatalog();

bool ParseMethod(std::string_view name, Method* out);

}  // namespace scrubd::rules::internal
