#include "dom/state_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <unordered_set>
#include <vector>

namespace scrubd::dom {
namespace {

namespace fs = std::filesystem;

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex128(std::string_view a, std::string_view b) {
  std::string joined(a);
  joined.push_back('\0');
  joined.append(b);
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx",
                static_cast<unsigned long long>(Fnv1a(joined, 1469598103934665603ull)),
                static_cast<unsigned long long>(Fnv1a(joined, 0x9e3779b97f4a7c15ull)));
  return buf;
}

std::string Key(std::string_view token, std::string_view session, std::string_view window) {
  std::string k;
  k.reserve(token.size() + session.size() + window.size() + 2);
  k.append(token).push_back('\0');
  k.append(session).push_back('\0');
  k.append(window);
  return k;
}

}  // namespace

struct StateStore::Slot {
  std::mutex mu;  // held by the Lease
  WindowState state;
  std::string key, token, session, window;
  bool loaded = false;
  // Guarded by StateStore::mu_:
  int leases = 0;
  Clock::time_point last_used{};
  size_t bytes = 0;
};

StateStore::StateStore(Options opts) : opts_(std::move(opts)) {
  if (!opts_.env) opts_.env = Env::Default();
}
StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::Open(const Options& opts) {
  std::unique_ptr<StateStore> store(new StateStore(opts));
  if (!opts.dir.empty()) {
    Env* env = store->opts_.env;
    if (Status s = env->CreateDirs(opts.dir, 0700); !s.ok())
      return Status::Io("dom state dir: " + s.message());
    std::error_code ec;
    if (!fs::is_directory(opts.dir, ec)) return Status::Io("dom state dir is not a directory");
    Result<uint64_t> temps = RemoveTempFiles(env, opts.dir);  // interrupted persists
    if (!temps.ok()) return Status::Io("dom state temp cleanup: " + temps.status().message());
    store->stats_.temp_files_removed = *temps;  // the caller logs it
  }
  return store;
}

StateStore::Clock::time_point StateStore::Now() const {
  return opts_.now ? opts_.now() : Clock::now();
}

fs::path StateStore::SessionDir(std::string_view token, std::string_view session) const {
  return opts_.dir / Hex128(token, session);
}

fs::path StateStore::WindowFile(std::string_view token, std::string_view session,
                                std::string_view window) const {
  return SessionDir(token, session) / (Hex128(window, "w") + ".dws");
}

fs::path StateStore::PageFile(std::string_view token, std::string_view session,
                              std::string_view window) const {
  return SessionDir(token, session) / (Hex128(window, "w") + ".dpg");
}

// ---------- Lease ----------

StateStore::Lease::Lease(StateStore* store, std::shared_ptr<Slot> slot)
    : store_(store), slot_(std::move(slot)) {}
StateStore::Lease::Lease(Lease&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)), slot_(std::move(o.slot_)) {}
StateStore::Lease& StateStore::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    if (store_ != nullptr && slot_) store_->Release(slot_);
    store_ = std::exchange(o.store_, nullptr);
    slot_ = std::move(o.slot_);
  }
  return *this;
}
StateStore::Lease::~Lease() {
  if (store_ != nullptr && slot_) store_->Release(slot_);
}
WindowState& StateStore::Lease::state() { return slot_->state; }

// ---------- store ----------

StateStore::Lease StateStore::Acquire(std::string_view token, std::string_view session_id,
                                      std::string_view window_id) {
  std::string key = Key(token, session_id, window_id);
  std::shared_ptr<Slot> slot;
  {
    std::unique_lock lock(mu_);
    auto& s = slots_[key];
    if (!s) {
      s = std::make_shared<Slot>();
      s->key = key;
      s->token = token;
      s->session = session_id;
      s->window = window_id;
      s->last_used = Now();
    }
    slot = s;
    ++slot->leases;
  }
  slot->mu.lock();
  if (!slot->loaded) {
    slot->loaded = true;
    if (!opts_.dir.empty()) {
      Result<std::string> bytes = opts_.env->ReadFile(WindowFile(token, session_id, window_id));
      if (bytes.ok()) {
        auto decoded = WindowState::Decode(*bytes, key);
        std::lock_guard lock(mu_);
        if (decoded.ok()) {
          slot->state = std::move(decoded).value();
          ++stats_.loads;
        } else if (decoded.status().code() != Code::kNotFound) {
          ++stats_.load_errors;  // empty state: every id unknown, so everything masks
        }
      }
      LoadPage(*slot);
    }
  }
  return Lease(this, std::move(slot));
}

