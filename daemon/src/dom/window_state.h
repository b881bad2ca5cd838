// WindowState: the compact per-(token, session, window) map rrweb node id -> {parent, flags}
// that lets later batches be masked like the FullSnapshot was. Owned by StateStore (or a
// test); not thread-safe: callers hold a StateStore::Lease while using one.
// On-disk encoding is specified in docs/masking-state.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dom/page_state.h"
#include "scrubd/common/status.h"

namespace scrubd::dom {

// Per-node flags (uint32). Kind and tag are fixed at insertion; the rest is derived state.
namespace nf {
inline constexpr uint32_t kPresent = 1u << 0;
inline constexpr uint32_t kKindShift = 1;  // 2 bits
inline constexpr uint32_t kKindMask = 3u << kKindShift;
inline constexpr uint32_t kKindOther = 0u << kKindShift;  // document, doctype, comment, cdata
inline constexpr uint32_t kKindElement = 1u << kKindShift;
inline constexpr uint32_t kKindText = 2u << kKindShift;
inline constexpr uint32_t kTagShift = 3;  // 4 bits, see TagKind
inline constexpr uint32_t kTagMask = 15u << kTagShift;
inline constexpr uint32_t kSelfBlock = 1u << 7;         // element matches `block`
inline constexpr uint32_t kSelfMask = 1u << 8;          // element matches `mask_text`
inline constexpr uint32_t kSelfUnmask = 1u << 9;        // element matches `unmask_text`
inline constexpr uint32_t kMasked = 1u << 10;           // text under this node is masked
inline constexpr uint32_t kInputMasked = 1u << 11;      // value / content masked as an input
inline constexpr uint32_t kDropped = 1u << 12;          // under a blocked element: not in replay
inline constexpr uint32_t kStyleText = 1u << 13;        // style/script text: never masked
inline constexpr uint32_t kUnknownAncestry = 1u << 14;  // some ancestor was unknown
inline constexpr uint32_t kHasAtoms = 1u << 15;         // atoms stored in the side table
inline constexpr uint32_t kPassword = 1u << 16;         // input that was ever a password
inline constexpr uint32_t kStateOnly = 1u << 17;        // checkbox / radio: its text is only on/off
// Bits 18..31 reserved (persisted as zero).
}  // namespace nf

enum class TagKind : uint8_t {
  kOther = 0,
  kInput,
  kTextarea,
  kSelect,
  kOption,
  kStyle,
  kScript,
  kImg,
  kVideo,
  kAudio,
  kSource,
  kCanvas,
  kTrack,
  kPicture,
  kSvgImage,
};

inline TagKind GetTag(uint32_t flags) {
  return static_cast<TagKind>((flags & nf::kTagMask) >> nf::kTagShift);
}
inline uint32_t TagFlags(TagKind t) { return static_cast<uint32_t>(t) << nf::kTagShift; }

class WindowState {
 public:
  struct Node {
    uint32_t parent = 0;  // 0: none (document root) — rrweb ids start at 1
    uint32_t flags = 0;   // nf::*; kPresent set for live entries
  };

  WindowState();
  ~WindowState();
  WindowState(WindowState&&) noexcept;
  WindowState& operator=(WindowState&&) noexcept;

  // nullptr when unknown. Pointers are invalidated by Put/Erase/Clear.
  const Node* Find(uint32_t id) const {
    uint32_t p = id >> kPageBits;
    if (p < pages_.size()) {
      const Page* page = pages_[p].get();
      if (page == nullptr) return nullptr;
      const Node& n = page->nodes[id & (kPageSize - 1)];
      return (n.flags & nf::kPresent) ? &n : nullptr;
    }
    return p < kMaxDensePages ? nullptr : FindOverflow(id);
  }
  Node* FindMutable(uint32_t id) { return const_cast<Node*>(std::as_const(*this).Find(id)); }
  void Put(uint32_t id, Node node);  // node.flags |= kPresent
  void Erase(uint32_t id);
  void Clear();  // new FullSnapshot: forget every node

  uint64_t Atoms(uint32_t id) const;           // 0 unless kHasAtoms
  void SetAtoms(uint32_t id, uint64_t atoms);  // updates kHasAtoms; id must be present

  // Visits every live node: f(uint32_t id, Node& node). Do not Put/Erase inside.
  template <typename F>
  void ForEach(F&& f);

