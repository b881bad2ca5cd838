// The incremental half of the DOM pass: Mutation events (removes, attribute state, adds,
// attribute values, texts) and the re-evaluation of changed subtrees (dom/masker.h).
#include "dom/masker.h"

namespace scrubd::dom::masker_internal {

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
      flags = (flags & ~(nf::kInputMasked | nf::kStateOnly)) | bits |
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
    if (OutOfTime()) return std::optional<uint32_t>();  // MaskEvent then drops the event
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
  UnknownItemFields(texts, MutationList::kTexts, "id");  // before the removes change the state
  UnknownItemFields(attributes, MutationList::kAttributes, "id");
  UnknownItemFields(removes, MutationList::kRemoves, nullptr);
  UnknownItemFields(adds, MutationList::kAdds, "parentId");
  if (texts != nullptr)  // a text change rrweb writes as a string (or null)
    for (json::value& item : *texts)
      if (json::object* o = item.if_object()) DropIfNot(*o, "value", IsTextual);

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
      if (OutOfTime()) return Verdict::kDrop;
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
        for (auto it = attrs.begin(); it != attrs.end();) {  // objects, arrays: rrweb writes none
          if (IsTextual(it->value()) || it->value().is_null()) {
            ++it;
            continue;
          }
          it = attrs.erase(it);
          Count("dom.unknown_field", "drop");
        }
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
      if (OutOfTime()) return Verdict::kDrop;
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

}  // namespace scrubd::dom::masker_internal
