// RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, tree heads, an incremental
// compact range, and inclusion / consistency proofs. Pure functions and value types; any
// caller may use them. CompactRange is not thread-safe; everything else is stateless.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace scrubd::audit {

using Hash = std::array<uint8_t, 32>;

Hash LeafHash(std::span<const uint8_t> leaf_data);   // H(0x00 || data)
Hash NodeHash(const Hash& left, const Hash& right);  // H(0x01 || left || right)
Hash EmptyTreeHash();                                // H("")

// MTH(D[n]) over already-hashed leaves.
Hash RootFromLeafHashes(std::span<const Hash> leaf_hashes);

// Maintains the perfect-subtree roots of a growing tree: O(log n) memory, O(1) amortised
// append, O(log n) root.
class CompactRange {
 public:
  void Append(const Hash& leaf_hash);
  Hash Root() const;
  uint64_t size() const { return size_; }

 private:
  struct Node {
    Hash hash;
    int height;
  };
  std::vector<Node> stack_;
  uint64_t size_ = 0;
};

// RFC 9162 §2.1.3.1 PATH(m, D[n]): audit path for leaf `index` in the first `tree_size`
// leaves. Requires index < tree_size <= leaf_hashes.size().
std::vector<Hash> InclusionPath(std::span<const Hash> leaf_hashes, uint64_t index,
                                uint64_t tree_size);
// RFC 9162 §2.1.3.2.
bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                     std::span<const Hash> path, const Hash& root);

// RFC 9162 §2.1.4.1 PROOF(m, D[n]). Requires 0 < old_size <= new_size <= leaf_hashes.size().
std::vector<Hash> ConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t old_size,
                                   uint64_t new_size);
// RFC 9162 §2.1.4.2.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof);

}  // namespace scrubd::audit
