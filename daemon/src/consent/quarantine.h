// The consent quarantine: scrubbed batches of opt_in sessions that have no consent evidence yet,
// held in memory (never on disk) until evidence grants (released in arrival order), denies, or
// their deadline passes (docs/consent.md "Before consent"). Bounded in bytes overall, per
// session and per client address. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace scrubd::consent {

// What the pipeline keeps of a held batch (the scrubbed events and what storing them needs).
class HeldPayload {
 public:
  virtual ~HeldPayload() = default;
};

struct HeldBatch {
  std::string token, session, subject;  // subject: the pseudonym, may be empty
  std::string peer;                     // the client address (its byte budget)
  int64_t held_ms = 0, deadline_ms = 0;
  uint64_t bytes = 0, events = 0;
  std::unique_ptr<HeldPayload> payload;
};

struct QuarantineLimits {
  uint64_t total_bytes = 64ull << 20;
  uint64_t session_bytes = 8ull << 20;
  uint64_t peer_bytes = 16ull << 20;
};

struct QuarantineStats {
  uint64_t batches = 0, bytes = 0;
};

class Quarantine {
 public:
  explicit Quarantine(QuarantineLimits limits) : limits_(limits) {}

  // False (and `b` untouched) when a byte budget would be exceeded: the caller drops and counts.
  // A session's later batches take its first batch's deadline (the wait is per session).
  enum class HoldResult { kHeld, kFull, kTimedOut };
  // kTimedOut: the session's wait already ended (its start was deleted), so its later batches
  // are not held either until evidence arrives (remembered for the last kMaxTimedOut sessions).
  HoldResult Hold(HeldBatch& b);
  // Everything held for the session, oldest first.
  std::vector<HeldBatch> Take(const std::string& token, const std::string& session);
  // Everything held for the sessions of a subject pseudonym, oldest first per session.
  std::vector<HeldBatch> TakeSubject(const std::string& token, const std::string& subject);
  // Puts batches Take returned back in front of anything held since (a failed release).
  void PutBack(std::vector<HeldBatch> batches);
  // Every batch whose deadline is at or before `now_ms`.
  std::vector<HeldBatch> TakeExpired(int64_t now_ms);
  std::vector<HeldBatch> TakeAll();
  QuarantineStats Stats() const;

 private:
  static std::string Key(const std::string& token, const std::string& id);
  std::vector<HeldBatch> TakeKeyLocked(const std::string& key);
  void Uncount(const HeldBatch& b);

  static constexpr size_t kMaxTimedOut = 100000;
  const QuarantineLimits limits_;
  std::set<std::string> timed_out_;  // sessions whose wait ended; cleared when full
  mutable std::mutex mu_;
  std::map<std::string, std::deque<HeldBatch>> by_session_;  // token\0session
  std::map<std::string, uint64_t> session_bytes_, peer_bytes_;
  uint64_t total_bytes_ = 0, batches_ = 0;
};

}  // namespace scrubd::consent
