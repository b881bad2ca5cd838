// The node-tree half of the DOM pass: FullSnapshot and added subtrees walked node by
// node, attributes masked, blocked elements reduced to placeholders (dom/masker.h).
#include "dom/masker.h"

namespace scrubd::dom::masker_internal {

void Masker::MaskAttributes(json::object& attrs, uint32_t f, TagKind tag) {
  const bool masked_region = f & (nf::kMasked | nf::kUnknownAncestry);
  for (auto it = attrs.begin(); it != attrs.end();) {
    // HTML attribute names are case-insensitive: rules compare the lower-cased name;
    // structural names are kept only when spelt exactly as rrweb does.
    std::string_view raw = it->key();
    const std::string name = ToLower(raw);
    json::value& v = it->value();
    if (!IsTextual(v) && !v.is_null()) {  // an object or array: rrweb writes none
      it = attrs.erase(it);
      Count("dom.unknown_field", "drop");
      continue;
    }
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
  if (node == nullptr || depth > kMaxDepth || OutOfTime()) return;
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
    DropIfNot(*node, "tagName", [](const json::value& x) { return x.is_string(); });
    DropIfNot(*node, "attributes", [](const json::value& x) { return x.is_object(); });
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
    UnknownNodeFields(*node, type, f);  // may move fields: `attrs` is looked up again
    attrs = node->if_contains("attributes") ? (*node)["attributes"].if_object() : nullptr;
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
    DropIfNot(*node, "textContent", IsTextual);
    UnknownNodeFields(*node, type, f);
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
  DropIfNot(*node, "textContent", IsTextual);
  UnknownNodeFields(*node, type, f);
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

}  // namespace scrubd::dom::masker_internal
