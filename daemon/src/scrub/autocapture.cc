#include "scrub/autocapture.h"

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dom/dom_masker.h"

namespace scrubd::scrub {
namespace {

namespace json = boost::json;
using policies::MaskingPolicy;

// One element as posthog-js encodes it: `tag.c1.c2:key="value"key="value"`. Values keep
// their byte span in the chain so that a masked value is replaced in place.
struct ChainAttr {
  std::string key;
  std::string value;  // unescaped
  size_t begin = 0;   // raw value span inside the quotes
  size_t end = 0;
};
struct ChainElement {
  std::string tag;
  std::string classes;  // space separated
  std::vector<ChainAttr> attrs;
};

// Value ends at the first '"' not escaped by '\' (posthog-js escapes '"' as '\"').
bool ParseValue(std::string_view s, size_t& i, ChainAttr& a) {
  if (i >= s.size() || s[i] != '"') return false;
  a.begin = ++i;
  for (; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '"') ++i;
    a.value.push_back(s[i]);
  }
  if (i >= s.size()) return false;
  a.end = i++;
  return true;
}

bool ParseElement(std::string_view s, size_t& i, ChainElement& e) {
  size_t head = i;
  while (i < s.size() && s[i] != ':' && s[i] != ';') {
    if (s[i] == '"' || s[i] == '=') return false;
    ++i;
  }
  std::string_view h = s.substr(head, i - head);
  size_t dot = h.find('.');
  e.tag = std::string(h.substr(0, dot));
  for (char& c : e.tag) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (dot != std::string_view::npos) {
    e.classes = std::string(h.substr(dot + 1));
    for (char& c : e.classes) c = c == '.' ? ' ' : c;
  }
  if (i >= s.size() || s[i] == ';') return true;
  ++i;  // ':'
  while (i < s.size() && s[i] != ';') {
    ChainAttr a;
    size_t k = i;
    while (i < s.size() && s[i] != '=' && s[i] != '"' && s[i] != ';') ++i;
    if (i >= s.size() || s[i] != '=' || i == k) return false;
    a.key = std::string(s.substr(k, i - k));
    ++i;
    if (!ParseValue(s, i, a)) return false;
    e.attrs.push_back(std::move(a));
  }
  return true;
}

std::optional<std::vector<ChainElement>> ParseChain(std::string_view s) {
  std::vector<ChainElement> out;
  size_t i = 0;
  while (i < s.size()) {
    ChainElement e;
    if (!ParseElement(s, i, e)) return std::nullopt;
    out.push_back(std::move(e));
    if (i < s.size()) ++i;  // ';'
    if (out.size() > 4096) return std::nullopt;
  }
  return out;
}

// What selectors read of an element: its tag and attributes (attr__x = x; the head's classes
// are the class attribute).
struct View {
  std::string tag;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::optional<std::string_view> Get(std::string_view name) const {
    for (const auto& [k, v] : attrs)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
};

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Classes come from the head and from attr__class (both space separated, merged); attribute
// names are case-insensitive in HTML, so every name is compared lower-cased.
View FromChain(const ChainElement& e) {
  View v{e.tag, {}};
  std::string classes = e.classes;
  for (const ChainAttr& a : e.attrs) {
    std::string key = LowerAscii(a.key);
    if (key == "attr__class") {
      classes += (classes.empty() ? "" : " ") + a.value;
    } else if (key.starts_with("attr__")) {
      v.attrs.emplace_back(key.substr(6), a.value);
    } else if (key == "attr_id") {
      v.attrs.emplace_back("id", a.value);
    }
  }
  if (!classes.empty()) v.attrs.emplace_back("class", classes);
  return v;
}

View FromObject(const json::object& o) {
  View v;
  if (const json::value* t = o.if_contains("tag_name"); t && t->is_string()) {
    v.tag = std::string(t->get_string());
    for (char& c : v.tag) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  std::string classes;
  if (const json::value* c = o.if_contains("classes"); c && c->is_array()) {
    for (const json::value& x : c->get_array())
      if (x.is_string()) classes += (classes.empty() ? "" : " ") + std::string(x.get_string());
  }
  for (const auto& kv : o) {
    std::string key = LowerAscii(kv.key());
    if (!key.starts_with("attr__") || !kv.value().is_string()) continue;
    std::string name = key.substr(6);
    std::string value(kv.value().get_string());
    if (name == "class") {
      classes += (classes.empty() ? "" : " ") + value;
    } else {
      v.attrs.emplace_back(std::move(name), std::move(value));
    }
  }
  if (!classes.empty()) v.attrs.emplace_back("class", classes);
  return v;
}

// Per element (index 0 = the clicked element, last = outermost ancestor).
struct Decision {
  bool blocked = false;      // at or under a `block` match
  bool masked = false;       // its own text region is masked
  bool text_masked = false;  // its text (which includes the chain below it) must be masked
};

std::vector<Decision> Decide(const std::vector<View>& els, const MaskingPolicy& p) {
  const policies::CompiledSelectors& sel = *p.compiled;
  const size_t k = els.size();
  std::vector<Decision> d(k);
  std::vector<uint64_t> chain;  // outermost first
  bool blocked = false, masked = p.mask_all_text;
  for (size_t j = k; j-- > 0;) {
    uint64_t atoms = sel.EvaluateTag(els[j].tag);
    for (const auto& [name, value] : els[j].attrs)
      atoms = sel.UpdateAttribute(atoms, name, std::string_view(value));
    chain.push_back(atoms);
    blocked = blocked || sel.Matches(MaskingPolicy::kBlockList, chain);
    if (sel.Matches(MaskingPolicy::kUnmaskList, chain))
      masked = false;
    else if (sel.Matches(MaskingPolicy::kMaskList, chain))
      masked = true;
    d[j].blocked = blocked;
    d[j].masked = masked || blocked;
  }
  bool below = false;
  for (size_t i = 0; i < k; ++i) {
    below = below || d[i].masked;
    d[i].text_masked = below;
  }
  return d;
}

class Apply {
 public:
  Apply(const MaskingPolicy& p, rules::RedactionCounts* counts) : p_(p), counts_(counts) {}

  void Count(const char* rule) {
    if (counts_ == nullptr) return;
    ++counts_->by_rule[rule];
    ++counts_->by_method["mask"];
  }

  bool InputMasked(const View& v) const {
    if (p_.mask_all_inputs) return true;
    std::string type = v.tag == "input" ? std::string(v.Get("type").value_or("text")) : v.tag;
    for (char& c : type) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (type == "password" || p_.MasksInputType(type)) return true;
    for (const char* key : {"name", "id", "autocomplete"}) {
      auto val = v.Get(key);
      if (val && p_.sensitive_key && p_.sensitive_key(*val)) return true;
    }
    return false;
  }

  // What happens to the value under `key` (chain or $elements key) of an element.
  enum class Action { kKeep, kText, kInput };
  Action For(std::string_view raw_key, const View& v, const Decision& d) const {
    const std::string lowered = Lower(raw_key);
    const std::string_view key = lowered;
    if (key == "text" || key == "$el_text") return d.text_masked ? Action::kText : Action::kKeep;
    if (key == "attr__value") return (InputMasked(v) || d.masked) ? Action::kInput : Action::kKeep;
    if (key == "attr__class" || key == "attr__id" || key == "attr_id" || key == "nth-child" ||
        key == "nth-of-type" || key == "tag_name" || key == "nth_child" || key == "nth_of_type")
      return Action::kKeep;
    if (d.blocked && (key == "href" || key.starts_with("attr__"))) return Action::kText;
    if (d.masked && key.starts_with("attr__") && p_.MasksAttribute(Lower(key.substr(6))))
      return Action::kText;
    return Action::kKeep;
  }

  std::string Mask(std::string_view value, Action a, const char* rule) {
    Count(rule);
    return a == Action::kInput ? dom::MaskInputValue(value) : dom::MaskTextValue(value);
  }

  static std::string Lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  }

 private:
  const MaskingPolicy& p_;
  rules::RedactionCounts* counts_;
};

const char* RuleFor(Apply::Action a) {
  return a == Apply::Action::kInput ? "autocapture.input" : "autocapture.text";
}

// Rewrites `chain` in place; false when it does not parse. Sets *first_text_masked.
bool ScrubChain(json::string& chain, Apply& apply, const MaskingPolicy& p, bool* first_masked,
                bool* any_masked) {
  std::string s(chain);
  auto parsed = ParseChain(s);
  if (!parsed) return false;
  std::vector<View> views;
  for (const ChainElement& e : *parsed) views.push_back(FromChain(e));
  std::vector<Decision> d = Decide(views, p);
  if (!d.empty()) *first_masked = d[0].text_masked;
  if (!d.empty()) *any_masked = *any_masked || d.back().text_masked;
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < parsed->size(); ++i) {
    for (const ChainAttr& a : (*parsed)[i].attrs) {
      Apply::Action act = apply.For(a.key, views[i], d[i]);
      if (act == Apply::Action::kKeep) continue;
      out.append(s, copied, a.begin - copied);
      out.append(apply.Mask(a.value, act, RuleFor(act)));  // '*' and spaces: never a quote
      copied = a.end;
    }
  }
  if (copied == 0) return true;
  out.append(s, copied, std::string::npos);
  chain = out;
  return true;
}

bool ScrubElements(json::array& elements, Apply& apply, const MaskingPolicy& p, bool* first_masked,
                   bool* any_masked) {
  std::vector<View> views;
  for (const json::value& e : elements) {
    if (!e.is_object()) return false;
    views.push_back(FromObject(e.get_object()));
  }
  std::vector<Decision> d = Decide(views, p);
  if (!d.empty()) *first_masked = *first_masked || d[0].text_masked;
  if (!d.empty()) *any_masked = *any_masked || d.back().text_masked;
  for (size_t i = 0; i < elements.size(); ++i) {
    for (auto& kv : elements[i].get_object()) {
      Apply::Action act = apply.For(kv.key(), views[i], d[i]);
      json::value& v = kv.value();
      if (act == Apply::Action::kKeep || !(v.is_string() || v.is_number() || v.is_bool()))
        continue;  // a number or bool is masked as its text
      std::string text = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
      v = apply.Mask(text, act, RuleFor(act));
    }
  }
  return true;
}

// Fail closed: every string in `v` masked as text.
void MaskAll(json::value& v, Apply& apply) {
  if (v.is_string()) {
    v = dom::MaskTextValue(v.get_string());
  } else if (v.is_number() || v.is_bool()) {
    v = dom::MaskTextValue(json::serialize(v));
  } else if (v.is_array()) {
    for (json::value& x : v.get_array()) MaskAll(x, apply);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) MaskAll(kv.value(), apply);
  }
}

}  // namespace

