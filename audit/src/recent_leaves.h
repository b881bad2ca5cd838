// The writer's window of recent leaves: the perfect subtrees covering [0, base) (a compact
// range) plus every leaf hash after base with its record's location, so that an inclusion proof
// of a recent entry costs O(window) in memory, never a read of the whole log (receipts).
// Internal to the Log, which guards it with its mutex; a Snapshot is a plain value.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "scrubd/audit/merkle.h"

namespace scrubd::audit {

struct LeafLocation {
  uint64_t segment_first_seq = 0;  // names the segment file (format::SegmentName)
  uint64_t offset = 0;             // byte offset of the record in it
};

class RecentLeaves {
 public:
  // Keeps between `window` and 2 * `window` leaves (32 + 16 bytes each).
  static constexpr uint64_t kDefaultWindow = 8192;
  explicit RecentLeaves(uint64_t window = kDefaultWindow) : window_(window) {}

  void Append(const Hash& leaf, LeafLocation where);
  uint64_t base() const { return base_; }  // oldest leaf whose proof the window can build
  uint64_t end() const { return base_ + leaves_.size(); }

  struct Node {
    uint64_t start;
    uint64_t size;  // a power of two
    Hash hash;
  };
  struct Snapshot {
    uint64_t base = 0;
    std::vector<Node> base_nodes;  // perfect subtrees covering [0, base), left to right
    std::vector<Hash> leaves;      // leaves [base, base + leaves.size())
    std::vector<LeafLocation> locations;
    // RFC 9162 PATH(seq, D[tree_size]) and MTH(D[tree_size]); nullopt unless
    // base <= seq < tree_size <= base + leaves.size().
    std::optional<std::vector<Hash>> Path(uint64_t seq, uint64_t tree_size) const;
    std::optional<Hash> Root(uint64_t tree_size) const;

   private:
    std::optional<Hash> Subtree(uint64_t lo, uint64_t hi) const;
    bool PathInto(uint64_t seq, uint64_t lo, uint64_t hi, std::vector<Hash>& out) const;
  };
  // Copies what proofs in [base, upto) need; upto <= end().
  Snapshot Take(uint64_t upto) const;
  // The newest `n` leaves (fewer when the window holds fewer), oldest first: their seq is
  // end() - result.size() + i.
  struct Located {
    Hash leaf;
    LeafLocation where;
  };
  std::vector<Located> Newest(uint64_t n) const;

 private:
  void FoldOne();  // moves the oldest leaf into base_nodes_

  uint64_t window_;
  uint64_t base_ = 0;
  std::vector<Node> base_nodes_;
  std::deque<Hash> leaves_;
  std::deque<LeafLocation> locations_;
};

}  // namespace scrubd::audit
