// Rebuilds the DOM of each window of a recording from its rrweb events, as rrweb's replayer
// would: each FullSnapshot starts a document (keyed by its timestamp), Mutations (removes,
// adds, texts, attributes) and Input events apply to the newest one. Its elements implement
// policies::ElementView so a SelectorList matches them as the DOM masker does. Removed nodes
// stay findable (detached, ancestry kept). Built by the workbench (policy test, preview);
// immutable after building, so const use from several threads is safe.
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scrubd/policies/selector.h"

namespace scrubd::workbench {

struct StoredSession;

// rrweb's serialized node types.
enum class DomNodeType {
  kDocument = 0,
  kDocumentType = 1,
  kElement = 2,
  kText = 3,
  kCdata = 4,
  kComment = 5
};

struct DomNode final : policies::ElementView {
  int64_t id = 0;
  DomNodeType type = DomNodeType::kElement;
  std::string tag;                                              // elements: lower case
  std::vector<std::pair<std::string, std::string>> attributes;  // as recorded, in order
  std::string text;                  // text, CDATA and comment nodes: the newest content
  std::vector<std::string> texts;    // every content it had, in order
  std::optional<std::string> value;  // inputs: the newest value (value attribute, Input events)
  std::vector<std::string> values;   // every input value seen, in order
  bool removed = false;              // removed by a mutation (its subtree goes with it)
  DomNode* parent = nullptr;         // kept when removed
  std::vector<DomNode*> children;

  std::string_view TagName() const override { return tag; }
  // Case-insensitive lookup (`name` lower case), as the masker compares attribute names.
  std::optional<std::string_view> Attribute(std::string_view name) const override;
  // The parent when it is an element; nullptr at a document (no matching across iframes).
  const ElementView* Parent() const override;
  bool IsElement() const { return type == DomNodeType::kElement; }
};

struct DomDocument {
  int64_t timestamp = 0;                              // of its FullSnapshot
  std::string href;                                   // of the Meta event before it ("" if none)
  std::map<int64_t, std::unique_ptr<DomNode>> nodes;  // every node it ever had, by rrweb id
  DomNode* root = nullptr;
  const DomNode* Find(int64_t id) const;
};

struct DomWindow {
  std::string window_id;
  std::vector<DomDocument> documents;  // in event order
  // The document whose FullSnapshot has `timestamp` (the same page in another run).
  const DomDocument* FindDocument(int64_t timestamp) const;
};

struct DomMatch {
  const DomWindow* window;
  const DomDocument* document;
  const DomNode* node;
};

class ReplayDom {
 public:
  // One window per stored window (the session's events as one window "" when it has none).
  static ReplayDom FromSession(const StoredSession& session);
  // Applies `events` (one window's rrweb events in time order) as window `window_id`.
  void AddWindow(std::string window_id, const boost::json::array& events);

  const std::vector<DomWindow>& windows() const { return windows_; }
  const DomWindow* FindWindow(std::string_view window_id) const;
  // Every element of every document that `selectors` matches (removed ones included).
  std::vector<DomMatch> Select(const policies::SelectorList& selectors) const;
  // Events or parts of events that could not be applied (unknown parent, bad shape).
  uint64_t skipped() const { return skipped_; }

 private:
  std::vector<DomWindow> windows_;
  uint64_t skipped_ = 0;
};

// The user-visible text under `node` (itself included): text and CDATA nodes outside <style>
// and <script>, and input values, in document order. Empty strings are left out.
std::vector<std::string> VisibleTexts(const DomNode& node);

// Every text and input value ever shown at or under `node` in `doc`: the nodes whose parent
// chain (kept on removal) reaches it, outside <style> and <script>, each content they had.
std::vector<std::string> EverShown(const DomDocument& doc, const DomNode& node);
// True when some node of `doc` other than `node` ever had it as an ancestor.
bool EverHadDescendants(const DomDocument& doc, const DomNode& node);

// True when `text` has no character but '*' and whitespace (masked text keeps whitespace).
bool LooksMasked(std::string_view text);

}  // namespace scrubd::workbench
