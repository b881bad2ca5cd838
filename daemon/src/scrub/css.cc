#include "scrub/css.h"

#include <boost/json.hpp>

#include "dom/css.h"

namespace scrubd::scrub {
namespace json = boost::json;

namespace {

bool IsCssOwnerTag(const json::object& o) {
  const json::value* t = o.if_contains("tagName");
  if (t == nullptr || !t->is_string()) return false;
  std::string tag(t->get_string());
  for (char& c : tag) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return tag == "style" || tag == "link";
}

bool IsStyleText(const json::object& o) {
  const json::value* s = o.if_contains("isStyle");
  return s && s->is_bool() && s->get_bool();
}

}  // namespace

bool ScrubCss(std::string& css, const rules::Scanner& scanner, rules::RedactionCounts* counts) {
  return dom::RewriteCssParts(css, [&](std::string& v, dom::CssPart) {
    return scanner.Redact(v, "", counts);  // no key: a CSS string is never a sensitive value
  });
}

template <typename F>
void CssFieldsHold::VisitFields(json::object& o, F&& f) {
  if (IsStyleText(o)) {
    if (json::value* tc = o.if_contains("textContent")) f(*tc);
  }
  if (IsCssOwnerTag(o)) {
    if (json::value* a = o.if_contains("attributes"); a && a->is_object())
      if (json::value* css = a->as_object().if_contains("_cssText")) f(*css);
  }
  if (dom::IsCssRuleEvent(o)) dom::ForEachCssTextField(o["data"].as_object(), f);
}

CssFieldsHold::CssFieldsHold(json::object& o, const rules::Scanner& scanner,
                             rules::RedactionCounts* counts)
    : o_(o) {
  size_t index = 0;
  VisitFields(o, [&](json::value& v) {
    size_t i = index++;
    if (!v.is_string()) return;
    std::string css(v.get_string());
    ScrubCss(css, scanner, counts);
    held_.emplace_back(i, std::move(css));
    v = nullptr;  // numbers, booleans and null are never rewritten by the walk
  });
}

CssFieldsHold::~CssFieldsHold() {
  if (held_.empty()) return;
  size_t index = 0, next = 0;
  VisitFields(o_, [&](json::value& v) {
    size_t i = index++;
    if (next < held_.size() && held_[next].first == i) v = json::string(held_[next++].second);
  });
}

}  // namespace scrubd::scrub
