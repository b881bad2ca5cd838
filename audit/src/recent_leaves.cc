#include "recent_leaves.h"

#include <bit>

namespace scrubd::audit {
namespace {

// RFC 9162 split point: the largest power of two strictly less than n (n >= 2).
uint64_t Split(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

void RecentLeaves::Append(const Hash& leaf, LeafLocation where) {
  leaves_.push_back(leaf);
  locations_.push_back(where);
  if (leaves_.size() >= 2 * window_) {
    while (leaves_.size() > window_) FoldOne();
  }
}

void RecentLeaves::FoldOne() {
  base_nodes_.push_back({base_, 1, leaves_.front()});
  leaves_.pop_front();
  locations_.pop_front();
  ++base_;
  while (base_nodes_.size() >= 2 &&
         base_nodes_[base_nodes_.size() - 2].size == base_nodes_.back().size) {
    Node right = base_nodes_.back();
    base_nodes_.pop_back();
    Node& left = base_nodes_.back();
    left.hash = NodeHash(left.hash, right.hash);
    left.size *= 2;
  }
}

RecentLeaves::Snapshot RecentLeaves::Take(uint64_t upto) const {
  Snapshot s;
  s.base = base_;
  s.base_nodes = base_nodes_;
  const uint64_t n = upto > base_ ? std::min<uint64_t>(upto - base_, leaves_.size()) : 0;
  s.leaves.assign(leaves_.begin(), leaves_.begin() + static_cast<std::ptrdiff_t>(n));
  s.locations.assign(locations_.begin(), locations_.begin() + static_cast<std::ptrdiff_t>(n));
  return s;
}

// MTH(D[lo:hi]): from the leaves when the range lies in the window, from a base node when it
// is one, else by the RFC 9162 split. nullopt when it needs leaves folded into a larger node.
std::optional<Hash> RecentLeaves::Snapshot::Subtree(uint64_t lo, uint64_t hi) const {
  if (lo >= base) {
    return RootFromLeafHashes(std::span<const Hash>(leaves).subspan(lo - base, hi - lo));
  }
  for (const Node& n : base_nodes) {
    if (n.start == lo && n.size == hi - lo) return n.hash;
  }
  if (hi - lo < 2) return std::nullopt;
  const uint64_t k = Split(hi - lo);
  std::optional<Hash> left = Subtree(lo, lo + k);
  std::optional<Hash> right = left ? Subtree(lo + k, hi) : std::nullopt;
  if (!right) return std::nullopt;
  return NodeHash(*left, *right);
}

bool RecentLeaves::Snapshot::PathInto(uint64_t seq, uint64_t lo, uint64_t hi,
                                      std::vector<Hash>& out) const {
  if (hi - lo <= 1) return true;
  const uint64_t k = Split(hi - lo);
  const bool left = seq < lo + k;
  if (!(left ? PathInto(seq, lo, lo + k, out) : PathInto(seq, lo + k, hi, out))) return false;
  std::optional<Hash> sibling = left ? Subtree(lo + k, hi) : Subtree(lo, lo + k);
  if (!sibling) return false;
  out.push_back(*sibling);
  return true;
}

std::optional<std::vector<Hash>> RecentLeaves::Snapshot::Path(uint64_t seq,
                                                              uint64_t tree_size) const {
  if (seq < base || seq >= tree_size || tree_size > base + leaves.size()) return std::nullopt;
  std::vector<Hash> out;
  if (!PathInto(seq, 0, tree_size, out)) return std::nullopt;
  return out;
}

std::optional<Hash> RecentLeaves::Snapshot::Root(uint64_t tree_size) const {
  if (tree_size == 0) return EmptyTreeHash();
  if (tree_size < base || tree_size > base + leaves.size()) return std::nullopt;
  return Subtree(0, tree_size);
}

std::vector<RecentLeaves::Located> RecentLeaves::Newest(uint64_t n) const {
  const uint64_t k = std::min<uint64_t>(n, leaves_.size());
  std::vector<Located> out;
  out.reserve(k);
  for (uint64_t i = leaves_.size() - k; i < leaves_.size(); ++i)
    out.push_back({leaves_[i], locations_[i]});
  return out;
}

}  // namespace scrubd::audit
