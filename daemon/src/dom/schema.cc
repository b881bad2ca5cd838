#include "dom/schema.h"

#include <boost/json.hpp>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace scrubd::dom {
namespace {

namespace json = boost::json;

constexpr int64_t kMinId = -(int64_t(1) << 31);  // rrweb uses -1 / -2 for untracked nodes
constexpr int64_t kMaxId = (int64_t(1) << 32) - 1;

enum class Need { kRequired, kOptional, kNullable };  // nullable: may be absent or null

// An integer in [lo, hi]: int64 or uint64 only (decode normalised exact doubles already).
bool IntIn(const json::value& v, int64_t lo, int64_t hi) {
  if (v.is_int64()) return v.get_int64() >= lo && v.get_int64() <= hi;
  if (v.is_uint64()) return hi >= 0 && v.get_uint64() <= static_cast<uint64_t>(hi);
  return false;
}

bool Field(const json::object& o, std::string_view key, int64_t lo, int64_t hi, Need need) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return need != Need::kRequired;
  if (v->is_null()) return need == Need::kNullable;
  return IntIn(*v, lo, hi);
}

bool Id(const json::object& o, std::string_view key, Need need = Need::kRequired) {
  return Field(o, key, kMinId, kMaxId, need);
}

// A serialized node tree: node `type` 0..5 and `id` required on every node; `rootId`
// optional. Iterative, bounded.
bool ValidTree(const json::value& root, int max_depth, size_t max_nodes) {
  std::vector<std::pair<const json::value*, int>> stack{{&root, 0}};
  size_t seen = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    const json::object* n = v->if_object();
    if (n == nullptr || ++seen > max_nodes) return false;
    if (!Field(*n, "type", 0, 5, Need::kRequired) || !Id(*n, "id") ||
        !Id(*n, "rootId", Need::kNullable))
      return false;
    const json::value* kids = n->if_contains("childNodes");
    if (kids == nullptr || depth >= max_depth) continue;  // deeper: the masker drops them
    if (!kids->is_array()) return false;
    for (const json::value& k : kids->get_array()) stack.push_back({&k, depth + 1});
  }
  return true;
}

// Every element of data[key] is an object whose `fields` are valid ids.
bool EachHasIds(const json::object& data, std::string_view key,
                std::initializer_list<std::pair<std::string_view, Need>> fields) {
  const json::value* arr = data.if_contains(key);
  if (arr == nullptr) return true;
  if (!arr->is_array()) return arr->is_string();  // still cv-encoded: the masker drops it
  for (const json::value& e : arr->get_array()) {
    const json::object* o = e.if_object();
    if (o == nullptr) return false;
    for (const auto& [name, need] : fields)
      if (!Id(*o, name, need)) return false;
  }
  return true;
}

bool ValidMutation(const json::object& data, int max_depth, size_t max_nodes) {
  if (!EachHasIds(data, "texts", {{"id", Need::kRequired}}) ||
      !EachHasIds(data, "attributes", {{"id", Need::kRequired}}) ||
      !EachHasIds(data, "removes", {{"id", Need::kRequired}, {"parentId", Need::kRequired}}) ||
      !EachHasIds(data, "adds",
                  {{"parentId", Need::kRequired},
                   {"nextId", Need::kNullable},
                   {"previousId", Need::kNullable}}))
    return false;
  const json::value* adds = data.if_contains("adds");
  if (adds == nullptr || !adds->is_array()) return true;
  for (const json::value& a : adds->get_array()) {
    const json::value* node = a.get_object().if_contains("node");
    if (node == nullptr || !ValidTree(*node, max_depth, max_nodes)) return false;
  }
  return true;
}

