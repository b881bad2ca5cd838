// The DOM pass's internals, shared by its three files: dom_masker.cc (MaskEvent, event
// dispatch, Input, CSS rules, plugins), snapshot_walk.cc (node trees, attributes, blocking)
// and mutation.cc (incremental mutations, removal, re-evaluation). Private to scrubd_dom;
// one Masker per MaskEvent call, not thread-safe (callers hold the window's Lease).
#pragma once

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dom/css.h"
#include "dom/dom_masker.h"
#include "dom/schema.h"

namespace scrubd::dom::masker_internal {

namespace json = boost::json;
using policies::CompiledSelectors;
using policies::MaskingPolicy;

constexpr int kMaxDepth = 1000;         // deeper subtrees are masked as unknown, not walked
constexpr int kMaxAncestorWalk = 4096;  // cycle guard for parent chains from hostile ids

// ---------- text helpers ----------

inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

inline TagKind ClassifyTag(std::string_view t) {
  if (t == "input") return TagKind::kInput;
  if (t == "textarea") return TagKind::kTextarea;
  if (t == "select") return TagKind::kSelect;
  if (t == "option" || t == "optgroup" || t == "datalist") return TagKind::kOption;
  if (t == "style") return TagKind::kStyle;
  if (t == "script") return TagKind::kScript;
  if (t == "img") return TagKind::kImg;
  if (t == "video") return TagKind::kVideo;
  if (t == "audio") return TagKind::kAudio;
  if (t == "source") return TagKind::kSource;
  if (t == "canvas") return TagKind::kCanvas;
  if (t == "track") return TagKind::kTrack;
  if (t == "picture") return TagKind::kPicture;
  if (t == "image") return TagKind::kSvgImage;
  return TagKind::kOther;
}

// An rrweb attribute value as selectors see it: null means removed, any non-string means present.
inline std::optional<std::string_view> AttributeValue(const json::value& v) {
  if (v.is_string()) return std::string_view(v.get_string());
  if (v.is_null()) return std::nullopt;
  return std::string_view();
}

// A value at a text or attribute position that the replay would render as text: strings, and
// numbers and bools (rrweb sets them with String(v)), which are masked as their text.
inline bool IsTextual(const json::value& v) {
  return v.is_string() || v.is_number() || v.is_bool();
}

inline bool IsFormField(TagKind t) {
  return t == TagKind::kInput || t == TagKind::kTextarea || t == TagKind::kSelect;
}

// Attributes rrweb needs to lay out and replay an element, never masked or stripped from a
// blocked placeholder (they carry no user text by construction, or are CSS).
inline bool IsStructuralAttribute(std::string_view name) {
  return name == "class" || name == "id" || name == "style" || name == "_cssText" ||
         name == "rr_width" || name == "rr_height" || name == "rr_left" || name == "rr_top" ||
         name == "rr_position" || name == "rr_scrollLeft" || name == "rr_scrollTop";
}

inline bool IsMediaAttribute(TagKind tag, std::string_view name) {
  switch (tag) {
    case TagKind::kImg: return name == "src" || name == "srcset" || name == "rr_dataurl";
    case TagKind::kVideo:
    case TagKind::kAudio: return name == "src" || name == "poster" || name == "rr_src";
    case TagKind::kSource:
    case TagKind::kPicture:
    case TagKind::kTrack: return name == "src" || name == "srcset";
    case TagKind::kCanvas: return name == "rr_dataurl";
    case TagKind::kSvgImage: return name == "href" || name == "xlink:href";
    default: return false;
  }
}

inline std::optional<uint32_t> NodeId(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  int64_t id;
  if (v->is_int64()) {
    id = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= 0xFFFFFFFFull) {
    id = static_cast<int64_t>(v->get_uint64());
  } else if (v->is_double() && v->get_double() >= 1 && v->get_double() < 4294967296.0 &&
             v->get_double() == static_cast<double>(static_cast<int64_t>(v->get_double()))) {
    id = static_cast<int64_t>(v->get_double());
  } else {
    return std::nullopt;
  }
  if (id < 1 || id > 0xFFFFFFFFll) return std::nullopt;
  return static_cast<uint32_t>(id);
}

inline std::optional<uint32_t> NodeId(const json::object& o, std::string_view key) {
  return NodeId(o.if_contains(key));
}

// ---------- the pass ----------

class Masker {
 public:
  Masker(const MaskingPolicy& policy, const CompiledSelectors& sel, WindowState& st,
         rules::RedactionCounts* counts, Deadline* deadline)
      : p_(policy), sel_(sel), st_(st), counts_(counts), deadline_(deadline) {}

  Verdict Event(json::object& event);

