// Per-peer and global admission for the HTTP layer: connection counts and body bytes charged as
// they arrive. Owned by HttpServer; every method is thread-safe (one mutex, O(1) per call).
// A peer is its remote address string; entries vanish when a peer holds nothing.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace scrubd::server {

struct ConnLimitsOptions {
  size_t max_connections = 1024;
  size_t max_connections_per_peer = 256;
  size_t max_inflight_body_bytes = 256u << 20;
  size_t max_peer_inflight_body_bytes = 64u << 20;
};

class ConnLimits {
 public:
  enum class Verdict { kOk, kGlobalFull, kPeerFull };

  explicit ConnLimits(ConnLimitsOptions opts) : opts_(opts) {}

  // Admits one more connection from `peer` unless the peer is at its cap. The global cap is
  // the caller's decision (it may shed idle connections first), so `global_ok` says it.
  Verdict OpenConnection(const std::string& peer, bool global_ok);
  void CloseConnection(const std::string& peer);
  // Charges `n` body bytes that have arrived; nothing is charged when the answer is not kOk.
  Verdict Charge(const std::string& peer, size_t n);
  void Release(const std::string& peer, size_t n);

  size_t connections() const;
  size_t body_bytes() const;
  size_t peer_connections(const std::string& peer) const;
  const ConnLimitsOptions& options() const { return opts_; }

 private:
  struct Peer {
    size_t connections = 0;
    size_t body_bytes = 0;
  };
  void EraseIfEmpty(std::unordered_map<std::string, Peer>::iterator it);

  const ConnLimitsOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Peer> peers_;  // guarded by mu_
  size_t connections_ = 0;                       // guarded by mu_
  size_t body_bytes_ = 0;                        // guarded by mu_
};

// The connection cap derived from a descriptor limit: the limit minus headroom for the store,
// audit log, spool, DOM state files and upstream sockets (a quarter, between 64 and 512).
size_t DeriveMaxConnections(size_t nofile_limit);

}  // namespace scrubd::server