bool ValidIncremental(const json::object& data, int max_depth, size_t max_nodes) {
  const json::value* src = data.if_contains("source");
  if (src == nullptr || !IntIn(*src, 0, 16)) return false;
  switch (src->is_int64() ? src->get_int64() : int64_t(src->get_uint64())) {
    case 0: return ValidMutation(data, max_depth, max_nodes);
    case 2:  // MouseInteraction: id and interaction type
      return Id(data, "id") && Field(data, "type", 0, 64, Need::kOptional);
    case 3:
    case 5:
    case 7:
    case 9:  // Scroll, Input, MediaInteraction, CanvasMutation
      return Id(data, "id");
    case 8:
    case 13:
    case 15:  // style sheets: owner id and styleId optional
      return Id(data, "id", Need::kOptional) && Id(data, "styleId", Need::kOptional);
    default: return true;
  }
}

}  // namespace

bool HasValidIntegers(const json::object& event, int max_depth, size_t max_nodes) {
  const json::value* t = event.if_contains("type");
  if (t == nullptr || !IntIn(*t, 0, 6)) return false;
  int64_t type = t->is_int64() ? t->get_int64() : int64_t(t->get_uint64());
  if (type != 2 && type != 3) return true;
  const json::value* d = event.if_contains("data");
  if (d != nullptr && d->is_string()) return true;  // still cv-encoded: the masker drops it
  if (d == nullptr || !d->is_object()) return false;
  const json::object& data = d->get_object();
  if (type == 3) return ValidIncremental(data, max_depth, max_nodes);
  const json::value* node = data.if_contains("node");
  return node == nullptr || node->is_string() || ValidTree(*node, max_depth, max_nodes);
}

namespace {

bool OneOf(std::string_view key, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (key == n) return true;
  return false;
}

}  // namespace

// rrweb-snapshot's serializedNode: every node has type and id (rootId, isShadowHost and
// isShadow are optional on every node).
bool KnownNodeField(int64_t node_type, std::string_view key) {
  if (OneOf(key, {"type", "id", "rootId", "isShadowHost", "isShadow"})) return true;
  switch (node_type) {
    case 0: return OneOf(key, {"childNodes", "compatMode"});
    case 1: return OneOf(key, {"name", "publicId", "systemId"});
    case 2:
      return OneOf(key, {"tagName", "attributes", "childNodes", "isSVG", "needBlock", "isCustom"});
    case 3: return OneOf(key, {"textContent", "isStyle"});
    case 4:
    case 5: return key == "textContent";
    default: return false;
  }
}

// rrweb's IncrementalSource data shapes (types.ts of rrweb 2.x).
bool KnownIncrementalField(int64_t source, std::string_view key) {
  if (key == "source") return true;
  switch (source) {
    case 0: return OneOf(key, {"texts", "attributes", "removes", "adds", "isAttachIframe"});
    case 1:
    case 6:
    case 12: return key == "positions";
    case 2: return OneOf(key, {"type", "id", "x", "y", "pointerType"});
    case 3: return OneOf(key, {"id", "x", "y"});
    case 4: return OneOf(key, {"width", "height"});
    case 5: return OneOf(key, {"id", "text", "isChecked", "userTriggered"});
    case 7:
      return OneOf(key, {"type", "id", "currentTime", "volume", "muted", "loop", "playbackRate"});
    case 8: return OneOf(key, {"id", "styleId", "removes", "adds", "replace", "replaceSync"});
    case 9: return OneOf(key, {"id", "type", "commands", "property", "args", "setter"});
    case 10: return OneOf(key, {"family", "fontSource", "buffer", "descriptors"});
    case 11: return OneOf(key, {"level", "trace", "payload"});
    case 13: return OneOf(key, {"id", "styleId", "index", "set", "remove"});
    case 14: return key == "ranges";
    case 15: return OneOf(key, {"id", "styleIds", "styles"});
    case 16: return key == "define";
    default: return false;
  }
}

bool KnownMutationItemField(MutationList list, std::string_view key) {
  switch (list) {
    case MutationList::kTexts: return OneOf(key, {"id", "value"});
    case MutationList::kAttributes: return OneOf(key, {"id", "attributes"});
    case MutationList::kRemoves: return OneOf(key, {"parentId", "id", "isShadow"});
    case MutationList::kAdds: return OneOf(key, {"parentId", "nextId", "previousId", "node"});
  }
  return false;
}

}  // namespace scrubd::dom
