#include "dom/window_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace scrubd::dom {
namespace {

TEST(WindowStateTest, PutFindEraseAcrossPages) {
  WindowState s;
  for (uint32_t id = 1; id <= 3000; ++id)
    s.Put(id, {id - 1, nf::kKindElement | (id % 2 ? nf::kMasked : 0)});
  s.Put(0x7FFFFFF0u, {1, nf::kKindText});  // huge id: overflow table
  EXPECT_EQ(s.size(), 3001u);
  ASSERT_NE(s.Find(1500), nullptr);
  EXPECT_EQ(s.Find(1500)->parent, 1499u);
  EXPECT_NE(s.Find(0x7FFFFFF0u), nullptr);
  EXPECT_EQ(s.Find(3001), nullptr);
  for (uint32_t id = 1; id <= 1024; ++id) s.Erase(id);
  EXPECT_EQ(s.size(), 3001u - 1024u);
  EXPECT_EQ(s.Find(1000), nullptr);
  // Dense ids cost 8 bytes per node plus page slack.
  double per_node = double(s.MemoryBytes()) / s.size();
  EXPECT_LT(per_node, 16.0) << per_node;
}

TEST(WindowStateTest, AtomsSideTable) {
  WindowState s;
  s.Put(5, {0, nf::kKindElement});
  EXPECT_EQ(s.Atoms(5), 0u);
  s.SetAtoms(5, 0b101);
  EXPECT_EQ(s.Atoms(5), 0b101u);
  EXPECT_TRUE(s.Find(5)->flags & nf::kHasAtoms);
  s.SetAtoms(5, 0);
  EXPECT_FALSE(s.Find(5)->flags & nf::kHasAtoms);
  s.SetAtoms(5, 7);
  s.Erase(5);
  s.Put(5, {0, nf::kKindElement});
  EXPECT_EQ(s.Atoms(5), 0u);
}

TEST(WindowStateTest, EncodeDecodeRoundTripAndCorruption) {
  WindowState s;
  for (uint32_t id = 1; id <= 500; ++id) s.Put(id, {id / 2, nf::kKindText | nf::kMasked});
  s.SetAtoms(7, 42);
  s.set_policy_fingerprint(99);
  s.set_has_snapshot(true);
  std::string bytes = s.Encode("tok\0s\0w");
  auto back = WindowState::Decode(bytes, "tok\0s\0w");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->size(), 500u);
  EXPECT_EQ(back->Atoms(7), 42u);
  EXPECT_EQ(back->Find(300)->parent, 150u);
  EXPECT_EQ(back->policy_fingerprint(), 99u);
  EXPECT_TRUE(back->has_snapshot());
  EXPECT_EQ(WindowState::Decode(bytes, "other").status().code(), Code::kNotFound);
  std::string bad = bytes;
  bad[bad.size() / 2] ^= 1;
  EXPECT_EQ(WindowState::Decode(bad, "tok\0s\0w").status().code(), Code::kCorruption);
  EXPECT_FALSE(WindowState::Decode("SDWS", "k").ok());
}

std::vector<uint32_t> Kids(WindowState& s, uint32_t parent) {
  std::vector<uint32_t> out;
  s.ForEachChild(parent, [&](uint32_t c) { out.push_back(c); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(WindowStateTest, ChildIndexFollowsPutEraseAndMoves) {
  WindowState s;
  s.Put(1, {0, nf::kKindElement});
  for (uint32_t id = 2; id <= 10; ++id) s.Put(id, {1, nf::kKindElement});
  s.Put(0x7FFFFFF0u, {0x7FFFFFF1u, nf::kKindText});  // overflow parent
  s.Put(0x7FFFFFF1u, {2, nf::kKindElement});
  EXPECT_EQ(Kids(s, 1), (std::vector<uint32_t>{2, 3, 4, 5, 6, 7, 8, 9, 10}));  // builds index
  EXPECT_EQ(Kids(s, 0x7FFFFFF1u), std::vector<uint32_t>{0x7FFFFFF0u});
  s.Put(3, {2, nf::kKindElement});  // moved under 2
  s.Erase(4);
  s.Put(11, {1, nf::kKindText});  // new child after the build
  s.Put(5, {2, nf::kKindElement});
  s.Put(5, {1, nf::kKindElement});  // and back: listed once
  s.Erase(6);
  s.Put(6, {1, nf::kKindElement});  // erased and re-added under the same parent: once
  EXPECT_EQ(Kids(s, 1), (std::vector<uint32_t>{2, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(Kids(s, 2), (std::vector<uint32_t>{3, 0x7FFFFFF1u}));
  // Many changes drop and rebuild the index; results stay exact.
  for (uint32_t id = 100; id < 6000; ++id) s.Put(id, {7, nf::kKindText});
  EXPECT_EQ(Kids(s, 7).size(), 5900u);
  EXPECT_EQ(Kids(s, 1), (std::vector<uint32_t>{2, 5, 6, 7, 8, 9, 10, 11}));
  s.Clear();
  EXPECT_TRUE(Kids(s, 1).empty());
}

}  // namespace
}  // namespace scrubd::dom
