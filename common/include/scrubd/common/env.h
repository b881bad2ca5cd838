// Env: the file-system and clock seam (LevelDB's Env). Every scrubd write path (local store,
// spool, audit log, DOM state) goes through an Env, so tests can inject ENOSPC, EIO, short
// writes and fsync failures (fault_env.h). Env::Default() is a process-wide PosixEnv; an Env
// and its files are thread-safe unless a method says otherwise. Errors are Status values whose
// messages name the operation and the errno text, never the path (paths can hold ids).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd {

// A file open for writing. Not safe for concurrent Append; Sync may run beside Append.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end of the file (O_APPEND) or at the current offset.
  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;   // fdatasync
  virtual Status Fsync() = 0;  // fsync (data and metadata)
  virtual Status Truncate(uint64_t size) = 0;
  virtual Status Close() = 0;  // idempotent; the destructor closes too
};

struct OpenOptions {
  bool append = false;     // O_APPEND
  bool truncate = true;    // O_TRUNC; set false to keep the content
  bool exclusive = false;  // O_EXCL: fail if the file exists
  int mode = 0600;         // applied exactly (fchmod) unless the file is opened to keep content
};

class Env {
 public:
  virtual ~Env() = default;
  // The shared PosixEnv. Never destroyed.
  static Env* Default();

  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::filesystem::path& p,
                                                                const OpenOptions& o) = 0;
  // Whole-file read. kNotFound when the file does not exist.
  virtual Result<std::string> ReadFile(const std::filesystem::path& p) = 0;
  virtual Status RenameFile(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  virtual Status RemoveFile(const std::filesystem::path& p) = 0;  // ok if absent
  // Creates `p` and missing parents; ok if it exists. New directories get `mode`.
  virtual Status CreateDirs(const std::filesystem::path& p, int mode = 0700) = 0;
  virtual Status SyncDir(const std::filesystem::path& p) = 0;
  // Removes `p` and everything under it, never following symlinks; ok if absent. Returns the
  // number of non-directory entries unlinked. Does not fsync: the caller syncs the parent.
  virtual Result<uint64_t> RemoveAll(const std::filesystem::path& p) = 0;
  // Names (not paths) of the entries of a directory.
  virtual Result<std::vector<std::string>> GetChildren(const std::filesystem::path& p) = 0;
  virtual Result<uint64_t> FileSize(const std::filesystem::path& p) = 0;
  virtual bool FileExists(const std::filesystem::path& p) = 0;
  virtual uint64_t NowMicros() = 0;  // wall clock, Unix microseconds
};

// Forwards every call to a target Env; subclasses override only what they change.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}  // target outlives the wrapper
  Env* target() const { return target_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::filesystem::path& p,
                                                        const OpenOptions& o) override {
    return target_->NewWritableFile(p, o);
  }
  Result<std::string> ReadFile(const std::filesystem::path& p) override {
    return target_->ReadFile(p);
  }
  Status RenameFile(const std::filesystem::path& f, const std::filesystem::path& t) override {
    return target_->RenameFile(f, t);
  }
  Status RemoveFile(const std::filesystem::path& p) override { return target_->RemoveFile(p); }
  Status CreateDirs(const std::filesystem::path& p, int mode) override {
    return target_->CreateDirs(p, mode);
  }
  Status SyncDir(const std::filesystem::path& p) override { return target_->SyncDir(p); }
  Result<uint64_t> RemoveAll(const std::filesystem::path& p) override {
    return target_->RemoveAll(p);
  }
  Result<std::vector<std::string>> GetChildren(const std::filesystem::path& p) override {
    return target_->GetChildren(p);
  }
  Result<uint64_t> FileSize(const std::filesystem::path& p) override {
    return target_->FileSize(p);
  }
  bool FileExists(const std::filesystem::path& p) override { return target_->FileExists(p); }
  uint64_t NowMicros() override { return target_->NowMicros(); }

 private:
  Env* target_;
};

// Writes `data` to `path` atomically and durably: a unique temp name beside it
// (`<name>.tmp<pid>.<n>`), full write, fsync, rename, fsync of the directory. On any error the
// temp file is removed and `path` keeps its old content (or stays absent).
Status WriteFileDurably(Env* env, const std::filesystem::path& path, std::string_view data,
                        int mode = 0600);

// True for names WriteFileDurably (or an older writer) uses for temp files: they hold a write
// that was never acknowledged.
bool IsTempFileName(std::string_view name);

// Removes every temp file (IsTempFileName) under `root`, recursively. Returns the count.
Result<uint64_t> RemoveTempFiles(Env* env, const std::filesystem::path& root);

}  // namespace scrubd
