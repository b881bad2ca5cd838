// The preview's comparison as text (`scrubd policy diff`) and as JSON (`diff --json`, and the
// data of the HTML report). Values appear only with `show_values`; otherwise a change is its
// rule, position and length. Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workbench/compare.h"

namespace scrubd::workbench {

// What was compared, for the report's header.
struct ReportHeader {
  std::vector<std::string> baseline_files;  // empty: "before" is the input as captured
  std::vector<std::string> policy_files;
  std::vector<std::string> policy_sha256;  // of the new policies, in order
  std::vector<std::string> baseline_sha256;
  std::string input;  // the capture directory as given
  size_t requests = 0;
};

// One row of a before / after count table: every key of either map, in order.
struct CountRow {
  std::string key;
  uint64_t before = 0, after = 0;
};
std::vector<CountRow> CountRows(const std::map<std::string, uint64_t>& before,
                                const std::map<std::string, uint64_t>& after);
// The comparison's attribution as one table, keyed "rule (method)".
std::vector<CountRow> HiddenByRows(const Comparison& c);
// A count map as a JSON object (also `policy test --json`).
boost::json::object CountsJson(const std::map<std::string, uint64_t>& m);
// "a.yaml, b.yaml"; with `sha256` (same order) each as "a.yaml (sha256 ...)".
std::string FilesText(const std::vector<std::string>& files,
                      const std::vector<std::string>& sha256 = {});

// "2 pieces at 10+18 of 40 bytes": the changed pieces within the captured value.
std::string SpanText(const Change& c);
// "node 42 data.texts[0].value: " + SpanText.
std::string PositionText(const Change& c);

boost::json::object ComparisonJson(const ReportHeader& h, const Comparison& c, bool show_values);
std::string ComparisonText(const ReportHeader& h, const Comparison& c, bool show_values);

}  // namespace scrubd::workbench
