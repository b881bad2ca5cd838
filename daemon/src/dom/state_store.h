// StateStore: owns every live WindowState keyed by (token, session, window), bounds their
// memory, evicts idle windows and persists them as files under `dir` (docs/masking-state.md)
// so a restart never unmasks anything. Thread-safe; a Lease gives exclusive access to one
// window and must not outlive the store.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dom/window_state.h"
#include "scrubd/common/env.h"
#include "scrubd/common/status.h"

namespace scrubd::dom {

class StateStore {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::filesystem::path dir;      // created if missing; empty: memory only
    size_t max_bytes = 512u << 20;  // budget for in-memory states
    std::chrono::seconds idle_timeout{1800};
    std::function<Clock::time_point()> now;  // test seam; default steady_clock::now
    Env* env = nullptr;  // file-system seam for state files; null: Env::Default(); outlives
  };
  struct Stats {
    size_t windows = 0;        // in memory
    size_t bytes = 0;          // accounted MemoryBytes of idle (unleased) windows + last seen
    uint64_t loads = 0;        // states restored from disk
    uint64_t load_errors = 0;  // corrupt files (the window starts empty: fail closed)
    uint64_t persists = 0;
    uint64_t persist_errors = 0;
    uint64_t evictions = 0;           // idle + budget
    uint64_t temp_files_removed = 0;  // by Open: interrupted persists (never read back)
  };

  static Result<std::unique_ptr<StateStore>> Open(const Options& opts);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  struct Slot;
  // RAII exclusive access to one window's state.
  class Lease {
   public:
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) noexcept;
    ~Lease();
    WindowState& state();

   private:
    friend class StateStore;
    Lease(StateStore* store, std::shared_ptr<Slot> slot);
    StateStore* store_ = nullptr;
    std::shared_ptr<Slot> slot_;
  };

  // Blocks while another thread holds the same window. Loads the persisted state on first
  // use after a restart or eviction; a corrupt file yields an empty state (ids unknown, so
  // everything masks) and counts a load error.
  Lease Acquire(std::string_view token, std::string_view session_id, std::string_view window_id);
  size_t EvictIdle();   // persists then frees windows idle longer than the timeout; count
  Status PersistAll();  // graceful shutdown: writes every dirty window
  Status ForgetSession(std::string_view token, std::string_view session_id);  // GDPR erasure
  // Retention purge: ForgetSession of each (token, session id) with one pass over the windows
  // in memory and one fsync of the state directory for all; returns how many of them the store
  // held (HoldsSession just before).
  Result<uint64_t> ForgetSessions(const std::vector<std::pair<std::string, std::string>>& sessions);
  // Retention: removes every session directory on disk whose files were all last written
  // before `cutoff_unix_ms` and none of whose windows is in memory; returns how many
  // (`dry_run`: counts them and removes nothing).
  Result<uint64_t> RemoveUntouchedSince(int64_t cutoff_unix_ms, bool dry_run = false);
  // True while any window of the session is in memory or on disk (erasure counts, residue).
  bool HoldsSession(std::string_view token, std::string_view session_id) const;
  Stats stats() const;

 private:
  explicit StateStore(Options opts);
  void Release(const std::shared_ptr<Slot>& slot);
  void EnforceBudgetLocked(std::unique_lock<std::mutex>& lock);
  Status PersistSlot(Slot& slot);
  void LoadPage(Slot& slot);
  Status PersistPage(Slot& slot);
  std::filesystem::path SessionDir(std::string_view token, std::string_view session) const;
  std::filesystem::path WindowFile(std::string_view token, std::string_view session,
                                   std::string_view window) const;
  std::filesystem::path PageFile(std::string_view token, std::string_view session,
                                 std::string_view window) const;
  Clock::time_point Now() const;

  Options opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;  // key: token\0session\0window
  size_t bytes_ = 0;                                              // sum of Slot::bytes
  Stats stats_;
};

}  // namespace scrubd::dom
