// Rebuilding rrweb DOMs (replay_dom.h).
#include "workbench/replay_dom.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <deque>

#include "dom/dom_masker.h"
#include "workbench/runner.h"

namespace scrubd::workbench {
namespace json = boost::json;

namespace {

constexpr int kFullSnapshot = 2, kIncremental = 3, kMeta = 4;
constexpr int kMutation = 0, kInput = 5;
constexpr size_t kMaxNodesPerDocument = 2'000'000;

bool EqualsLower(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() &&
         std::equal(a.begin(), a.end(), lower.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::optional<int64_t> IntOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v && v->is_int64()) return v->as_int64();
  if (v && v->is_uint64() && v->as_uint64() <= INT64_MAX)
    return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

// An attribute value as the DOM holds it: strings as is, numbers as text, true as ""; nullopt
// for null/false (absent) and objects (rrweb style diffs, not kept).
std::optional<std::string> AttributeText(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_double()) return json::serialize(v);
  if (v.is_bool() && v.as_bool()) return std::string();
  return std::nullopt;
}

void SetAttribute(DomNode* n, const std::string& name, std::optional<std::string> value) {
  auto it = std::find_if(n->attributes.begin(), n->attributes.end(),
                         [&](const auto& a) { return EqualsLower(a.first, Lower(name)); });
  if (!value) {
    if (it != n->attributes.end()) n->attributes.erase(it);
  } else if (it != n->attributes.end()) {
    it->second = *value;
  } else {
    n->attributes.emplace_back(name, *value);
  }
  if (EqualsLower(name, "value") && value) {
    n->value = *value;
    n->values.push_back(*value);
  }
}

void Detach(DomNode* n) {
  if (!n->parent) return;
  auto& siblings = n->parent->children;
  siblings.erase(std::remove(siblings.begin(), siblings.end(), n), siblings.end());
}

class WindowBuilder {
 public:
  WindowBuilder(DomWindow* w, uint64_t* skipped) : w_(w), skipped_(skipped) {}
  void Apply(const json::object& ev);

