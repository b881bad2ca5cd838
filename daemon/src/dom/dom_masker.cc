#include "dom/dom_masker.h"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dom/css.h"
#include "dom/schema.h"

namespace scrubd::dom {
namespace {

namespace json = boost::json;
using policies::CompiledSelectors;
using policies::MaskingPolicy;

constexpr int kMaxDepth = 1000;         // deeper subtrees are masked as unknown, not walked
constexpr int kMaxAncestorWalk = 4096;  // cycle guard for parent chains from hostile ids

// ---------- text helpers ----------

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

TagKind ClassifyTag(std::string_view t) {
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
std::optional<std::string_view> AttributeValue(const json::value& v) {
  if (v.is_string()) return std::string_view(v.get_string());
  if (v.is_null()) return std::nullopt;
  return std::string_view();
}

// A value at a text or attribute position that the replay would render as text: strings, and
// numbers and bools (rrweb sets them with String(v)), which are masked as their text.
bool IsTextual(const json::value& v) { return v.is_string() || v.is_number() || v.is_bool(); }

bool IsFormField(TagKind t) {
  return t == TagKind::kInput || t == TagKind::kTextarea || t == TagKind::kSelect;
}

// Attributes rrweb needs to lay out and replay an element, never masked or stripped from a
// blocked placeholder (they carry no user text by construction, or are CSS).
bool IsStructuralAttribute(std::string_view name) {
  return name == "class" || name == "id" || name == "style" || name == "_cssText" ||
         name == "rr_width" || name == "rr_height" || name == "rr_left" || name == "rr_top" ||
         name == "rr_position" || name == "rr_scrollLeft" || name == "rr_scrollTop";
}

bool IsMediaAttribute(TagKind tag, std::string_view name) {
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

std::optional<uint32_t> NodeId(const json::value* v) {
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

std::optional<uint32_t> NodeId(const json::object& o, std::string_view key) {
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
    uint32_t f =
        base & (nf::kKindMask | nf::kTagMask | nf::kHasAtoms | nf::kPassword | nf::kInputMasked);
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

void Masker::MaskAttributes(json::object& attrs, uint32_t f, TagKind tag) {
  const bool masked_region = f & (nf::kMasked | nf::kUnknownAncestry);
  for (auto it = attrs.begin(); it != attrs.end();) {
    // HTML attribute names are case-insensitive: rules compare the lower-cased name;
    // structural names are kept only when spelt exactly as rrweb does.
    std::string_view raw = it->key();
    const std::string name = ToLower(raw);
    json::value& v = it->value();
    if (p_.block_media && IsMediaAttribute(tag, name)) {
      it = attrs.erase(it);
      Count("dom.media", "remove");
      continue;
    }
    if ((name == "_csstext" || name == "style") && masked_region) MaskCss(v);
    if (IsTextual(v) && !IsStructuralAttribute(raw)) {
      if (name == "value" && (f & nf::kInputMasked) &&
          (IsFormField(tag) || tag == TagKind::kOption || (f & nf::kUnknownAncestry))) {
        MaskString(v, /*input=*/true, "dom.input");
      } else if (masked_region && p_.MasksAttribute(name)) {
        MaskString(v, /*input=*/false, "dom.attribute");
      }
    }
    ++it;
  }
}

void Masker::MarkDropped(json::value& v, uint32_t parent, int depth) {
  json::object* node = v.if_object();
  if (node == nullptr || depth > kMaxDepth) return;
  auto id = NodeId(*node, "id");
  if (id) st_.Put(*id, WindowState::Node{parent, nf::kDropped});
  if (json::array* kids =
          node->if_contains("childNodes") ? (*node)["childNodes"].if_array() : nullptr) {
    for (auto& k : *kids) MarkDropped(k, id.value_or(parent), depth + 1);
  }
}

// Keeps the element as an empty placeholder: tag, structural attributes (rr_width/rr_height
// so the replayer sizes the box), no children.
void Masker::BlockElement(json::object& node, uint32_t id) {
  if (json::object* attrs =
          node.if_contains("attributes") ? node["attributes"].if_object() : nullptr) {
    for (auto it = attrs->begin(); it != attrs->end();) {
      if (IsStructuralAttribute(it->key())) {
        ++it;
      } else {
        it = attrs->erase(it);
      }
    }
  }
  if (json::array* kids =
          node.if_contains("childNodes") ? node["childNodes"].if_array() : nullptr) {
    for (auto& k : *kids) MarkDropped(k, id, 1);
    kids->clear();
  }
  Count("dom.block", "remove");
}

void Masker::Walk(json::value& v, uint32_t parent_id, uint32_t pf, bool parent_known, int depth) {
  json::object* node = v.if_object();
  if (node == nullptr || OutOfTime()) return;
  if (depth > kMaxDepth) {  // too deep to walk safely: drop the subtree, keep the node
    if (json::array* kids =
            node->if_contains("childNodes") ? (*node)["childNodes"].if_array() : nullptr)
      kids->clear();
    Count("dom.block", "remove");
    return;
  }
  auto id = NodeId(*node, "id");
  if (!id) {
    Count("dom.unknown_id", "mask");
    parent_known = false;  // untracked node: its content masks as unknown
  }
  int64_t type = -1;
  if (const json::value* t = node->if_contains("type"); t && t->is_int64()) type = t->get_int64();

  if (type == 2) {  // Element
    std::string tag;
    if (const json::value* t = node->if_contains("tagName"); t && t->is_string())
      tag = ToLower(t->get_string());
    TagKind kind = ClassifyTag(tag);
    json::object* attrs =
        node->if_contains("attributes") ? (*node)["attributes"].if_object() : nullptr;
    uint64_t atoms = sel_.EvaluateTag(tag);
    std::string_view input_type = "text";
    std::string input_type_lower;
    bool password_attr = false;
    if (attrs != nullptr) {
      for (const auto& kv : *attrs) {
        const std::string name = ToLower(kv.key());
        std::optional<std::string_view> val = AttributeValue(kv.value());
        atoms = sel_.UpdateAttribute(atoms, name, val);
        if (kind == TagKind::kInput && name == "type" && val) {
          input_type_lower = ToLower(*val);
          input_type = input_type_lower;
        }
        if (name == "data-rr-is-password") password_attr = true;
        if (IsFormField(kind) && SensitiveFieldAttribute(name, val)) {
          password_attr = true;  // sticky like a password: masked whatever its type
          Count("dom.sensitive_field", "mask");
        }
      }
    }
    uint32_t base = nf::kKindElement | TagFlags(kind) | (atoms ? nf::kHasAtoms : 0) |
                    InputBits(kind, input_type, password_attr, 0);
    chain_.push_back(atoms);
    uint32_t f = DeriveElement(base, pf, parent_known, chain_);
    if (id) {
      st_.Put(*id, WindowState::Node{parent_id, f});
      if (atoms) st_.SetAtoms(*id, atoms);
    }
    if (f & nf::kSelfBlock) {
      BlockElement(*node, id.value_or(0));
    } else {
      if (attrs != nullptr) MaskAttributes(*attrs, f, kind);
      if (json::array* kids =
              node->if_contains("childNodes") ? (*node)["childNodes"].if_array() : nullptr) {
        for (auto& k : *kids) Walk(k, id.value_or(0), f, id.has_value(), depth + 1);
      }
    }
    chain_.pop_back();
    return;
  }

  if (type == 3) {  // Text
    bool is_style = false;
    if (const json::value* s = node->if_contains("isStyle"); s && s->is_bool())
      is_style = s->get_bool();
    uint32_t f = DeriveText(pf, parent_known, is_style);
    if (id) st_.Put(*id, WindowState::Node{parent_id, f});
    if (TextMasked(f)) {
      if (json::value* tc = node->if_contains("textContent"))
        MaskString(*tc, (f & nf::kInputMasked) && !(f & nf::kMasked), "dom.mask_text");
    } else if ((f & nf::kStyleText) && CssMasked(f) && GetTag(pf) != TagKind::kScript) {
      if (json::value* tc = node->if_contains("textContent")) MaskCss(*tc);
    }
    return;
  }

  // Document (0), DocumentType (1), CDATA (4), Comment (5), unknown types.
  uint32_t f =
      nf::kKindOther | (parent_id == 0 && parent_known ? RootFlags() : Inherit(pf, parent_known));
  if (id) st_.Put(*id, WindowState::Node{parent_id, f});
  if ((type == 4 || type == 5) && (f & nf::kMasked)) {
    if (json::value* tc = node->if_contains("textContent")) MaskString(*tc, false, "dom.mask_text");
  }
  if (json::array* kids =
          node->if_contains("childNodes") ? (*node)["childNodes"].if_array() : nullptr) {
    for (auto& k : *kids) Walk(k, id.value_or(0), f, id.has_value(), depth + 1);
  }
}

Verdict Masker::FullSnapshot(json::object& data) {
  st_.Clear();
  st_.set_policy_fingerprint(sel_.fingerprint());
  st_.set_has_snapshot(true);
  json::value* node = data.if_contains("node");
  if (node == nullptr || !node->is_object()) {
    Count("dom.invalid", "drop");
    return Verdict::kDrop;  // undecoded (cv string) or malformed: nothing we can vouch for
  }
  chain_.clear();
  Walk(*node, 0, RootFlags(), true, 0);
  return Verdict::kKeep;
}

// Removal is lazy: a removed element's entry goes at once, its descendants stay as orphans
// (their parent chain ends at a missing id without kUnknownAncestry) until a sweep. Live()
// treats orphans as unknown, so a stale entry can only ever mask more.
void Masker::Remove(const std::vector<uint32_t>& roots) {
  for (uint32_t r : roots) {
    const WindowState::Node* n = st_.Find(r);
    if (n == nullptr) continue;
    bool leaf = (n->flags & nf::kKindMask) == nf::kKindText;
    st_.Erase(r);
    if (!leaf) st_.set_garbage(st_.garbage() + 1);
  }
  if (st_.garbage() > std::max<size_t>(256, st_.size() / 8)) Sweep();
}

const WindowState::Node* Masker::Live(uint32_t id) const {
  const WindowState::Node* n = st_.Find(id);
  const WindowState::Node* cur = n;
  for (int steps = 0; cur != nullptr && steps < kMaxAncestorWalk; ++steps) {
    if (cur->parent == 0) return n;
    const WindowState::Node* p = st_.Find(cur->parent);
    if (p == nullptr) return (cur->flags & nf::kUnknownAncestry) ? n : nullptr;
    cur = p;
  }
  return nullptr;  // unknown, or a parent cycle: fail closed
}

void Masker::Sweep() {
  // Classifies every node once by walking up to the first classified ancestor (path
  // compression through two scratch flag bits, never persisted): O(nodes).
  constexpr uint32_t kDone = 1u << 30;
  constexpr uint32_t kDoomed = 1u << 31;
  std::vector<WindowState::Node*> path;
  st_.ForEach([&](uint32_t, WindowState::Node& n) {
    if (n.flags & kDone) return;
    path.clear();
    WindowState::Node* cn = &n;
    uint32_t result = kDoomed;  // a parent cycle is garbage too
    for (int steps = 0; steps < kMaxAncestorWalk; ++steps) {
      if (cn->flags & kDone) {
        result = cn->flags & kDoomed;
        break;
      }
      path.push_back(cn);
      if (cn->parent == 0) {
        result = 0;
        break;
      }
      WindowState::Node* p = st_.FindMutable(cn->parent);
      if (p == nullptr) {
        result = (cn->flags & nf::kUnknownAncestry) ? 0 : kDoomed;
        break;
      }
      cn = p;
    }
    for (WindowState::Node* p : path) p->flags |= kDone | result;
  });
  std::vector<uint32_t> doomed;
  st_.ForEach([&](uint32_t id, WindowState::Node& n) {
    if (n.flags & kDoomed) doomed.push_back(id);
    n.flags &= ~(kDone | kDoomed);
  });
  for (uint32_t id : doomed) st_.Erase(id);
  st_.set_garbage(0);
}

// Updates atoms and input bits of element `id` for an attribute mutation. Returns true when
// the subtree must be re-evaluated.
bool Masker::ApplyAttributeState(uint32_t id, const json::object& attrs) {
  WindowState::Node* n = Live(id) ? st_.FindMutable(id) : nullptr;
  if (n == nullptr || (n->flags & nf::kKindMask) != nf::kKindElement || (n->flags & nf::kDropped))
    return false;
  TagKind tag = GetTag(n->flags);
  uint64_t old_atoms = (n->flags & nf::kHasAtoms) ? st_.Atoms(id) : 0;
  uint64_t atoms = old_atoms;
  uint32_t old_flags = n->flags;
  uint32_t flags = n->flags;
  for (const auto& kv : attrs) {
    const std::string name = ToLower(kv.key());
    std::optional<std::string_view> val = AttributeValue(kv.value());
    atoms = sel_.UpdateAttribute(atoms, name, val);
    if (tag == TagKind::kInput && name == "type") {
      std::string type = val ? ToLower(*val) : "text";
      uint32_t bits = InputBits(tag, type, false, flags);
      flags = (flags & ~nf::kInputMasked) | bits |
              (flags & nf::kUnknownAncestry ? nf::kInputMasked : 0);
    }
    if (name == "data-rr-is-password" && val && tag == TagKind::kInput)
      flags |= nf::kPassword | nf::kInputMasked;
    if (IsFormField(tag) && SensitiveFieldAttribute(name, val))
      flags |= nf::kPassword | nf::kInputMasked;
  }
  n->flags = flags;
  if (atoms != old_atoms) st_.SetAtoms(id, atoms);
  return atoms != old_atoms || (flags & nf::kInputMasked) != (old_flags & nf::kInputMasked);
}

// Recomputes selector-dependent flags for the subtrees under `roots` (parents first). An
// element that becomes blocked gets `removes` entries for its current children, which are
// marked dropped.
void Masker::Reevaluate(const std::vector<uint32_t>& roots, json::array* removes) {
  if (roots.empty()) return;
  auto drop_subtree = [&](uint32_t root) {
    std::vector<uint32_t> stack{root};
    while (!stack.empty()) {
      uint32_t cur = stack.back();
      stack.pop_back();
      st_.ForEachChild(cur, [&](uint32_t kid) {
        WindowState::Node* c = st_.FindMutable(kid);
        if (c == nullptr || (c->flags & nf::kDropped)) return;
        c->flags = nf::kDropped | nf::kPresent;
        st_.SetAtoms(kid, 0);
        stack.push_back(kid);
      });
    }
  };

  std::unordered_set<uint32_t> visited;
  std::vector<uint64_t> chain;
  for (uint32_t root : roots) {
    if (visited.count(root)) continue;
    // DFS with explicit stack; each frame carries the chain length to restore.
    struct Frame {
      uint32_t id;
      size_t chain_len;
    };
    const WindowState::Node* rn = st_.Find(root);
    if (rn == nullptr || (rn->flags & nf::kDropped)) continue;
    BuildChain(rn->parent, chain);
    std::vector<Frame> stack{{root, chain.size()}};
    while (!stack.empty()) {
      if (OutOfTime()) return;
      Frame fr = stack.back();
      stack.pop_back();
      if (!visited.insert(fr.id).second) continue;
      chain.resize(fr.chain_len);
      WindowState::Node* n = st_.FindMutable(fr.id);
      if (n == nullptr || (n->flags & nf::kDropped)) continue;
      const WindowState::Node* parent = n->parent ? st_.Find(n->parent) : nullptr;
      bool parent_known = n->parent == 0 || parent != nullptr;
      uint32_t pf = parent ? parent->flags : RootFlags();
      uint32_t kind = n->flags & nf::kKindMask;
      uint32_t old = n->flags;
      if (kind == nf::kKindElement) {
        chain.push_back((old & nf::kHasAtoms) ? st_.Atoms(fr.id) : 0);
        uint32_t f = DeriveElement(old, pf, parent_known, chain) | nf::kPresent;
        n->flags = f;
        if ((f & nf::kSelfBlock) && !(old & nf::kSelfBlock)) {
          st_.ForEachChild(fr.id, [&](uint32_t kid) {
            const WindowState::Node* c = st_.Find(kid);
            if (c == nullptr || (c->flags & nf::kDropped) || removes == nullptr) return;
            json::object r;
            r["parentId"] = static_cast<int64_t>(fr.id);
            r["id"] = static_cast<int64_t>(kid);
            removes->push_back(std::move(r));
          });
          drop_subtree(fr.id);
          Count("dom.block", "remove");
          continue;
        }
        if (f & nf::kSelfBlock) continue;  // still blocked: children already dropped
      } else if (kind == nf::kKindText) {
        n->flags = DeriveText(pf, parent_known, old & nf::kStyleText) | nf::kPresent;
        continue;
      } else {
        n->flags = (old & (nf::kKindMask | nf::kPresent)) |
                   (n->parent == 0 ? RootFlags() : Inherit(pf, parent_known));
      }
      st_.ForEachChild(fr.id, [&](uint32_t kid) { stack.push_back({kid, chain.size()}); });
    }
  }
}

void Masker::ProcessAdds(json::array& adds) {
  std::unordered_set<uint32_t> add_ids;
  for (auto& a : adds) {
    if (json::object* o = a.if_object()) {
      if (json::value* nd = o->if_contains("node"); nd && nd->is_object())
        if (auto id = NodeId(nd->as_object(), "id")) add_ids.insert(*id);
    }
  }
  std::vector<char> done(adds.size(), 0), drop(adds.size(), 0);
  std::unordered_map<uint32_t, std::vector<size_t>> waiting;
  std::vector<uint32_t> moved;

  auto process = [&](size_t i) {
    done[i] = 1;
    json::object* o = adds[i].if_object();
    if (o == nullptr) {
      drop[i] = 1;
      return std::optional<uint32_t>();
    }
    json::value* nd = o->if_contains("node");
    if (nd == nullptr || !nd->is_object()) {
      drop[i] = 1;
      return std::optional<uint32_t>();
    }
    auto pid = NodeId(*o, "parentId");
    auto nid = NodeId(nd->as_object(), "id");
    const WindowState::Node* pn = pid ? Live(*pid) : nullptr;
    if (pn != nullptr && (pn->flags & (nf::kDropped | nf::kSelfBlock))) {
      MarkDropped(*nd, *pid, 0);
      drop[i] = 1;
      return nid;
    }
    if (nid && st_.Find(*nid) != nullptr) moved.push_back(*nid);
    if (pn != nullptr) {
      BuildChain(*pid, chain_);
      Walk(*nd, *pid, pn->flags, true, 0);
    } else {
      Count("dom.unknown_id", "mask");
      chain_.clear();
      Walk(*nd, pid.value_or(0), 0, false, 0);
    }
    return nid;
  };

  for (size_t i = 0; i < adds.size(); ++i) {
    if (done[i]) continue;
    std::optional<uint32_t> pid;
    if (json::object* o = adds[i].if_object()) pid = NodeId(*o, "parentId");
    if (pid && Live(*pid) == nullptr && add_ids.count(*pid)) {
      waiting[*pid].push_back(i);  // its parent arrives later in this same list
      continue;
    }
    std::vector<size_t> work{i};
    while (!work.empty()) {
      size_t j = work.back();
      work.pop_back();
      if (done[j]) continue;
      auto nid = process(j);
      if (nid) {
        auto it = waiting.find(*nid);
        if (it != waiting.end()) {
          for (size_t k : it->second) work.push_back(k);
          waiting.erase(it);
        }
      }
    }
  }
  for (size_t i = 0; i < adds.size(); ++i)  // cycles or parents that never came: fail closed
    if (!done[i]) process(i);

  if (!moved.empty()) Reevaluate(moved, nullptr);
  if (std::find(drop.begin(), drop.end(), 1) != drop.end()) {
    json::array kept;
    kept.reserve(adds.size());
    for (size_t i = 0; i < adds.size(); ++i)
      if (!drop[i]) kept.push_back(std::move(adds[i]));
    adds = std::move(kept);
  }
}

Verdict Masker::Mutation(json::object& data) {
  static constexpr std::string_view kFields[] = {"texts", "attributes", "removes", "adds"};
  json::array empty;
  json::array* arr[4];
  for (int i = 0; i < 4; ++i) {
    json::value* v = data.if_contains(kFields[i]);
    if (v != nullptr && v->is_string()) {  // still cv-encoded: cannot inspect, fail closed
      Count("dom.undecoded", "drop");
      return Verdict::kDrop;
    }
    arr[i] = v != nullptr && v->is_array() ? &v->as_array() : nullptr;
  }
  json::array* texts = arr[0];
  json::array* attributes = arr[1];
  json::array* removes = arr[2];
  json::array* adds = arr[3];

  // 1. removes
  if (removes != nullptr) {
    std::vector<uint32_t> roots;
    json::array kept;
    bool changed = false;
    for (auto& r : *removes) {
      json::object* o = r.if_object();
      auto id = o ? NodeId(*o, "id") : std::nullopt;
      const WindowState::Node* n = id ? st_.Find(*id) : nullptr;
      if (n != nullptr) roots.push_back(*id);
      if (n != nullptr && (n->flags & nf::kDropped)) {
        changed = true;  // never reached the replay
        continue;
      }
      kept.push_back(r);
    }
    if (changed) *removes = std::move(kept);
    Remove(roots);
  }

  // 2. selector-relevant attribute changes on known nodes, before adds are placed under them
  std::vector<char> applied(attributes ? attributes->size() : 0, 0);
  if (attributes != nullptr) {
    std::vector<uint32_t> roots;
    for (size_t i = 0; i < attributes->size(); ++i) {
      json::object* o = (*attributes)[i].if_object();
      if (o == nullptr) continue;
      auto id = NodeId(*o, "id");
      json::value* av = o->if_contains("attributes");
      if (!id || av == nullptr || !av->is_object() || Live(*id) == nullptr) continue;
      applied[i] = 1;
      if (ApplyAttributeState(*id, av->as_object())) roots.push_back(*id);
    }
    if (!roots.empty()) {
      if (removes == nullptr) {
        data["removes"] = json::array();
        removes = &data["removes"].as_array();
        // data may have rehashed: refresh the other pointers
        texts = data.if_contains("texts") && data["texts"].is_array() ? &data["texts"].as_array()
                                                                      : nullptr;
        attributes = &data["attributes"].as_array();
        adds = data.if_contains("adds") && data["adds"].is_array() ? &data["adds"].as_array()
                                                                   : nullptr;
      }
      Reevaluate(roots, removes);
    }
  }

  // 3. adds
  if (adds != nullptr) ProcessAdds(*adds);

  // 4. attribute state for nodes created by this mutation's adds
  if (attributes != nullptr) {
    std::vector<uint32_t> roots;
    for (size_t i = 0; i < attributes->size(); ++i) {
      if (applied[i]) continue;
      json::object* o = (*attributes)[i].if_object();
      if (o == nullptr) continue;
      auto id = NodeId(*o, "id");
      json::value* av = o->if_contains("attributes");
      if (!id || av == nullptr || !av->is_object()) continue;
      if (ApplyAttributeState(*id, av->as_object())) roots.push_back(*id);
    }
    if (!roots.empty()) Reevaluate(roots, removes);
  }

  // 5. attribute values
  if (attributes != nullptr) {
    json::array kept;
    for (auto& a : *attributes) {
      json::object* o = a.if_object();
      if (o == nullptr) continue;
      auto id = NodeId(*o, "id");
      json::value* av = o->if_contains("attributes");
      if (av == nullptr || !av->is_object()) continue;
      json::object& attrs = av->as_object();
      const WindowState::Node* n = id ? Live(*id) : nullptr;
      if (n == nullptr) {
        Count("dom.unknown_id", "mask");
        MaskAttributes(attrs, nf::kUnknownAncestry | nf::kMasked | nf::kInputMasked,
                       TagKind::kOther);
      } else if (n->flags & nf::kDropped) {
        continue;
      } else if (n->flags & nf::kSelfBlock) {
        for (auto it = attrs.begin(); it != attrs.end();)
          it = IsStructuralAttribute(it->key()) ? std::next(it) : attrs.erase(it);
      } else {
        uint32_t f = n->flags;
        TagKind tag = GetTag(f);
        if (p_.block_media) {  // removal of a media attribute is expressed as null
          for (auto& kv : attrs) {
            if (IsMediaAttribute(tag, ToLower(kv.key())) && !kv.value().is_null()) {
              kv.value() = nullptr;
              Count("dom.media", "remove");
            }
          }
        }
        for (auto& kv : attrs) {
          const std::string name = ToLower(kv.key());
          if ((name == "_csstext" || name == "style") && CssMasked(f)) MaskCss(kv.value());
          if (!IsTextual(kv.value()) || IsStructuralAttribute(kv.key())) continue;
          if (name == "value" && (f & nf::kInputMasked) &&
              (IsFormField(tag) || tag == TagKind::kOption)) {
            MaskString(kv.value(), true, "dom.input");
          } else if ((f & (nf::kMasked | nf::kUnknownAncestry)) && p_.MasksAttribute(name)) {
            MaskString(kv.value(), false, "dom.attribute");
          }
        }
      }
      kept.push_back(std::move(a));
    }
    *attributes = std::move(kept);
  }

  // 6. texts
  if (texts != nullptr) {
    json::array kept;
    for (auto& t : *texts) {
      json::object* o = t.if_object();
      if (o == nullptr) continue;
      auto id = NodeId(*o, "id");
      const WindowState::Node* n = id ? Live(*id) : nullptr;
      json::value* val = o->if_contains("value");
      if (n == nullptr) {
        Count("dom.unknown_id", "mask");
        if (val) MaskString(*val, false, "dom.mask_text");
      } else if (n->flags & nf::kDropped) {
        continue;
      } else if ((n->flags & nf::kStyleText) && CssMasked(n->flags)) {
        const WindowState::Node* parent = st_.Find(n->parent);
        if (val && (parent == nullptr || GetTag(parent->flags) != TagKind::kScript)) MaskCss(*val);
      } else if (TextMasked(n->flags) || (n->flags & nf::kKindMask) == nf::kKindElement) {
        // texts on an element id (not what rrweb emits) are treated as masked content
        if (val && (TextMasked(n->flags) || (n->flags & nf::kKindMask) != nf::kKindText))
          MaskString(*val, false, "dom.mask_text");
      }
      kept.push_back(std::move(t));
    }
    *texts = std::move(kept);
  }
  st_.set_dirty(true);
  return Verdict::kKeep;
}

Verdict Masker::Input(json::object& data) {
  auto id = NodeId(data, "id");
  const WindowState::Node* n = id ? Live(*id) : nullptr;
  json::value* text = data.if_contains("text");
  if (n == nullptr) {
    Count("dom.unknown_id", "mask");
    if (text) MaskString(*text, true, "dom.input");
    return Verdict::kKeep;
  }
  if (n->flags & nf::kDropped) {
    Count("dom.block", "drop");
    return Verdict::kDrop;
  }
  TagKind tag = GetTag(n->flags);
  bool field = IsFormField(tag) && (n->flags & nf::kKindMask) == nf::kKindElement;
  if (text && (!field || (n->flags & (nf::kInputMasked | nf::kSelfBlock))))
    MaskString(*text, true, "dom.input");
  return Verdict::kKeep;
}

// StyleSheetRule / StyleDeclaration / AdoptedStyleSheet: rule text of a sheet owned by node
// `id` follows the owner's region. Without `id` (constructed sheets known by styleId only)
// the owner is unknown to rrweb's own model and the text is left to the detector pass.
Verdict Masker::CssRules(json::object& data) {
  const json::value* idv = data.if_contains("id");
  if (idv == nullptr) return Verdict::kKeep;
  auto id = NodeId(idv);
  const WindowState::Node* n = id ? Live(*id) : nullptr;
  if (n != nullptr && (n->flags & nf::kDropped)) {
    Count("dom.block", "drop");
    return Verdict::kDrop;
  }
  if (n == nullptr) Count("dom.unknown_id", "mask");
  if (n == nullptr || CssMasked(n->flags)) {
    ForEachCssTextField(data, [&](json::value& v) { MaskCss(v); });
  }
  return Verdict::kKeep;
}

Verdict Masker::Plugin(json::object& data) {
  std::string_view plugin;
  if (const json::value* p = data.if_contains("plugin"); p && p->is_string())
    plugin = p->get_string();
  if (plugin == "rrweb/console@1") {
    if (p_.console == policies::PluginAction::kDrop) {
      Count("dom.console", "drop");
      return Verdict::kDrop;
    }
    return Verdict::kKeep;  // strings scrubbed by the generic pass
  }
  if (plugin != "rrweb/network@1") return Verdict::kKeep;
  if (p_.network == policies::PluginAction::kDrop) {
    Count("dom.network", "drop");
    return Verdict::kDrop;
  }
  // rrweb/network@1 sends {payload: {requests: [{...}, ...]}}; any other shape could hide
  // headers or bodies from the rules below: dropped.
  json::value* payload = data.if_contains("payload");
  json::array* requests = nullptr;
  if (payload && payload->is_object()) {
    if (json::value* r = payload->as_object().if_contains("requests"); r && r->is_array())
      requests = &r->as_array();
  }
  bool shape_ok = requests != nullptr;
  for (size_t i = 0; shape_ok && i < requests->size(); ++i) {
    const json::object* o = (*requests)[i].if_object();
    shape_ok = o != nullptr;
    for (const char* hk : {"requestHeaders", "responseHeaders"}) {
      const json::value* h = shape_ok ? o->if_contains(hk) : nullptr;
      if (h != nullptr && !h->is_object() && !h->is_null()) shape_ok = false;
    }
  }
  if (!shape_ok) {
    Count("dom.network_invalid", "drop");
    return Verdict::kDrop;
  }
  auto always = [&](std::string_view lower) {
    if (lower == "authorization" || lower == "cookie" || lower == "set-cookie" ||
        lower == "x-api-key" || lower == "proxy-authorization")
      return true;
    return std::find(p_.redact_headers.begin(), p_.redact_headers.end(), lower) !=
           p_.redact_headers.end();
  };
  for (auto& rq : *requests) {
    json::object* o = rq.if_object();
    for (const char* hk : {"requestHeaders", "responseHeaders"}) {
      json::value* h = o->if_contains(hk);
      if (h == nullptr || !h->is_object()) continue;
      for (auto& kv : h->as_object()) {
        if (always(ToLower(kv.key())) &&
            !(kv.value().is_string() && kv.value().get_string() == "[REDACTED]")) {
          kv.value() = "[REDACTED]";
          Count("dom.network_header", "replace");
        }
      }
    }
    if (p_.network_bodies == policies::PluginAction::kDrop) {
      for (const char* bk : {"requestBody", "responseBody"}) {
        json::value* b = o->if_contains(bk);
        if (b != nullptr && !b->is_null()) {
          *b = nullptr;
          Count("dom.network_body", "remove");
        }
      }
    }
  }
  return Verdict::kKeep;
}

Verdict Masker::Event(json::object& event) {
  const json::value* tv = event.if_contains("type");
  if (tv == nullptr || !tv->is_int64()) return Verdict::kKeep;
  json::value* dv = event.if_contains("data");
  int64_t type = tv->get_int64();
  if (type == 2) {
    if (dv == nullptr || !dv->is_object()) {
      Count("dom.undecoded", "drop");
      return Verdict::kDrop;
    }
    return FullSnapshot(dv->as_object());
  }
  if (dv == nullptr || !dv->is_object()) return Verdict::kKeep;
  json::object& data = dv->as_object();
  if (type == 6) return Plugin(data);
  if (type != 3) return Verdict::kKeep;
  if (st_.policy_fingerprint() != sel_.fingerprint()) {
    // State computed under another policy (reload, or a file from before an upgrade): trust
    // nothing until the next FullSnapshot; every id is unknown and masks.
    if (st_.size() > 0 || st_.has_snapshot()) st_.Clear();
    st_.set_policy_fingerprint(sel_.fingerprint());
  }
  const json::value* sv = data.if_contains("source");
  if (sv == nullptr || !sv->is_int64()) return Verdict::kKeep;
  switch (sv->get_int64()) {
    case 0: return Mutation(data);
    case 5: return Input(data);
    case 8:
    case 13:
    case 15: return CssRules(data);
    case 9:
      if (p_.block_media) {
        Count("dom.media", "drop");
        return Verdict::kDrop;
      }
      return Verdict::kKeep;
    case 11:  // legacy rrweb Log source: same policy as the console plugin
      if (p_.console == policies::PluginAction::kDrop) {
        Count("dom.console", "drop");
        return Verdict::kDrop;
      }
      return Verdict::kKeep;
    default: return Verdict::kKeep;
  }
}

}  // namespace

Verdict MaskEvent(json::object& event, const MaskingPolicy& policy, WindowState& state,
                  rules::RedactionCounts* counts, Deadline* deadline) {
  if (deadline != nullptr && deadline->Expired()) return Verdict::kDrop;
  std::shared_ptr<const CompiledSelectors> compiled = policy.compiled;
  if (compiled == nullptr) {  // a policy assembled in code without Compile(): compile here
    MaskingPolicy copy = policy;
    if (!copy.Compile().ok()) {
      if (counts) ++counts->errors;
      return Verdict::kDrop;
    }
    compiled = copy.compiled;
  }
  if (!HasValidIntegers(event, kMaxDepth)) {
    if (counts) {
      ++counts->by_rule["dom.bad_type"];
      ++counts->by_method["drop"];
    }
    return Verdict::kInvalid;
  }
  Masker m(policy, *compiled, state, counts, deadline);
  Verdict v = m.Event(event);
  return deadline != nullptr && deadline->expired() ? Verdict::kDrop : v;
}

}  // namespace scrubd::dom
