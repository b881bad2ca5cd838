// The quarantine's bookkeeping: one FIFO per session, byte counters per session and per peer.
#include "consent/quarantine.h"

#include <algorithm>

namespace scrubd::consent {

std::string Quarantine::Key(const std::string& token, const std::string& id) {
  std::string k = token;
  k.push_back('\0');
  k += id;
  return k;
}

Quarantine::HoldResult Quarantine::Hold(HeldBatch& b) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = Key(b.token, b.session);
  if (!b.session.empty() && timed_out_.count(key)) return HoldResult::kTimedOut;
  if (total_bytes_ + b.bytes > limits_.total_bytes ||
      session_bytes_[key] + b.bytes > limits_.session_bytes ||
      peer_bytes_[b.peer] + b.bytes > limits_.peer_bytes) {
    if (session_bytes_[key] == 0) session_bytes_.erase(key);
    if (peer_bytes_[b.peer] == 0) peer_bytes_.erase(b.peer);
    return HoldResult::kFull;
  }
  total_bytes_ += b.bytes;
  session_bytes_[key] += b.bytes;
  peer_bytes_[b.peer] += b.bytes;
  ++batches_;
  std::deque<HeldBatch>& q = by_session_[key];
  // The wait is the session's: its later batches expire with its first (its FullSnapshot), so
  // a late grant never stores a recording whose start was deleted.
  if (!q.empty()) b.deadline_ms = std::min(b.deadline_ms, q.front().deadline_ms);
  q.push_back(std::move(b));
  return HoldResult::kHeld;
}

void Quarantine::Uncount(const HeldBatch& b) {
  const std::string key = Key(b.token, b.session);
  total_bytes_ -= b.bytes;
  --batches_;
  if ((session_bytes_[key] -= b.bytes) == 0) session_bytes_.erase(key);
  if ((peer_bytes_[b.peer] -= b.bytes) == 0) peer_bytes_.erase(b.peer);
}

std::vector<HeldBatch> Quarantine::TakeKeyLocked(const std::string& key) {
  std::vector<HeldBatch> out;
  auto it = by_session_.find(key);
  if (it == by_session_.end()) return out;
  for (HeldBatch& b : it->second) {
    Uncount(b);
    out.push_back(std::move(b));
  }
  by_session_.erase(it);
  return out;
}

std::vector<HeldBatch> Quarantine::Take(const std::string& token, const std::string& session) {
  std::lock_guard<std::mutex> lock(mu_);
  timed_out_.erase(Key(token, session));  // evidence decided it: holding may start afresh
  return TakeKeyLocked(Key(token, session));
}

std::vector<HeldBatch> Quarantine::TakeSubject(const std::string& token,
                                               const std::string& subject) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [key, q] : by_session_)  // a session whose distinct id changed: any batch
    for (const HeldBatch& b : q)
      if (b.token == token && b.subject == subject) {
        keys.push_back(key);
        break;
      }
  std::vector<HeldBatch> out;
  for (const std::string& k : keys)
    for (HeldBatch& b : TakeKeyLocked(k)) out.push_back(std::move(b));
  return out;
}

void Quarantine::PutBack(std::vector<HeldBatch> batches) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = batches.rbegin(); it != batches.rend(); ++it) {
    const std::string key = Key(it->token, it->session);
    total_bytes_ += it->bytes;
    session_bytes_[key] += it->bytes;
    peer_bytes_[it->peer] += it->bytes;
    ++batches_;
    by_session_[key].push_front(std::move(*it));
  }
}

std::vector<HeldBatch> Quarantine::TakeExpired(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HeldBatch> out;
  for (auto it = by_session_.begin(); it != by_session_.end();) {
    std::deque<HeldBatch>& q = it->second;
    if (!q.empty() && q.front().deadline_ms <= now_ms && now_ms != INT64_MAX) {
      if (timed_out_.size() >= kMaxTimedOut) timed_out_.clear();
      timed_out_.insert(it->first);
    }
    while (!q.empty() && q.front().deadline_ms <= now_ms) {
      Uncount(q.front());
      out.push_back(std::move(q.front()));
      q.pop_front();
    }
    it = q.empty() ? by_session_.erase(it) : std::next(it);
  }
  return out;
}

std::vector<HeldBatch> Quarantine::TakeAll() { return TakeExpired(INT64_MAX); }

QuarantineStats Quarantine::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return QuarantineStats{batches_, total_bytes_};
}

}  // namespace scrubd::consent
