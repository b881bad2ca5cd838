// PosixEnv: the production Env over open(2)/write(2)/fdatasync(2)/rename(2). Messages name
// the operation and errno, never the path: paths under the data dir are built from ids.
#include "scrubd/common/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <vector>

namespace scrubd {
namespace fs = std::filesystem;

namespace {

Status ErrnoStatus(const char* op, int err) {
  return Status::Io(std::string(op) + ": " + std::strerror(err));
}

class PosixWritableFile : public WritableFile {
 public:
  explicit PosixWritableFile(int fd) : fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Append(std::string_view data) override {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", errno);
      }
      off += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", errno);
    return Status::Ok();
  }
  Status Fsync() override {
    if (::fsync(fd_) != 0) return ErrnoStatus("fsync", errno);
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("ftruncate", errno);
    return Status::Ok();
  }
  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoStatus("close", errno);
    return Status::Ok();
  }

 private:
  int fd_;
};

// Unlinks `name` (relative to `dirfd`, or a path with AT_FDCWD); a directory is emptied first,
// depth first, by names read before any removal. Symlinks are unlinked, never followed.
Status RemoveTreeAt(int dirfd, const char* name, uint64_t* removed, int depth) {
  if (::unlinkat(dirfd, name, 0) == 0) {
    ++*removed;
    return Status::Ok();
  }
  if (errno == ENOENT) return Status::Ok();
  if (errno != EISDIR && errno != EPERM) return ErrnoStatus("unlink", errno);
  if (depth > 64) return Status::Io("remove tree: too deep");
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : ErrnoStatus("open dir", errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int e = errno;
    ::close(fd);
    return ErrnoStatus("opendir", e);
  }
  std::vector<std::string> names;
  while (struct dirent* ent = ::readdir(d)) {
    std::string_view n = ent->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  Status s = Status::Ok();
  for (const std::string& n : names) {
    s = RemoveTreeAt(::dirfd(d), n.c_str(), removed, depth + 1);
    if (!s.ok()) break;
  }
  ::closedir(d);
  if (!s.ok()) return s;
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    return ErrnoStatus("rmdir", errno);
  return Status::Ok();
}

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const fs::path& p,
                                                        const OpenOptions& o) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
    if (o.append) flags |= O_APPEND;
    if (o.truncate) flags |= O_TRUNC;
    if (o.exclusive) flags |= O_EXCL;
    int fd = ::open(p.c_str(), flags, o.mode);
    if (fd < 0) return ErrnoStatus("open", errno);
    if ((o.truncate || o.exclusive) && ::fchmod(fd, static_cast<mode_t>(o.mode)) != 0) {
      int e = errno;
      ::close(fd);
      return ErrnoStatus("fchmod", e);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd));
  }

  Result<std::string> ReadFile(const fs::path& p) override {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound("no such file");
      return ErrnoStatus("open", errno);
    }
    std::string out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        int e = errno;
        ::close(fd);
        return ErrnoStatus("read", e);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }

  Status RenameFile(const fs::path& from, const fs::path& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", errno);
    return Status::Ok();
  }

  Status RemoveFile(const fs::path& p) override {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", errno);
    return Status::Ok();
  }

  Status CreateDirs(const fs::path& p, int mode) override {
    if (p.empty()) return Status::Ok();
    if (::mkdir(p.c_str(), static_cast<mode_t>(mode)) == 0) return Status::Ok();
    if (errno == EEXIST) {
      std::error_code ec;
      if (fs::is_directory(p, ec)) return Status::Ok();
      return Status::Io("mkdir: exists and is not a directory");
    }
    if (errno != ENOENT) return ErrnoStatus("mkdir", errno);
    if (Status s = CreateDirs(p.parent_path(), mode); !s.ok()) return s;
    if (::mkdir(p.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      return ErrnoStatus("mkdir", errno);
    return Status::Ok();
  }

  Status SyncDir(const fs::path& p) override {
    int fd = ::open(p.empty() ? "." : p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open dir", errno);
    int rc = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus("fsync dir", e);
    return Status::Ok();
  }

  Result<uint64_t> RemoveAll(const fs::path& p) override {
    uint64_t removed = 0;
    if (Status s = RemoveTreeAt(AT_FDCWD, p.c_str(), &removed, 0); !s.ok()) return s;
    return removed;
  }

  Result<std::vector<std::string>> GetChildren(const fs::path& p) override {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p, ec)) out.push_back(e.path().filename());
    if (ec) return Status::Io("list directory: " + ec.message());
    return out;
  }

  Result<uint64_t> FileSize(const fs::path& p) override {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::NotFound("no such file");
      return ErrnoStatus("stat", errno);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  bool FileExists(const fs::path& p) override { return ::access(p.c_str(), F_OK) == 0; }

  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();  // never destroyed: used from static destructors too
  return env;
}

Status WriteFileDurably(Env* env, const fs::path& path, std::string_view data, int mode) {
  static std::atomic<uint64_t> counter{0};
  OpenOptions o;
  o.mode = mode;
  // O_EXCL: a name someone planted (a symlink to a victim file, a leftover of a crashed run
  // with this pid) is never opened through; the next name is tried instead.
  o.exclusive = true;
  fs::path tmp;
  Result<std::unique_ptr<WritableFile>> f = Status::Io("no temp name");
  for (int attempt = 0; attempt < 64; ++attempt) {
    tmp = path;
    tmp += ".tmp" + std::to_string(::getpid()) + "." + std::to_string(counter++);
    f = env->NewWritableFile(tmp, o);
    if (f.ok() || !env->FileExists(tmp)) break;  // another failure than a taken name
  }
  if (!f.ok()) return f.status();
  Status s = (*f)->Append(data);
  if (s.ok()) s = (*f)->Fsync();
  if (Status c = (*f)->Close(); s.ok()) s = c;
  if (s.ok()) s = env->RenameFile(tmp, path);
  if (!s.ok()) {
    // A temp file that cannot be removed now is removed at the next start (RemoveTempFiles).
    if (Status r = env->RemoveFile(tmp); !r.ok())
      return Status::Io(s.message() + "; temp file left for cleanup at start");
    return s;
  }
  return env->SyncDir(path.parent_path());
}

bool IsTempFileName(std::string_view name) {
  size_t at = name.rfind(".tmp");
  if (at == std::string_view::npos) return false;
  std::string_view rest = name.substr(at + 4);  // "", "PID.N" or "" (".tmp" suffix)
  for (char c : rest)
    if ((c < '0' || c > '9') && c != '.') return false;
  return true;
}

Result<uint64_t> RemoveTempFiles(Env* env, const fs::path& root) {
  uint64_t removed = 0;
  std::error_code ec;
  if (!fs::exists(root, ec)) return removed;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Status::Io("list directory: " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Io("list directory: " + ec.message());
    if (!it->is_regular_file(ec) || !IsTempFileName(it->path().filename().string())) continue;
    if (Status s = env->RemoveFile(it->path()); !s.ok()) return s;
    ++removed;
  }
  if (ec) return Status::Io("list directory: " + ec.message());
  return removed;
}

}  // namespace scrubd
