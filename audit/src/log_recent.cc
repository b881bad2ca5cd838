// Log::Recent and Log::NewestCheckpoint: what the daemon's console shows of the log. The lock
// is held only to copy the newest leaves' locations; the records are read outside it (one
// open per segment), so appenders are not held up.
#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "log_state.h"

namespace scrubd::audit {
namespace {

Status PreadExact(int fd, uint64_t offset, size_t len, std::string* out) {
  out->resize(len);
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, out->data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Io("audit segment: short read");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// The record body at `offset` of the open segment `fd`, checked against `leaf`.
Result<std::string> ReadBody(int fd, uint64_t offset, const Hash& leaf) {
  std::string len_bytes, body;
  if (Status s = PreadExact(fd, offset, 4, &len_bytes); !s.ok()) return s;
  const uint32_t len = format::GetU32(len_bytes.data());
  if (len == 0 || len > format::kMaxBodyLen)
    return Status::Corruption("audit record length is out of range");
  if (Status s = PreadExact(fd, offset + 4, len, &body); !s.ok()) return s;
  if (LeafHash(AsBytes(body)) != leaf)
    return Status::Corruption("audit entry on disk does not match its leaf hash");
  return body;
}

}  // namespace

Result<std::vector<RecentEntry>> Log::Recent(uint64_t max_entries) const {
  std::vector<RecentLeaves::Located> leaves;
  uint64_t end = 0;
  fs::path dir;
  {
    std::lock_guard<std::mutex> lk(state_->mu);
    leaves = state_->recent.Newest(max_entries);
    end = state_->recent.end();
    dir = state_->dir;
  }
  std::map<uint64_t, int> fds;  // segment first seq -> fd
  std::vector<RecentEntry> out;
  Status s = Status::Ok();
  for (size_t i = leaves.size(); s.ok() && i-- > 0;) {
    const RecentLeaves::Located& l = leaves[i];
    int& fd = fds.try_emplace(l.where.segment_first_seq, -1).first->second;
    if (fd < 0) {
      const fs::path path = dir / format::SegmentName(l.where.segment_first_seq);
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) s = log_detail::Errno(path.filename().string());
    }
    Result<std::string> body =
        s.ok() ? ReadBody(fd, l.where.offset, l.leaf) : Result<std::string>(s);
    if (!body.ok()) {
      s = body.status();
      break;
    }
    format::Entry e;
    std::string why;
    if (!format::DecodeBody(*body, &e, &why)) s = Status::Corruption("audit entry: " + why);
    const uint64_t seq = end - leaves.size() + i;
    if (s.ok() && e.seq != seq) s = Status::Corruption("audit entry seq does not match its place");
    if (s.ok()) out.push_back({e.seq, e.time_us, std::string(e.type), std::string(e.payload)});
  }
  for (const auto& [first, fd] : fds)
    if (fd >= 0) ::close(fd);
  if (!s.ok()) return s;
  return out;
}

fs::path Log::Dir() const { return state_->dir; }

CheckpointStatus Log::NewestCheckpoint() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  const State& st = *state_;
  CheckpointStatus c;
  c.size = st.last_cp_size;
  c.entries = st.size.load();
  c.time_us = st.last_cp_time;
  c.note = st.last_note_text;
  if (Result<format::Note> n = format::ParseNote(c.note); n.ok()) {  // the format's one reader
    c.origin = n->origin;
    c.root = Base64Encode(n->root);
  }
  return c;
}

}  // namespace scrubd::audit
