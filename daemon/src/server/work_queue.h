// Long-running work off the request workers (erasure, status callbacks, upstream calls): one
// background thread running jobs FIFO. Post is thread-safe; Stop (or the destructor) refuses
// new jobs, runs those already queued, then joins. A job that throws is logged and dropped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace scrubd::server {

class WorkQueue {
 public:
  // `max_pending` 0: unbounded. The thread starts here.
  explicit WorkQueue(size_t max_pending = 0);
  ~WorkQueue();  // Stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `job`; false (job not queued) after Stop or when max_pending jobs wait.
  bool Post(std::function<void()> job);
  // Refuses new jobs, finishes the queued ones, joins the thread. Idempotent; not from a job.
  void Stop();
  // Blocks until every job posted before the call has run (tests, shutdown ordering).
  void WaitIdle();
  size_t pending() const;      // queued, not yet started
  uint64_t completed() const;  // jobs that returned or threw

 private:
  void Run();

  const size_t max_pending_;
  mutable std::mutex mu_;
  std::condition_variable wake_, idle_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  bool busy_ = false;                       // a job is running; guarded by mu_
  uint64_t completed_ = 0;                  // guarded by mu_
  std::thread thread_;                      // last: started once the rest is built
};

}  // namespace scrubd::server