 private:
  void Count(const char* rule, const char* method) {
    if (counts_ == nullptr) return;
    ++counts_->by_rule[rule];
    ++counts_->by_method[method];
  }

  // Flags inherited by a child of a node with `pf`; `parent_known` false = fail closed.
  uint32_t Inherit(uint32_t pf, bool parent_known) const {
    if (!parent_known || (pf & nf::kUnknownAncestry))
      return nf::kUnknownAncestry | nf::kMasked | nf::kInputMasked;
    return pf & nf::kMasked;
  }
  uint32_t RootFlags() const { return p_.mask_all_text ? nf::kMasked : 0; }

  // Derives the selector-dependent flags of an element whose own entry (kind, tag, atoms,
  // input bits) is `base`, whose parent has `pf`, and whose atom chain ends with itself.
  uint32_t DeriveElement(uint32_t base, uint32_t pf, bool parent_known,
                         std::span<const uint64_t> chain) const {
    uint32_t f = base & (nf::kKindMask | nf::kTagMask | nf::kHasAtoms | nf::kPassword |
                         nf::kInputMasked | nf::kStateOnly);
    uint32_t inh = Inherit(pf, parent_known);
    f |= inh;
    if (sel_.Matches(MaskingPolicy::kBlockList, chain)) f |= nf::kSelfBlock;
    if (sel_.Matches(MaskingPolicy::kMaskList, chain)) f |= nf::kSelfMask;
    if (sel_.Matches(MaskingPolicy::kUnmaskList, chain)) f |= nf::kSelfUnmask;
    if ((f & nf::kSelfUnmask) && !(inh & nf::kUnknownAncestry)) {
      f &= ~nf::kMasked;
    } else if (f & nf::kSelfMask) {
      f |= nf::kMasked;
    }
    TagKind tag = GetTag(f);
    if (tag == TagKind::kOption) {
      TagKind ptag = GetTag(pf);
      if (!parent_known ||
          ((ptag == TagKind::kSelect || ptag == TagKind::kOption) && (pf & nf::kInputMasked)))
        f |= nf::kInputMasked;
      else if (!(inh & nf::kUnknownAncestry))
        f &= ~nf::kInputMasked;
    }
    return f;
  }

  uint32_t DeriveText(uint32_t pf, bool parent_known, bool is_style) const {
    uint32_t f = nf::kKindText | Inherit(pf, parent_known);
    TagKind ptag = GetTag(pf);
    if (is_style || ptag == TagKind::kStyle || ptag == TagKind::kScript) f |= nf::kStyleText;
    if ((ptag == TagKind::kTextarea || ptag == TagKind::kOption || ptag == TagKind::kSelect) &&
        (pf & nf::kInputMasked))
      f |= nf::kInputMasked;
    return f;
  }

  uint32_t InputBits(TagKind tag, std::string_view type, bool password_attr, uint32_t old) const {
    uint32_t f = old & nf::kPassword;
    if (password_attr && IsFormField(tag)) f |= nf::kPassword | nf::kInputMasked;
    if (tag == TagKind::kInput) {
      if (type == "password" || password_attr) f |= nf::kPassword;
      if ((f & nf::kPassword) || p_.MasksInputType(type)) f |= nf::kInputMasked;
      if (type == "checkbox" || type == "radio") f |= nf::kStateOnly;
    } else if (tag == TagKind::kTextarea) {
      if (p_.MasksInputType("textarea")) f |= nf::kInputMasked;
    } else if (tag == TagKind::kSelect) {
      if (p_.MasksInputType("select")) f |= nf::kInputMasked;
    }
    return f;
  }

  // True when `name=val` marks a form field as sensitive (key-based detection).
  bool SensitiveFieldAttribute(std::string_view name, std::optional<std::string_view> val) const {
    return val && (name == "name" || name == "id" || name == "autocomplete") && p_.sensitive_key &&
           p_.sensitive_key(*val);
  }

  static bool TextMasked(uint32_t f) {
    return (f & (nf::kMasked | nf::kInputMasked)) && !(f & nf::kStyleText);
  }

  // CSS (style text, `_cssText`, rule events) inside a masked region: its strings, urls and
  // comments are masked, its syntax and selectors kept.
  static bool CssMasked(uint32_t f) { return f & (nf::kMasked | nf::kUnknownAncestry); }
  void MaskCss(json::value& v) {
    if (!v.is_string()) return;
    std::string css(v.get_string());
    if (MaskCssParts(css)) {
      v = css;
      Count("dom.mask_css", "mask");
    }
  }
  Verdict CssRules(json::object& data);