  // Visits the live children of `parent`: f(uint32_t child). Each child is visited once; Put
  // and Erase are allowed inside f. Backed by a child index built on first use in O(nodes)
  // and kept current by Put (not persisted; dropped by Clear or when too many changes pile
  // up), so re-evaluating a subtree costs the subtree, not the window.
  template <typename F>
  void ForEachChild(uint32_t parent, F&& f);

  size_t size() const { return live_; }
  // Heap bytes held by this state (pages, directory, overflow and atom tables).
  size_t MemoryBytes() const;

  // Fingerprint of the CompiledSelectors the stored atoms/flags were computed with.
  uint64_t policy_fingerprint() const { return policy_fingerprint_; }
  void set_policy_fingerprint(uint64_t fp) { policy_fingerprint_ = fp; }
  // Set once this window saw a FullSnapshot; used by tests and metrics.
  bool has_snapshot() const { return has_snapshot_; }
  void set_has_snapshot(bool v) { has_snapshot_ = v; }
  // Removed elements whose descendants are still stored (swept lazily; not persisted).
  size_t garbage() const { return garbage_; }
  void set_garbage(size_t g) { garbage_ = g; }
  bool dirty() const { return dirty_; }
  void set_dirty(bool v) { dirty_ = v; }

  // The page the window shows for blocking.urls (admit/page_gate.h). Persisted in its own
  // .dpg file by StateStore; not part of Encode / Decode and kept across Clear().
  PageState& page() { return page_; }

  // Binary encoding (docs/masking-state.md); `key` is stored and checked on decode.
  std::string Encode(std::string_view key) const;
  static Result<WindowState> Decode(std::string_view bytes, std::string_view key);

 private:
  static constexpr uint32_t kPageBits = 8;
  static constexpr uint32_t kPageSize = 1u << kPageBits;
  static constexpr uint32_t kMaxDensePages = 1u << 14;  // ids < 4 Mi are paged, rest overflow
  struct Page {
    Node nodes[kPageSize];
    uint32_t live = 0;
  };

  const Node* FindOverflow(uint32_t id) const;
  void BuildChildIndex();
  void DropChildIndex();
  bool InBaseIndex(uint32_t parent, uint32_t child) const;
  void NoteParent(uint32_t id, uint32_t parent);  // Put hook while the index exists

  // Child index (CSR over dense parent ids, children sorted by id; entries may be stale and
  // are checked against the live parent) plus the (parent, child) pairs added since it was
  // built. Overflow parents (ids >= 4 Mi) live in the delta only.
  bool has_child_index_ = false;
  std::vector<uint32_t> child_offsets_;
  std::vector<uint32_t> child_ids_;
  std::unordered_map<uint32_t, std::vector<uint32_t>> child_delta_;
  std::unordered_map<uint64_t, char> child_delta_pairs_;
  size_t child_delta_built_ = 0;  // pairs already in the delta when the index was built

  std::vector<std::unique_ptr<Page>> pages_;      // dense directory by id >> kPageBits
  std::unordered_map<uint32_t, Node> overflow_;   // huge ids (hostile or very long sessions)
  std::unordered_map<uint32_t, uint64_t> atoms_;  // elements with a non-empty atom set
  size_t live_ = 0;
  size_t page_count_ = 0;
  uint64_t policy_fingerprint_ = 0;
  bool has_snapshot_ = false;
  bool dirty_ = false;
  size_t garbage_ = 0;
  PageState page_;
};

template <typename F>
void WindowState::ForEach(F&& f) {
  for (size_t p = 0; p < pages_.size(); ++p) {
    Page* page = pages_[p].get();
    if (page == nullptr) continue;
    for (uint32_t i = 0; i < kPageSize; ++i) {
      if (page->nodes[i].flags & nf::kPresent)
        f(static_cast<uint32_t>((p << kPageBits) | i), page->nodes[i]);
    }
  }
  for (auto& [id, node] : overflow_) f(id, node);
}

template <typename F>
void WindowState::ForEachChild(uint32_t parent, F&& f) {
  if (!has_child_index_) BuildChildIndex();
  // Copy the candidates first: f may Put, which may grow or drop the index.
  std::vector<uint32_t> kids;
  if (parent + 1 < child_offsets_.size())
    kids.assign(child_ids_.begin() + child_offsets_[parent],
                child_ids_.begin() + child_offsets_[parent + 1]);
  if (auto it = child_delta_.find(parent); it != child_delta_.end())
    kids.insert(kids.end(), it->second.begin(), it->second.end());
  for (uint32_t c : kids) {
    const Node* n = Find(c);
    if (n != nullptr && n->parent == parent) f(c);
  }
}

}  // namespace scrubd::dom
