// The preview's comparison as text (`scrubd policy diff`) and as JSON (`diff --json`, and the
// data of the HTML report). Values appear only with `show_values`; otherwise a change is its
// rule, position and length. Pure functions; thread-safe.
#pragma once

#include <boost/json/object.hpp>
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

// At most this many bytes of a value are shown (cut on a UTF-8 boundary, "..." appended).
inline constexpr size_t kMaxShownValueBytes = 400;
std::string ClipValue(std::string_view v);

// "node 42 data.texts[0].value: 2 pieces at 10+18 of 40 bytes"
std::string PositionText(const Change& c);

boost::json::object ComparisonJson(const ReportHeader& h, const Comparison& c, bool show_values);
std::string ComparisonText(const ReportHeader& h, const Comparison& c, bool show_values);

}  // namespace scrubd::workbench