  void MaskString(json::value& v, bool input, const char* rule) {
    if (!IsTextual(v)) return;
    if (!v.is_string()) v = json::serialize(v);  // a number or bool: masked as its text
    json::string& s = v.as_string();
    std::string masked = input ? MaskInputValue(s) : MaskTextValue(s);
    if (masked != std::string_view(s)) s = masked;
    Count(rule, "mask");
  }

  // Flags of a region nothing is known about: everything in it masks.
  static constexpr uint32_t kUnknownRegion = nf::kUnknownAncestry | nf::kMasked | nf::kInputMasked;

  // The unknown fields (dom/schema.h) of `o`, an object in a region with flags `f`: null is
  // kept; a value that is no string, number or bool, or any value in a blocked element, is
  // dropped; text is masked in masked, input-masked and unknown regions and left to the
  // detectors elsewhere. Counted `dom.unknown_field`.
  template <class Known>
  void UnknownFields(json::object& o, const Known& known, uint32_t f) {
    for (auto it = o.begin(); it != o.end();) {
      json::value& v = it->value();
      if (known(it->key()) || v.is_null()) {
        ++it;
        continue;
      }
      if (!IsTextual(v) || (f & nf::kSelfBlock)) {
        it = o.erase(it);
        Count("dom.unknown_field", "drop");
        continue;
      }
      if (f & (nf::kMasked | nf::kUnknownAncestry | nf::kInputMasked))
        MaskString(v, (f & nf::kInputMasked) && !(f & nf::kMasked), "dom.unknown_field");
      ++it;
    }
  }
  void UnknownNodeFields(json::object& node, int64_t type, uint32_t f) {
    UnknownFields(
        node, [type](std::string_view k) { return KnownNodeField(type, k); }, f);
  }
  // A known field holding a value of a type rrweb never writes there is dropped.
  void DropIfNot(json::object& o, std::string_view key, bool (*expected)(const json::value&)) {
    json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null() || expected(*v)) return;
    o.erase(key);
    Count("dom.unknown_field", "drop");
  }
  // The region flags of the live node `id` names, or of an unknown region.
  uint32_t RegionOf(std::optional<uint32_t> id) const {
    const WindowState::Node* n = id ? Live(*id) : nullptr;
    return n == nullptr ? kUnknownRegion : n->flags;
  }
  void UnknownItemFields(json::array* items, MutationList list, const char* region_key) {
    if (items == nullptr) return;
    for (json::value& item : *items) {
      json::object* o = item.if_object();
      if (o == nullptr) continue;
      uint32_t f = region_key ? RegionOf(NodeId(*o, region_key)) : kUnknownRegion;
      UnknownFields(
          *o, [list](std::string_view k) { return KnownMutationItemField(list, k); }, f);
    }
  }

  // Builds the atom chain of `id`'s element ancestors (outermost first), `id` included when
  // it is an element. Stops at unknown ids.
  void BuildChain(uint32_t id, std::vector<uint64_t>& chain) const {
    chain.clear();
    for (int steps = 0; id != 0 && steps < kMaxAncestorWalk; ++steps) {
      const WindowState::Node* n = st_.Find(id);
      if (n == nullptr) break;
      if ((n->flags & nf::kKindMask) == nf::kKindElement)
        chain.push_back((n->flags & nf::kHasAtoms) ? st_.Atoms(id) : 0);
      id = n->parent;
    }
    std::reverse(chain.begin(), chain.end());
  }

  void MaskAttributes(json::object& attrs, uint32_t f, TagKind tag);
  void BlockElement(json::object& node, uint32_t id);
  void MarkDropped(json::value& node, uint32_t parent, int depth);
  void Walk(json::value& v, uint32_t parent_id, uint32_t pf, bool parent_known, int depth);

  Verdict FullSnapshot(json::object& data);
  Verdict Mutation(json::object& data);
  Verdict Input(json::object& data);
  Verdict Plugin(json::object& data);

  // Mutation helpers.
  void Remove(const std::vector<uint32_t>& roots);
  void Sweep();
  const WindowState::Node* Live(uint32_t id) const;
  bool ApplyAttributeState(uint32_t id, const json::object& attrs);
  void Reevaluate(const std::vector<uint32_t>& roots, json::array* removes);
  void ProcessAdds(json::array& adds);

  const MaskingPolicy& p_;
  const CompiledSelectors& sel_;
  WindowState& st_;
  rules::RedactionCounts* counts_;
  Deadline* deadline_;  // null: unlimited
  std::vector<uint64_t> chain_;

  bool OutOfTime() { return deadline_ != nullptr && deadline_->Expired(); }
};

}  // namespace scrubd::dom::masker_internal
