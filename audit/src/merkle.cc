#include "scrubd/audit/merkle.h"

#include <bit>

#include "crypto.h"

namespace scrubd::audit {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Sha256& Hasher() {
  thread_local Sha256 h;
  return h;
}

void SubProof(std::span<const Hash> d, uint64_t m, bool b, std::vector<Hash>& out) {
  const uint64_t n = d.size();
  if (m == n) {
    if (!b) out.push_back(RootFromLeafHashes(d));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(d.subspan(0, k), m, b, out);
    out.push_back(RootFromLeafHashes(d.subspan(k)));
  } else {
    SubProof(d.subspan(k), m - k, false, out);
    out.push_back(RootFromLeafHashes(d.subspan(0, k)));
  }
}

void Path(std::span<const Hash> d, uint64_t m, std::vector<Hash>& out) {
  const uint64_t n = d.size();
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(d.subspan(0, k), m, out);
    out.push_back(RootFromLeafHashes(d.subspan(k)));
  } else {
    Path(d.subspan(k), m - k, out);
    out.push_back(RootFromLeafHashes(d.subspan(0, k)));
  }
}

}  // namespace

Hash LeafHash(std::span<const uint8_t> data) {
  Sha256& h = Hasher();
  const uint8_t prefix = 0x00;
  h.Update(&prefix, 1);
  h.Update(data.data(), data.size());
  return h.Final();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  Sha256& h = Hasher();
  h.Update(buf, sizeof(buf));
  return h.Final();
}

Hash EmptyTreeHash() { return Sha256::Of(""); }

Hash RootFromLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyTreeHash();
  CompactRange range;
  for (const Hash& h : leaves) range.Append(h);
  return range.Root();
}

void CompactRange::Append(const Hash& leaf_hash) {
  stack_.push_back({leaf_hash, 0});
  while (stack_.size() >= 2 &&
         stack_[stack_.size() - 1].height == stack_[stack_.size() - 2].height) {
    Node right = stack_.back();
    stack_.pop_back();
    Node& left = stack_.back();
    left.hash = NodeHash(left.hash, right.hash);
    left.height += 1;
  }
  ++size_;
}

Hash CompactRange::Root() const {
  if (stack_.empty()) return EmptyTreeHash();
  Hash r = stack_.back().hash;
  for (size_t i = stack_.size() - 1; i-- > 0;) r = NodeHash(stack_[i].hash, r);
  return r;
}

std::vector<Hash> InclusionPath(std::span<const Hash> leaf_hashes, uint64_t index,
                                uint64_t tree_size) {
  std::vector<Hash> out;
  if (index >= tree_size || tree_size > leaf_hashes.size()) return out;
  Path(leaf_hashes.subspan(0, tree_size), index, out);
  return out;
}

bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t tree_size,
                     std::span<const Hash> path, const Hash& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

std::vector<Hash> ConsistencyProof(std::span<const Hash> leaf_hashes, uint64_t old_size,
                                   uint64_t new_size) {
  std::vector<Hash> out;
  if (old_size == 0 || old_size > new_size || new_size > leaf_hashes.size()) return out;
  SubProof(leaf_hashes.subspan(0, new_size), old_size, true, out);
  return out;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> c;
  if (std::has_single_bit(old_size)) c.push_back(old_root);
  c.insert(c.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = c[0], sr = c[0];
  for (size_t i = 1; i < c.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c[i], fr);
      sr = NodeHash(c[i], sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace scrubd::audit
