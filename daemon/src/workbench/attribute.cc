// What hid a compared value (compare_internal.h): the hiding side's policy asked in the order
// its stages run (event stored, blocked subtree, DOM mask, detectors), over the captured DOM.
#include "dom/dom_masker.h"
#include "workbench/compare_internal.h"

namespace scrubd::workbench::compare_internal {

namespace {

bool ChainMatches(const policies::SelectorList& list, const DomNode* el) {
  for (const DomNode* e = el; e != nullptr && e->IsElement(); e = e->parent)
    if (list.Matches(*e)) return true;
  return false;
}

bool IsFormField(const DomNode& el) {
  return el.tag == "input" || el.tag == "textarea" || el.tag == "select" || el.tag == "option";
}

std::string Joined(const std::map<std::string, uint64_t>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : "+") + k;
  return out;
}

// The attribute name when `field` is "...attributes.<name>" (snapshot or mutation).
std::string AttributeOf(std::string_view field) {
  size_t at = field.rfind("attributes.");
  if (at == std::string_view::npos) return "";
  std::string_view name = field.substr(at + 11);
  return name.find('.') == std::string_view::npos ? std::string(name) : "";
}

Hider DomMask(const policies::Policy& p, const DomNode* el, const Leaf& leaf,
              const std::vector<std::pair<std::string, policies::SelectorList>>& mask) {
  for (const auto& [text, list] : mask)
    if (ChainMatches(list, el)) return {"mask_text " + text, "mask"};
  if (p.masking.mask_all_text) return {"mask_all_text", "mask"};
  std::string attr = AttributeOf(leaf.field);
  if (!attr.empty() && attr != "value" && p.masking.MasksAttribute(attr))
    return {"mask_attributes " + attr, "mask"};
  if (el && IsFormField(*el))
    return {p.masking.mask_all_inputs ? "mask_all_inputs" : "mask_input_types", "mask"};
  return {"dom mask", "mask"};
}

// A value whose key a side did not keep: the key itself was redacted (a detector matched it,
// and the scrubbed key no longer names the value), or the value was removed.
Hider KeyRemoved(const policies::Policy& p, const std::string& key) {
  if (p.scanner && !key.empty()) {
    std::string copy = key;
    rules::RedactionCounts counts;
    p.scanner->Redact(copy, "", &counts);
    if (!counts.by_rule.empty())
      return {"detector " + Joined(counts.by_rule) + " in the key", Joined(counts.by_method)};
  }
  return {"removed", "remove"};
}

}  // namespace

void Attributor::BeginSession(const StoredSession& captured, const policies::PolicySet* before,
                              const policies::PolicySet* after) {
  dom_.emplace(ReplayDom::FromSession(captured));
  token_ = captured.token;
  before_ = before;
  after_ = after;
}

void Attributor::BeginEvents(const policies::PolicySet* before, const policies::PolicySet* after) {
  dom_.reset();
  token_.clear();
  before_ = before;
  after_ = after;
}

const Attributor::Selectors& Attributor::SelectorsOf(const policies::Policy& p) {
  auto [it, fresh] = selectors_.try_emplace(&p);
  if (!fresh) return it->second;
  auto split = [](const policies::SelectorList& list, auto* out) {
    for (const auto& complex : list.selectors())
      if (Result<policies::SelectorList> one = policies::SelectorList::Parse(complex->text);
          one.ok())
        out->emplace_back(complex->text, std::move(one).value());
  };
  split(p.masking.block, &it->second.block);
  split(p.masking.mask_text, &it->second.mask);
  return it->second;
}

const DomNode* Attributor::FindNode(const Leaf& leaf) const {
  if (!dom_ || leaf.node < 0) return nullptr;
  const DomWindow* w = dom_->FindWindow(leaf.window);
  if (!w) return nullptr;
  const DomDocument* doc = nullptr;
  for (const DomDocument& d : w->documents)
    if (d.timestamp <= leaf.timestamp) doc = &d;
  const DomNode* n = doc ? doc->Find(leaf.node) : nullptr;
  for (auto d = w->documents.rbegin(); n == nullptr && d != w->documents.rend(); ++d)
    n = d->Find(leaf.node);
  return n;
}

Hider Attributor::Hide(const Leaf& leaf, const std::string& captured, const std::string* side,
                       bool before) {
  const policies::PolicySet* set = before ? before_ : after_;
  if (set == nullptr) return {"as captured", ""};
  if (!(before ? leaf.event_before : leaf.event_after)) return {"event not stored", "drop"};
  const policies::Policy* p = set->ForToken(leaf.session.empty() ? leaf.token : token_);
  if (p == nullptr) return {"no policy for the token", "drop"};
  const DomNode* node = FindNode(leaf);
  const DomNode* el = node && !node->IsElement() ? node->parent : node;
  const Selectors& sel = SelectorsOf(*p);
  for (const auto& [text, list] : sel.block)
    if (ChainMatches(list, el)) return {"block " + text, "block"};
  if (side == nullptr) return KeyRemoved(*p, leaf.key);
  const std::string& shown = *side;
  if (el && (shown == dom::MaskTextValue(captured) || shown == dom::MaskInputValue(captured)))
    return DomMask(*p, el, leaf, sel.mask);
  if (p->scanner) {
    std::string copy = captured;
    rules::RedactionCounts counts;
    p->scanner->Redact(copy, leaf.key, &counts);
    if (!counts.by_rule.empty())
      return {"detector " + Joined(counts.by_rule), Joined(counts.by_method)};
  }
  if (shown.rfind("pid_", 0) == 0) return {"identifiers", "pseudonymize"};
  if (leaf.field.find("$set") != std::string::npos) return {"person_properties", "redact"};
  return {"other (identifiers, URL rules, event properties)", "replace"};
}

}  // namespace scrubd::workbench::compare_internal
