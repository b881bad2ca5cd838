// `scrubd policy test` files (docs/workbench.md): the model, its strict parser (unknown keys,
// wrong types and bad selectors are kInvalidConfig at file:line:col), and the checks of one case
// over the input as captured (DecodeOnly) and under the policy (RunPolicy). Reports name checks
// by key and location, never by the value they look for. Stateless; thread-compatible.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/policy.h"
#include "scrubd/policies/selector.h"
#include "workbench/runner.h"

namespace scrubd::workbench {

struct Located {
  std::string text;
  std::string where;  // file:line:col of the value in the test file
};

struct SelectorCheck {
  std::string text, where;
  policies::SelectorList list;
};

struct TestCase {
  std::string name, where;
  std::filesystem::path input;  // resolved against the test file's directory
  std::vector<Located> hidden, visible, redacted_by;
  std::vector<SelectorCheck> selectors_masked, selectors_blocked;
  std::optional<uint64_t> max_dropped;
  std::map<std::string, uint64_t> max_dropped_by_reason;
  uint64_t max_rejected = 0;
};

struct TestFile {
  std::filesystem::path path;
  std::vector<std::string> policy_files;  // resolved against the test file's directory
  std::vector<TestCase> cases;
};

// Reads and parses a test file (`path` names it in errors; a missing file is kInvalidConfig).
Result<TestFile> ParseTestFile(const std::filesystem::path& path);
Result<TestFile> ParseTestText(const std::filesystem::path& path, std::string_view text);

struct CheckFailure {
  std::string check;   // "hidden[0]", "selectors_masked[1]", "max_dropped", ...
  std::string where;   // its file:line:col
  std::string detail;  // what was found, by position and count; never the value
};

struct CaseReport {
  std::string name, where;
  std::vector<CheckFailure> failures;
  RunResult after;  // the run under the policy; its `bytes` are cleared (they can be large)
  size_t sessions_in = 0;
  bool ok() const { return failures.empty(); }
};

// The checks of `c` over the input as captured (`before`) and under the policy (`after`). A
// check that can tell nothing fails: a hidden or visible string absent from the input, a
// selector that matches no element of the input's DOM.
CaseReport Evaluate(const TestCase& c, const RunResult& before, const RunResult& after);

// Loads the case's input, runs DecodeOnly and RunPolicy, and evaluates. Errors are the
// input's (LoadCaptureDir) or the environment's.
Result<CaseReport> RunCase(const TestCase& c, std::shared_ptr<const policies::PolicySet> set);

// The spellings a string may take in stored bytes: as is, JSON-escaped, \u-escaped (either
// hex case), percent-encoded (either hex case) and form-encoded. Deduplicated.
std::vector<std::string> StoredForms(std::string_view s);

}  // namespace scrubd::workbench