 private:
  DomDocument* doc() { return w_->documents.empty() ? nullptr : &w_->documents.back(); }
  DomNode* Node(int64_t id) {
    DomDocument* d = doc();
    if (!d) return nullptr;
    auto it = d->nodes.find(id);
    return it == d->nodes.end() ? nullptr : it->second.get();
  }
  DomNode* Build(const json::object& s, DomNode* parent, DomNode* before);
  void Mutation(const json::object& data);
  void Adds(const json::array& adds);
  void Input(const json::object& data);
  DomWindow* w_;
  uint64_t* skipped_;
  std::string href_;
};

// Creates (or, for a moved node, reuses) the node serialized as `s` under `parent`, before
// `before` (nullptr: appended), with its serialized children.
DomNode* WindowBuilder::Build(const json::object& s, DomNode* parent, DomNode* before) {
  std::optional<int64_t> id = IntOf(s, "id");
  std::optional<int64_t> type = IntOf(s, "type");
  DomDocument* d = doc();
  if (!id || !type || *type < 0 || *type > 5 || !d || d->nodes.size() >= kMaxNodesPerDocument) {
    ++*skipped_;
    return nullptr;
  }
  std::unique_ptr<DomNode>& slot = d->nodes[*id];
  if (!slot) slot = std::make_unique<DomNode>();
  DomNode* n = slot.get();
  Detach(n);
  n->id = *id;
  n->type = static_cast<DomNodeType>(*type);
  n->removed = false;
  n->attributes.clear();
  if (const json::value* t = s.if_contains("tagName"); t && t->is_string())
    n->tag = Lower(t->as_string());
  if (const json::value* a = s.if_contains("attributes"); a && a->is_object())
    for (const auto& [k, v] : a->as_object()) SetAttribute(n, std::string(k), AttributeText(v));
  if (const json::value* t = s.if_contains("textContent"); t && t->is_string()) {
    n->text = std::string(t->as_string());
    n->texts.push_back(n->text);
  }
  n->parent = parent;
  if (parent) {
    auto& c = parent->children;
    auto at = before ? std::find(c.begin(), c.end(), before) : c.end();
    c.insert(at, n);
  }
  if (const json::value* kids = s.if_contains("childNodes"); kids && kids->is_array()) {
    n->children.clear();
    for (const json::value& k : kids->as_array())
      if (k.is_object()) Build(k.as_object(), n, nullptr);
  }
  return n;
}

void WindowBuilder::Apply(const json::object& ev) {
  std::optional<int64_t> type = IntOf(ev, "type");
  const json::value* data = ev.if_contains("data");
  if (!type || !data || !data->is_object()) return;
  const json::object& d = data->as_object();
  if (*type == kMeta) {
    const json::value* h = d.if_contains("href");
    href_ = h && h->is_string() ? std::string(h->as_string()) : "";
  } else if (*type == kFullSnapshot) {
    DomDocument fresh;
    fresh.timestamp = IntOf(ev, "timestamp").value_or(0);
    fresh.href = href_;
    w_->documents.push_back(std::move(fresh));
    const json::value* node = d.if_contains("node");
    if (node && node->is_object()) doc()->root = Build(node->as_object(), nullptr, nullptr);
  } else if (*type == kIncremental && doc()) {
    std::optional<int64_t> source = IntOf(d, "source");
    if (source == kMutation) Mutation(d);
    if (source == kInput) Input(d);
  }
}

// rrweb's replayer order: removes, adds, texts, attributes.
void WindowBuilder::Mutation(const json::object& data) {
  if (const json::value* r = data.if_contains("removes"); r && r->is_array())
    for (const json::value& x : r->as_array()) {
      DomNode* n = x.is_object() ? Node(IntOf(x.as_object(), "id").value_or(-1)) : nullptr;
      if (!n) {
        ++*skipped_;
        continue;
      }
      Detach(n);
      n->removed = true;
    }
  if (const json::value* a = data.if_contains("adds"); a && a->is_array()) Adds(a->as_array());
  if (const json::value* t = data.if_contains("texts"); t && t->is_array())
    for (const json::value& x : t->as_array()) {
      DomNode* n = x.is_object() ? Node(IntOf(x.as_object(), "id").value_or(-1)) : nullptr;
      const json::value* v = n ? x.as_object().if_contains("value") : nullptr;
      if (!n || !v) {
        ++*skipped_;
        continue;
      }
      n->text = v->is_string() ? std::string(v->as_string()) : AttributeText(*v).value_or("");
      n->texts.push_back(n->text);
    }
  if (const json::value* at = data.if_contains("attributes"); at && at->is_array())
    for (const json::value& x : at->as_array()) {
      DomNode* n = x.is_object() ? Node(IntOf(x.as_object(), "id").value_or(-1)) : nullptr;
      const json::value* attrs = n ? x.as_object().if_contains("attributes") : nullptr;
      if (!n || !attrs || !attrs->is_object()) {
        ++*skipped_;
        continue;
      }
      for (const auto& [k, v] : attrs->as_object())
        if (!v.is_object()) SetAttribute(n, std::string(k), AttributeText(v));
    }
}

// Adds whose parent (and next sibling, when named) exist are applied first; the others wait
// for a later add of the same mutation, as rrweb's replayer queues them.
void WindowBuilder::Adds(const json::array& adds) {
  std::deque<const json::object*> queue;
  for (const json::value& a : adds)
    if (a.is_object()) queue.push_back(&a.as_object());
  for (bool progress = true, relaxed = false; !queue.empty() && (progress || !relaxed);) {
    if (!progress) relaxed = true;  // a missing next sibling no longer holds an add back
    progress = false;
    for (size_t n = queue.size(); n > 0; --n) {
      const json::object* a = queue.front();
      queue.pop_front();
      DomNode* parent = Node(IntOf(*a, "parentId").value_or(-1));
      std::optional<int64_t> next_id = IntOf(*a, "nextId");
      DomNode* next = next_id ? Node(*next_id) : nullptr;
      const json::value* node = a->if_contains("node");
      if (!parent || !node || !node->is_object() || (next_id && !next && !relaxed)) {
        queue.push_back(a);
        continue;
      }
      Build(node->as_object(), parent, next && next->parent == parent ? next : nullptr);
      progress = true;
    }
  }
  *skipped_ += queue.size();
}

void WindowBuilder::Input(const json::object& data) {
  DomNode* n = Node(IntOf(data, "id").value_or(-1));
  const json::value* t = data.if_contains("text");
  if (!n || !t) {
    ++*skipped_;
    return;
  }
  std::string v = t->is_string() ? std::string(t->as_string()) : AttributeText(*t).value_or("");
  n->value = v;
  n->values.push_back(std::move(v));
}

void CollectTexts(const DomNode& n, bool in_code, std::vector<std::string>* out) {
  if ((n.type == DomNodeType::kText || n.type == DomNodeType::kCdata) && !in_code &&
      !n.text.empty())
    out->push_back(n.text);
  if (n.IsElement() && n.value && !n.value->empty()) out->push_back(*n.value);
  bool code = in_code || (n.IsElement() && (n.tag == "style" || n.tag == "script"));
  for (const DomNode* c : n.children) CollectTexts(*c, code, out);
}

}  // namespace

std::optional<std::string_view> DomNode::Attribute(std::string_view name) const {
  for (const auto& [k, v] : attributes)
    if (EqualsLower(k, name)) return std::string_view(v);
  return std::nullopt;
}

const policies::ElementView* DomNode::Parent() const {
  return parent && parent->IsElement() ? parent : nullptr;
}

const DomNode* DomDocument::Find(int64_t id) const {
  auto it = nodes.find(id);
  return it == nodes.end() ? nullptr : it->second.get();
}

const DomDocument* DomWindow::FindDocument(int64_t timestamp) const {
  for (const DomDocument& d : documents)
    if (d.timestamp == timestamp) return &d;
  return nullptr;
}

ReplayDom ReplayDom::FromSession(const StoredSession& session) {
  ReplayDom dom;
  if (session.windows.empty()) dom.AddWindow("", session.events);
  for (const StoredWindow& w : session.windows) dom.AddWindow(w.window_id, w.events);
  return dom;
}

void ReplayDom::AddWindow(std::string window_id, const json::array& events) {
  windows_.push_back(DomWindow{std::move(window_id), {}});
  WindowBuilder b(&windows_.back(), &skipped_);
  for (const json::value& e : events)
    if (e.is_object()) b.Apply(e.as_object());
}

const DomWindow* ReplayDom::FindWindow(std::string_view window_id) const {
  for (const DomWindow& w : windows_)
    if (w.window_id == window_id) return &w;
  return nullptr;
}

std::vector<DomMatch> ReplayDom::Select(const policies::SelectorList& selectors) const {
  std::vector<DomMatch> out;
  for (const DomWindow& w : windows_)
    for (const DomDocument& d : w.documents)
      for (const auto& [id, n] : d.nodes)
        if (n->IsElement() && selectors.Matches(*n)) out.push_back({&w, &d, n.get()});
  return out;
}

std::vector<std::string> VisibleTexts(const DomNode& node) {
  std::vector<std::string> out;
  CollectTexts(node, false, &out);
  return out;
}

namespace {

bool InCode(const DomNode& n) {
  for (const DomNode* p = n.parent; p; p = p->parent)
    if (p->IsElement() && (p->tag == "style" || p->tag == "script")) return true;
  return false;
}

bool Under(const DomNode& n, const DomNode& root) {
  for (const DomNode* p = &n; p; p = p->parent)
    if (p == &root) return true;
  return false;
}

}  // namespace

std::vector<std::string> EverShown(const DomDocument& doc, const DomNode& node) {
  std::vector<std::string> out;
  for (const auto& [id, n] : doc.nodes) {
    if (!Under(*n, node) || InCode(*n)) continue;
    if (n->type == DomNodeType::kText || n->type == DomNodeType::kCdata)
      for (const std::string& t : n->texts)
        if (!t.empty()) out.push_back(t);
    for (const std::string& v : n->values)
      if (!v.empty()) out.push_back(v);
  }
  return out;
}

bool EverHadDescendants(const DomDocument& doc, const DomNode& node) {
  for (const auto& [id, n] : doc.nodes)
    if (n.get() != &node && Under(*n, node)) return true;
  return false;
}

// The masker's own rule: masking leaves it unchanged (every JS whitespace kept, all else '*').
bool LooksMasked(std::string_view text) { return dom::MaskTextValue(text) == text; }

}  // namespace scrubd::workbench
