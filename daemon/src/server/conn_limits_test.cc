// Per-peer and global admission counters, and the connection cap derived from RLIMIT_NOFILE.
#include "server/conn_limits.h"

#include <gtest/gtest.h>

namespace scrubd::server {
namespace {

using V = ConnLimits::Verdict;

TEST(ConnLimitsTest, PeerCapsAreIndependentOfOtherPeers) {
  ConnLimits l({.max_connections = 10,
                .max_connections_per_peer = 2,
                .max_inflight_body_bytes = 100,
                .max_peer_inflight_body_bytes = 60});
  EXPECT_EQ(l.OpenConnection("a", true), V::kOk);
  EXPECT_EQ(l.OpenConnection("a", true), V::kOk);
  EXPECT_EQ(l.OpenConnection("a", true), V::kPeerFull);
  EXPECT_EQ(l.OpenConnection("b", true), V::kOk);
  EXPECT_EQ(l.OpenConnection("c", false), V::kGlobalFull);
  EXPECT_EQ(l.connections(), 3u);
  EXPECT_EQ(l.Charge("a", 50), V::kOk);
  EXPECT_EQ(l.Charge("a", 20), V::kPeerFull);  // nothing charged
  EXPECT_EQ(l.Charge("b", 50), V::kOk);
  EXPECT_EQ(l.Charge("c", 1), V::kGlobalFull);
  EXPECT_EQ(l.body_bytes(), 100u);
  l.Release("a", 50);
  l.CloseConnection("a");
  EXPECT_EQ(l.Charge("c", 1), V::kOk);
  EXPECT_EQ(l.peer_connections("a"), 1u);
  EXPECT_EQ(l.body_bytes(), 51u);
}

TEST(ConnLimitsTest, CapLeavesHeadroomForFiles) {
  EXPECT_EQ(DeriveMaxConnections(1024), 768u);
  EXPECT_EQ(DeriveMaxConnections(65536), 65024u);
  EXPECT_EQ(DeriveMaxConnections(100), 36u);
  EXPECT_EQ(DeriveMaxConnections(10), 16u);
}

}  // namespace
}  // namespace scrubd::server
