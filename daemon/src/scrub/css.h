// The CSS-aware part of the string pass: detectors run over CSS string literals, url()
// values and comments only (dom/css.h finds them), so selectors and syntax survive byte for
// byte. Called by scrub.cc's Walk for each JSON object; pure apart from `counts`.
#pragma once

#include <boost/json/fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "scrubd/rules/scanner.h"

namespace scrubd::scrub {

// Runs `scanner` over the strings, urls and comments of `css`, re-encoded so that the sheet
// still tokenizes the same way. Returns true when `css` changed.
bool ScrubCss(std::string& css, const rules::Scanner& scanner, rules::RedactionCounts* counts);

// While alive, the CSS fields of one object are CSS-scrubbed and hidden (set to null) from
// the ordinary walk, then put back: `_cssText` of a `<style>`/`<link>` node's attributes,
// `textContent` of an `isStyle` text node, and the rule text of a StyleSheetRule /
// StyleDeclaration / AdoptedStyleSheet event. Any other field (and `_cssText` anywhere else)
// stays an ordinary string. `o` must outlive the hold; held fields are found again by key
// when put back (the walk may rebuild objects whose keys it redacts).
class CssFieldsHold {
 public:
  CssFieldsHold(boost::json::object& o, const rules::Scanner& scanner,
                rules::RedactionCounts* counts);
  ~CssFieldsHold();
  CssFieldsHold(const CssFieldsHold&) = delete;
  CssFieldsHold& operator=(const CssFieldsHold&) = delete;

 private:
  // Calls f(value) for each CSS field of `o`, always in the same order.
  template <typename F>
  static void VisitFields(boost::json::object& o, F&& f);

  boost::json::object& o_;
  std::vector<std::pair<size_t, std::string>> held_;  // (visit index, scrubbed CSS)
};

}  // namespace scrubd::scrub