void StateStore::Release(const std::shared_ptr<Slot>& slot) {
  size_t bytes = slot->state.MemoryBytes() + sizeof(Slot) + slot->key.size() * 2;
  slot->mu.unlock();
  std::unique_lock lock(mu_);
  --slot->leases;
  slot->last_used = Now();
  auto it = slots_.find(slot->key);
  if (it == slots_.end() || it->second != slot) return;  // forgotten meanwhile
  bytes_ = bytes_ - slot->bytes + bytes;
  slot->bytes = bytes;
  EnforceBudgetLocked(lock);
}

// The window's PageState (.dpg beside the .dws). Damage leaves the page unknown (fail closed:
// `blocking.unknown_url` decides) and counts a load error.
void StateStore::LoadPage(Slot& slot) {
  std::ifstream in(PageFile(slot.token, slot.session, slot.window), std::ios::binary);
  if (!in) return;
  std::ostringstream buf;
  buf << in.rdbuf();
  auto decoded = PageState::Decode(buf.str(), slot.key);
  if (decoded.ok()) {
    slot.state.page() = *decoded;
  } else if (decoded.status().code() != Code::kNotFound) {
    std::lock_guard lock(mu_);
    ++stats_.load_errors;
  }
}

Status StateStore::PersistPage(Slot& slot) {
  PageState& page = slot.state.page();
  if (!page.dirty) return Status::Ok();
  fs::path file = PageFile(slot.token, slot.session, slot.window);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return Status::Io("page state: " + ec.message());
  std::string bytes = page.Encode(slot.key);
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Status::Io("page state: cannot write a window file");
  }
  fs::rename(tmp, file, ec);
  if (ec) return Status::Io("page state: rename: " + ec.message());
  page.dirty = false;
  return Status::Ok();
}

Status StateStore::PersistSlot(Slot& slot) {
  if (opts_.dir.empty()) return Status::Ok();
  if (Status s = PersistPage(slot); !s.ok()) return s;
  if (!slot.state.dirty()) return Status::Ok();
  fs::path file = WindowFile(slot.token, slot.session, slot.window);
  if (Status s = opts_.env->CreateDirs(file.parent_path(), 0700); !s.ok())
    return Status::Io("dom state: " + s.message());
  // Old or new state, never torn: temp file, fsync, rename (WriteFileDurably).
  if (Status s = WriteFileDurably(opts_.env, file, slot.state.Encode(slot.key)); !s.ok())
    return Status::Io("dom state: " + s.message());
  slot.state.set_dirty(false);
  return Status::Ok();
}

void StateStore::EnforceBudgetLocked(std::unique_lock<std::mutex>& lock) {
  while (bytes_ > opts_.max_bytes) {
    std::shared_ptr<Slot> victim;
    for (auto& [k, s] : slots_) {
      if (s->leases == 0 && (!victim || s->last_used < victim->last_used)) victim = s;
    }
    if (!victim) return;  // everything leased: the budget is exceeded transiently
    {
      std::lock_guard slot_lock(victim->mu);  // only PersistAll can hold it now
      Status st = PersistSlot(*victim);
      ++(st.ok() ? stats_.persists : stats_.persist_errors);
    }
    bytes_ -= victim->bytes;
    slots_.erase(victim->key);
    ++stats_.evictions;
  }
}

size_t StateStore::EvictIdle() {
  std::unique_lock lock(mu_);
  Clock::time_point now = Now();
  std::vector<std::shared_ptr<Slot>> idle;
  for (auto& [k, s] : slots_)
    if (s->leases == 0 && now - s->last_used > opts_.idle_timeout) idle.push_back(s);
  for (auto& s : idle) {
    {
      std::lock_guard slot_lock(s->mu);
      Status st = PersistSlot(*s);
      ++(st.ok() ? stats_.persists : stats_.persist_errors);
    }
    bytes_ -= s->bytes;
    slots_.erase(s->key);
    ++stats_.evictions;
  }
  return idle.size();
}

