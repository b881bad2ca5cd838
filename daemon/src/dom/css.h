// A small CSS tokenizer (CSS Syntax Level 3, section 4) that finds the only parts of a style
// sheet that can carry user text: string tokens, url() tokens and comments. Everything else
// (selectors, properties, at-rule names, numbers) is copied byte for byte. Used by the DOM
// pass (masking in mask_text regions) and by scrub/css.h (detectors). Pure, thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace scrubd::dom {

enum class CssPart { kString, kUrl, kComment };

// Called with the decoded value of one part (escapes resolved for strings and urls; the raw
// body of a comment or of a bad url). Returns true when it changed `value`.
using CssRewriter = std::function<bool(std::string& value, CssPart part)>;

// Rewrites the parts of `css` that `rewrite` changes, re-encoding each so that the sheet
// tokenizes exactly as before: a string keeps its quote and never gains an unescaped quote,
// backslash or newline; a url keeps its extent; a comment never gains "*/". Unchanged parts
// keep their original bytes. Returns true when `css` changed.
bool RewriteCssParts(std::string& css, const CssRewriter& rewrite);

// Masks every string, url and comment in `css` like text (MaskTextValue), for CSS inside a
// mask_text region. Returns true when `css` changed.
bool MaskCssParts(std::string& css);

// The CSS text fields of an rrweb StyleSheetRule (source 8), StyleDeclaration (13) or
// AdoptedStyleSheet (15) event's `data`: adds[].rule, replace, replaceSync, set.value,
// styles[].rules[].rule. Visits each such value present (of any type), once, in a fixed
// order; other fields (ids, indexes, property names) are not visited.
void ForEachCssTextField(boost::json::object& data,
                         const std::function<void(boost::json::value&)>& f);

// True when `event` is a type-3 event with data.source 8, 13 or 15 (integers).
bool IsCssRuleEvent(const boost::json::object& event);

}  // namespace scrubd::dom
