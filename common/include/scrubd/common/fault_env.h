// FaultEnv: an EnvWrapper for tests that fails chosen file-system calls, the way a full or
// broken disk does: ENOSPC or EIO on a write, a short write (part of the data lands, then
// the error), a failing fsync/fdatasync, rename, open or mkdir. A fault is armed for one
// operation kind on paths containing a substring, optionally after skipping N matching
// calls, once or until cleared. Thread-safe. Tests only; production code takes an Env*.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "scrubd/common/env.h"

namespace scrubd {

enum class FaultOp { kOpen, kAppend, kSync, kRename, kMkdir, kRemove };

enum class FaultKind {
  kEnospc,      // the call fails with ENOSPC; an Append writes nothing
  kEio,         // the call fails with EIO
  kShortWrite,  // Append: the first half of the data is written, then ENOSPC
};

struct FaultSpec {
  FaultOp op = FaultOp::kAppend;
  FaultKind kind = FaultKind::kEnospc;
  std::string path_contains;  // empty: any path
  uint64_t skip = 0;          // let this many matching calls through first
  bool sticky = true;         // keep failing until Clear(); false: fail once
};

class FaultEnv : public EnvWrapper {
 public:
  explicit FaultEnv(Env* target = Env::Default()) : EnvWrapper(target) {}

  void Arm(const FaultSpec& spec);
  void Clear();
  uint64_t injected() const { return injected_.load(); }  // faults returned so far

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::filesystem::path& p,
                                                        const OpenOptions& o) override;
  Status RenameFile(const std::filesystem::path& f, const std::filesystem::path& t) override;
  Status RemoveFile(const std::filesystem::path& p) override;
  Status CreateDirs(const std::filesystem::path& p, int mode) override;
  Status SyncDir(const std::filesystem::path& p) override;
  // Walks the tree itself so a kRemove fault can hit any single file or directory in it.
  Result<uint64_t> RemoveAll(const std::filesystem::path& p) override;

  // For the wrapped files: the fault to return for `op` on `path`, if one fires now.
  std::optional<FaultKind> Check(FaultOp op, const std::string& path);

 private:
  std::mutex mu_;
  bool armed_ = false;
  FaultSpec spec_;
  uint64_t seen_ = 0;
  std::atomic<uint64_t> injected_{0};
};

const char* FaultOpName(FaultOp op);
const char* FaultKindName(FaultKind kind);

}  // namespace scrubd