Status StateStore::PersistAll() {
  std::vector<std::shared_ptr<Slot>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [k, s] : slots_) all.push_back(s);
  }
  Status first;
  for (auto& s : all) {
    Status st;
    {
      std::lock_guard slot_lock(s->mu);
      st = PersistSlot(*s);
    }
    std::lock_guard lock(mu_);
    ++(st.ok() ? stats_.persists : stats_.persist_errors);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

Status StateStore::ForgetSession(std::string_view token, std::string_view session_id) {
  std::string prefix = Key(token, session_id, "");
  {
    std::lock_guard lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (it->first.compare(0, prefix.size(), prefix) == 0) {
        bytes_ -= it->second->bytes;
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (opts_.dir.empty()) return Status::Ok();
  // Through the Env (fault-injectable), then an fsync of the parent so the removal is durable.
  Result<uint64_t> n = opts_.env->RemoveAll(SessionDir(token, session_id));
  if (!n.ok()) return Status::Io("dom state: erase session: " + n.status().message());
  if (Status s = opts_.env->SyncDir(opts_.dir); !s.ok())
    return Status::Io("dom state: erase session: " + s.message());
  return Status::Ok();
}

Result<uint64_t> StateStore::ForgetSessions(
    const std::vector<std::pair<std::string, std::string>>& sessions) {
  std::unordered_set<std::string> prefixes, in_memory;  // Key(token, session, "")
  for (const auto& [token, session] : sessions) prefixes.insert(Key(token, session, ""));
  {
    std::lock_guard lock(mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      const size_t a = it->first.find('\0');
      const size_t b = a == std::string::npos ? a : it->first.find('\0', a + 1);
      std::string prefix = b == std::string::npos ? std::string() : it->first.substr(0, b + 1);
      if (!prefix.empty() && prefixes.count(prefix)) {
        in_memory.insert(std::move(prefix));
        bytes_ -= it->second->bytes;
        it = slots_.erase(it);
      } else {
        ++it;
      }
    }
  }
  uint64_t held = 0;
  for (const auto& [token, session] : sessions) {
    bool had = in_memory.count(Key(token, session, "")) > 0;
    if (!opts_.dir.empty()) {  // state directories hold files only: removed files = held
      Result<uint64_t> n = opts_.env->RemoveAll(SessionDir(token, session));
      if (!n.ok()) return Status::Io("dom state: erase session: " + n.status().message());
      had = had || *n > 0;
    }
    held += had ? 1 : 0;
  }
  if (opts_.dir.empty() || sessions.empty()) return held;
  if (Status s = opts_.env->SyncDir(opts_.dir); !s.ok())
    return Status::Io("dom state: erase session: " + s.message());
  return held;
}

namespace {

// The newest modification time (Unix ms) of the files in `dir`; 0 when it has none.
int64_t NewestMtimeMs(const fs::path& dir) {
  int64_t newest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    struct stat st;
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    int64_t ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    newest = std::max(newest, ms);
  }
  return newest;
}

}  // namespace

Result<uint64_t> StateStore::RemoveUntouchedSince(int64_t cutoff_unix_ms, bool dry_run) {
  if (opts_.dir.empty()) return uint64_t{0};
  std::set<std::string> live;  // session directory names of windows in memory
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, slot] : slots_)
      live.insert(SessionDir(slot->token, slot->session).filename().string());
  }
  Result<std::vector<std::string>> dirs = opts_.env->GetChildren(opts_.dir);
  if (!dirs.ok()) return Status::Io("dom state: list: " + dirs.status().message());
  uint64_t removed = 0;
  for (const std::string& name : *dirs) {
    fs::path dir = opts_.dir / name;
    if (live.count(name) || !fs::is_directory(fs::symlink_status(dir))) continue;
    if (NewestMtimeMs(dir) >= cutoff_unix_ms) continue;
    if (dry_run) {
      ++removed;
      continue;
    }
    Result<uint64_t> n = opts_.env->RemoveAll(dir);
    if (!n.ok()) return Status::Io("dom state: expire session: " + n.status().message());
    ++removed;
  }
  if (removed > 0 && !dry_run)
    if (Status s = opts_.env->SyncDir(opts_.dir); !s.ok())
      return Status::Io("dom state: expire: " + s.message());
  return removed;
}

bool StateStore::HoldsSession(std::string_view token, std::string_view session_id) const {
  std::string prefix = Key(token, session_id, "");
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, slot] : slots_)
      if (key.compare(0, prefix.size(), prefix) == 0) return true;
  }
  if (opts_.dir.empty()) return false;
  Result<std::vector<std::string>> files = opts_.env->GetChildren(SessionDir(token, session_id));
  return files.ok() && !files->empty();
}

StateStore::Stats StateStore::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.windows = slots_.size();
  s.bytes = bytes_;
  return s;
}

}  // namespace scrubd::dom
