// FaultEnv: see fault_env.h. The wrapped WritableFile asks its FaultEnv before each call.
#include "scrubd/common/fault_env.h"

#include <cerrno>
#include <cstring>
#include <vector>

namespace scrubd {
namespace fs = std::filesystem;

namespace {

Status Injected(const char* op, FaultKind kind) {
  int err = kind == FaultKind::kEio ? EIO : ENOSPC;
  return Status::Io(std::string(op) + ": " + std::strerror(err));
}

class FaultWritableFile : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  Status Append(std::string_view data) override {
    std::optional<FaultKind> k = env_->Check(FaultOp::kAppend, path_);
    if (!k) return base_->Append(data);
    if (*k == FaultKind::kShortWrite) {
      if (Status s = base_->Append(data.substr(0, data.size() / 2)); !s.ok()) return s;
    }
    return Injected("write", *k);
  }
  Status Sync() override {
    if (auto k = env_->Check(FaultOp::kSync, path_)) return Injected("fdatasync", *k);
    return base_->Sync();
  }
  Status Fsync() override {
    if (auto k = env_->Check(FaultOp::kSync, path_)) return Injected("fsync", *k);
    return base_->Fsync();
  }
  Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  Status Close() override { return base_->Close(); }

 private:
  FaultEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

const char* FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kOpen: return "open";
    case FaultOp::kAppend: return "append";
    case FaultOp::kSync: return "sync";
    case FaultOp::kRename: return "rename";
    case FaultOp::kMkdir: return "mkdir";
    case FaultOp::kRemove: return "remove";
  }
  return "?";
}

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kEnospc: return "enospc";
    case FaultKind::kEio: return "eio";
    case FaultKind::kShortWrite: return "short_write";
  }
  return "?";
}

void FaultEnv::Arm(const FaultSpec& spec) {
  std::lock_guard<std::mutex> lock(mu_);
  spec_ = spec;
  seen_ = 0;
  armed_ = true;
}

void FaultEnv::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = false;
}

std::optional<FaultKind> FaultEnv::Check(FaultOp op, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!armed_ || op != spec_.op) return std::nullopt;
  if (!spec_.path_contains.empty() && path.find(spec_.path_contains) == std::string::npos)
    return std::nullopt;
  if (seen_++ < spec_.skip) return std::nullopt;
  if (!spec_.sticky) armed_ = false;
  injected_++;
  return spec_.kind;
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const fs::path& p,
                                                                const OpenOptions& o) {
  if (auto k = Check(FaultOp::kOpen, p.string())) return Injected("open", *k);
  Result<std::unique_ptr<WritableFile>> base = target()->NewWritableFile(p, o);
  if (!base.ok()) return base.status();
  return std::unique_ptr<WritableFile>(
      new FaultWritableFile(this, p.string(), std::move(base).value()));
}

Status FaultEnv::RenameFile(const fs::path& f, const fs::path& t) {
  if (auto k = Check(FaultOp::kRename, t.string())) return Injected("rename", *k);
  return target()->RenameFile(f, t);
}

Status FaultEnv::RemoveFile(const fs::path& p) {
  if (auto k = Check(FaultOp::kRemove, p.string())) return Injected("unlink", *k);
  return target()->RemoveFile(p);
}

Status FaultEnv::CreateDirs(const fs::path& p, int mode) {
  if (auto k = Check(FaultOp::kMkdir, p.string())) return Injected("mkdir", *k);
  return target()->CreateDirs(p, mode);
}

Status FaultEnv::SyncDir(const fs::path& p) {
  if (auto k = Check(FaultOp::kSync, p.string())) return Injected("fsync dir", *k);
  return target()->SyncDir(p);
}

Result<uint64_t> FaultEnv::RemoveAll(const fs::path& p) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(p, ec);
  if (ec || !fs::is_directory(st)) {
    if (ec && !fs::exists(st)) return uint64_t{0};
    if (Status s = RemoveFile(p); !s.ok()) return s;
    return uint64_t{1};
  }
  std::vector<fs::path> children;
  for (const auto& e : fs::directory_iterator(p, ec)) children.push_back(e.path());
  if (ec) return Status::Io("list directory: " + ec.message());
  uint64_t removed = 0;
  for (const fs::path& c : children) {
    Result<uint64_t> n = RemoveAll(c);
    if (!n.ok()) return n.status();
    removed += *n;
  }
  if (auto k = Check(FaultOp::kRemove, p.string())) return Injected("rmdir", *k);
  Result<uint64_t> rest = target()->RemoveAll(p);  // now empty: removes the directory
  if (!rest.ok()) return rest.status();
  return removed + *rest;
}

}  // namespace scrubd
