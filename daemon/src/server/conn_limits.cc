// Per-peer and global admission counters; see conn_limits.h.
#include "server/conn_limits.h"

#include <algorithm>

namespace scrubd::server {

ConnLimits::Verdict ConnLimits::OpenConnection(const std::string& peer, bool global_ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!global_ok) return Verdict::kGlobalFull;
  Peer& p = peers_[peer];
  if (p.connections >= opts_.max_connections_per_peer) {
    EraseIfEmpty(peers_.find(peer));
    return Verdict::kPeerFull;
  }
  p.connections++;
  connections_++;
  return Verdict::kOk;
}

void ConnLimits::CloseConnection(const std::string& peer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end() || it->second.connections == 0) return;
  it->second.connections--;
  connections_--;
  EraseIfEmpty(it);
}

ConnLimits::Verdict ConnLimits::Charge(const std::string& peer, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  Peer& p = peers_[peer];
  if (p.body_bytes + n > opts_.max_peer_inflight_body_bytes) {
    EraseIfEmpty(peers_.find(peer));
    return Verdict::kPeerFull;
  }
  if (body_bytes_ + n > opts_.max_inflight_body_bytes) {
    EraseIfEmpty(peers_.find(peer));
    return Verdict::kGlobalFull;
  }
  p.body_bytes += n;
  body_bytes_ += n;
  return Verdict::kOk;
}

void ConnLimits::Release(const std::string& peer, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  n = std::min(n, it->second.body_bytes);
  it->second.body_bytes -= n;
  body_bytes_ -= n;
  EraseIfEmpty(it);
}

size_t ConnLimits::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connections_;
}

size_t ConnLimits::body_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return body_bytes_;
}

size_t ConnLimits::peer_connections(const std::string& peer) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.connections;
}

void ConnLimits::EraseIfEmpty(std::unordered_map<std::string, Peer>::iterator it) {
  if (it != peers_.end() && it->second.connections == 0 && it->second.body_bytes == 0)
    peers_.erase(it);
}

size_t DeriveMaxConnections(size_t nofile_limit) {
  size_t headroom = std::clamp<size_t>(nofile_limit / 4, 64, 512);
  return nofile_limit > headroom + 16 ? nofile_limit - headroom : 16;
}

}  // namespace scrubd::server
