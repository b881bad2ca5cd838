// The work queue's thread loop.
#include "server/work_queue.h"

#include "server/guard.h"

namespace scrubd::server {

WorkQueue::WorkQueue(size_t max_pending) : max_pending_(max_pending), thread_([this] { Run(); }) {}

WorkQueue::~WorkQueue() { Stop(); }

bool WorkQueue::Post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || (max_pending_ && jobs_.size() >= max_pending_)) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WorkQueue::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

size_t WorkQueue::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

uint64_t WorkQueue::completed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completed_;
}

void WorkQueue::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;  // stopping and drained
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    busy_ = true;
    lock.unlock();
    RunGuarded("work queue job", job);
    lock.lock();
    busy_ = false;
    completed_++;
    if (jobs_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

}  // namespace scrubd::server
