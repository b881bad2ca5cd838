// A per-request CPU budget (thread CPU time, so time spent waiting for a lock or a socket does
// not count). Created by the server for one request and polled by the data-plane loops (DOM
// pass, string pass); a poll reads the clock only every kStride calls. Not thread-safe: one
// request, one thread.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace scrubd {

class Deadline {
 public:
  static constexpr uint32_t kStride = 64;

  Deadline() = default;  // unlimited
  // A zero or negative budget means unlimited.
  explicit Deadline(std::chrono::nanoseconds budget) {
    if (budget.count() > 0) end_ns_ = NowNs() + budget.count();
  }

  // True once the budget is spent (sticky). Cheap: polls the clock every kStride calls.
  bool Expired() {
    if (expired_) return true;
    if (end_ns_ == 0 || polls_++ % kStride != 0) return false;
    expired_ = NowNs() >= end_ns_;
    return expired_;
  }
  // Reads the clock now, for coarse loops (one call per event, not per node).
  bool ExpiredNow() {
    if (!expired_ && end_ns_ != 0) expired_ = NowNs() >= end_ns_;
    return expired_;
  }
  bool expired() const { return expired_; }

 private:
  static int64_t NowNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }

  int64_t end_ns_ = 0;  // 0: unlimited
  uint32_t polls_ = 0;
  bool expired_ = false;
};

}  // namespace scrubd