void ScrubAutocapture(json::object& event, const MaskingPolicy& policy,
                      rules::RedactionCounts* counts) {
  json::value* pv = event.if_contains("properties");
  if (pv == nullptr || !pv->is_object()) return;
  json::object& props = pv->get_object();
  json::value* chain = props.if_contains("$elements_chain");
  json::value* elements = props.if_contains("$elements");
  json::value* el_text = props.if_contains("$el_text");
  // Other $elements_chain_* keys (texts, href, ids, elements as PostHog materialises them)
  // cannot be attributed to one element: masked whole when anything in the chain is masked
  // or blocked, or when the chain cannot be read.
  std::vector<json::value*> derived;
  for (auto& kv : props)
    if (kv.key().starts_with("$elements_chain_")) derived.push_back(&kv.value());
  if (chain == nullptr && elements == nullptr) {
    if (derived.empty()) return;
    Apply apply(policy, counts);
    apply.Count("autocapture.unparseable");
    for (json::value* v : derived) MaskAll(*v, apply);
    return;
  }
  Apply apply(policy, counts);
  bool first_masked = false, any_masked = false;
  bool ok = policy.compiled != nullptr;
  if (ok && chain != nullptr)
    ok = chain->is_string() &&
         ScrubChain(chain->as_string(), apply, policy, &first_masked, &any_masked);
  if (ok && elements != nullptr)
    ok = elements->is_array() &&
         ScrubElements(elements->as_array(), apply, policy, &first_masked, &any_masked);
  if (!ok) {
    apply.Count("autocapture.unparseable");
    for (json::value* v : {chain, elements, el_text})
      if (v != nullptr) MaskAll(*v, apply);
    for (json::value* v : derived) MaskAll(*v, apply);
    return;
  }
  if (any_masked && !derived.empty()) {
    apply.Count("autocapture.text");
    for (json::value* v : derived) MaskAll(*v, apply);
  }
  if (first_masked && el_text != nullptr && !el_text->is_null()) {
    if (el_text->is_string())
      *el_text = apply.Mask(el_text->get_string(), Apply::Action::kText, "autocapture.text");
    else
      MaskAll(*el_text, apply);
  }
}

}  // namespace scrubd::scrub
