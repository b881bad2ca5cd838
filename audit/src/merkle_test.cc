#include "scrubd/audit/merkle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto.h"

namespace scrubd::audit {
namespace {

// RFC 6962 known answers (the public CT test suite; /work/shared/reference/audit-log.md).
const char* const kLeavesHex[] = {"",
                                  "00",
                                  "10",
                                  "2021",
                                  "3031",
                                  "40414243",
                                  "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};
const char* const kRootsHex[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<Hash> KnownLeafHashes() {
  std::vector<Hash> out;
  for (const char* hex : kLeavesHex) out.push_back(LeafHash(AsBytes(*HexDecode(hex))));
  return out;
}

TEST(MerkleTest, EmptyTreeIsSha256OfEmptyString) {
  EXPECT_EQ(HexEncode(EmptyTreeHash()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RootFromLeafHashes({}), EmptyTreeHash());
}

TEST(MerkleTest, Rfc6962KnownAnswerRoots) {
  auto leaves = KnownLeafHashes();
  // The reference doc pins the first and the last; the others are from the same suite.
  std::string r1 = HexEncode(RootFromLeafHashes(std::span(leaves).subspan(0, 1)));
  EXPECT_EQ(r1.substr(0, 8), "6e340b9c");
  EXPECT_EQ(r1.substr(r1.size() - 6), "afa01d");
  EXPECT_EQ(HexEncode(RootFromLeafHashes(leaves)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  CompactRange range;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    EXPECT_EQ(HexEncode(RootFromLeafHashes(std::span(leaves).subspan(0, n))), kRootsHex[n - 1])
        << "n=" << n;
    EXPECT_EQ(HexEncode(range.Root()), kRootsHex[n - 1]) << "compact range n=" << n;
  }
}

// Reference MTH straight from the RFC's recursive definition.
Hash Mth(std::span<const Hash> d) {
  if (d.empty()) return EmptyTreeHash();
  if (d.size() == 1) return d[0];
  size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  return NodeHash(Mth(d.subspan(0, k)), Mth(d.subspan(k)));
}

std::vector<Hash> SyntheticLeaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) out.push_back(LeafHash(AsBytes("leaf-" + std::to_string(i))));
  return out;
}

TEST(MerkleTest, CompactRangeMatchesRecursiveDefinition) {
  auto leaves = SyntheticLeaves(130);
  CompactRange range;
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    ASSERT_EQ(range.Root(), Mth(std::span(leaves).subspan(0, n))) << n;
  }
}

TEST(MerkleTest, InclusionProofsVerifyAndRejectTampering) {
  auto leaves = KnownLeafHashes();
  for (uint64_t n = 1; n <= 8; ++n) {
    Hash root = RootFromLeafHashes(std::span(leaves).subspan(0, n));
    for (uint64_t i = 0; i < n; ++i) {
      auto path = InclusionPath(leaves, i, n);
      EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, path, root)) << i << "/" << n;
      EXPECT_FALSE(VerifyInclusion(leaves[(i + 1) % 8], i, n, path, root) && n > 1);
      if (!path.empty()) {
        auto bad = path;
        bad[0][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root));
        bad = path;
        bad.pop_back();
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root));
      }
      // (The size itself is bound by the signed checkpoint, not by the path.)
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, path, root));
      }
    }
  }
  // RFC 6962 test vector: leaf 0 in a tree of 8 has a 3-element path.
  EXPECT_EQ(InclusionPath(leaves, 0, 8).size(), 3u);
  EXPECT_EQ(HexEncode(InclusionPath(leaves, 0, 8)[0]),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
}

TEST(MerkleTest, LargeTreeInclusion) {
  auto leaves = SyntheticLeaves(1000);
  for (uint64_t n : {1u, 2u, 3u, 7u, 64u, 999u, 1000u}) {
    Hash root = RootFromLeafHashes(std::span(leaves).subspan(0, n));
    for (uint64_t i : {uint64_t{0}, n / 2, n - 1}) {
      EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, InclusionPath(leaves, i, n), root));
    }
  }
}

TEST(MerkleTest, ConsistencyProofs) {
  auto leaves = SyntheticLeaves(40);
  for (uint64_t n = 1; n <= 40; ++n) {
    Hash new_root = RootFromLeafHashes(std::span(leaves).subspan(0, n));
    for (uint64_t m = 1; m <= n; ++m) {
      Hash old_root = RootFromLeafHashes(std::span(leaves).subspan(0, m));
      auto proof = ConsistencyProof(leaves, m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, new_root, proof)) << m << "->" << n;
      if (!proof.empty()) {
        auto bad = proof;
        bad.back()[5] ^= 0x10;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, bad));
      }
      if (m < n) {
        Hash wrong = old_root;
        wrong[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, wrong, new_root, proof));
      }
    }
  }
}

}  // namespace
}  // namespace scrubd::audit
