// Spool files: see SPOOL_FORMAT.md. Logs carry sequence numbers, token and batch ids only.
#include "sink/spool.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace scrubd::sink {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "scrubd-spool 1";
constexpr size_t kMaxHeader = 8192;
// Written by Erase: the next sequence number, so erased numbers are never handed out again.
constexpr char kNextSeqFile[] = "next-seq";

std::string Crc32Hex(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large bodies in pieces.
  size_t off = 0;
  while (off < data.size()) {
    size_t n = std::min<size_t>(data.size() - off, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + off), static_cast<uInt>(n));
    off += n;
  }
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08lx", static_cast<unsigned long>(crc & 0xffffffffUL));
  return buf;
}

// "00000000000000000042.req" -> 42.
std::optional<uint64_t> SeqFromName(const std::string& name) {
  if (name.size() != 24 || !name.ends_with(".req")) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return v;
}

std::string NameFor(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(seq));
  return std::string(buf);
}

bool HasNewline(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

std::string Spool::Encode(const SpoolRecord& r) {
  std::string out;
  out.reserve(r.body.size() + 256);
  out += kMagic;
  out += "\ntarget " + r.target;
  out += "\ncontent-type " + r.content_type;
  out += "\ntoken " + r.token;
  out += "\nbatch " + r.batch_id;
  if (!r.client_ip.empty()) out += "\nclient-ip " + r.client_ip;
  out += "\nevents " + std::to_string(r.events);
  out += "\ncreated-ms " + std::to_string(r.created_ms);
  out += "\nbody-bytes " + std::to_string(r.body.size());
  out += "\nbody-crc32 " + Crc32Hex(r.body);
  out += "\n\n";
  out += r.body;
  return out;
}

Result<SpoolRecord> Spool::Decode(std::string_view file) {
  size_t end = file.substr(0, kMaxHeader).find("\n\n");
  if (end == std::string_view::npos) return Status::Corruption("no header end");
  std::string_view header = file.substr(0, end + 1);
  std::string_view body = file.substr(end + 2);
  SpoolRecord r;
  std::optional<uint64_t> body_bytes;
  std::string crc;
  bool first = true;
  while (!header.empty()) {
    size_t nl = header.find('\n');
    std::string_view line = header.substr(0, nl);
    header.remove_prefix(nl + 1);
    if (first) {
      if (line != kMagic) return Status::Corruption("bad magic or version");
      first = false;
      continue;
    }
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string value(sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1));
    auto number = [&](const char* what) -> Result<uint64_t> {
      char* e = nullptr;
      unsigned long long n = std::strtoull(value.c_str(), &e, 10);
      if (value.empty() || *e != '\0') return Status::Corruption(std::string("bad ") + what);
      return static_cast<uint64_t>(n);
    };
    if (key == "target") {
      r.target = value;
    } else if (key == "content-type") {
      r.content_type = value;
    } else if (key == "token") {
      r.token = value;
    } else if (key == "batch") {
      r.batch_id = value;
    } else if (key == "client-ip") {
      r.client_ip = value;
    } else if (key == "events") {
      Result<uint64_t> n = number("events");
      if (!n.ok()) return n.status();
      r.events = *n;
    } else if (key == "created-ms") {
      Result<uint64_t> n = number("created-ms");
      if (!n.ok()) return n.status();
      r.created_ms = static_cast<int64_t>(*n);
    } else if (key == "body-bytes") {
      Result<uint64_t> n = number("body-bytes");
      if (!n.ok()) return n.status();
      body_bytes = *n;
    } else if (key == "body-crc32") {
      crc = value;
    }  // unknown keys: ignored (forward compatible)
  }
  if (first) return Status::Corruption("bad magic or version");
  if (r.target.empty() || r.target[0] != '/') return Status::Corruption("missing target");
  if (!body_bytes || crc.empty()) return Status::Corruption("missing body-bytes or body-crc32");
  if (body.size() != *body_bytes)
    return Status::Corruption("body is " + std::to_string(body.size()) + " bytes, header says " +
                              std::to_string(*body_bytes));
  if (Crc32Hex(body) != crc) return Status::Corruption("body crc32 mismatch");
  r.body = std::string(body);
  return r;
}

Result<std::unique_ptr<Spool>> Spool::Open(Options options) {
  if (!options.now_ms)
    options.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (!options.env) options.env = Env::Default();
  if (Status c = options.env->CreateDirs(options.dir / "dead", 0700); !c.ok())
    return Status::Io("create spool directory: " + c.message());
  std::error_code ec;
  fs::permissions(options.dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  std::unique_ptr<Spool> s(new Spool(std::move(options)));
  uint64_t max_seq = 0;
  uint64_t temps = 0;
  for (const auto& e : fs::directory_iterator(s->opts_.dir, ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file()) continue;
    if (IsTempFileName(name)) {  // never acknowledged
      if (Status r = s->opts_.env->RemoveFile(e.path()); !r.ok())
        return Status::Io("spool temp cleanup: " + r.message());
      ++temps;
      continue;
    }
    std::optional<uint64_t> seq = SeqFromName(name);
    if (name == kNextSeqFile) continue;
    if (!seq) {
      spdlog::warn("spool: ignoring unexpected file {}", name);
      continue;
    }
    uint64_t size = e.file_size(ec);
    s->pending_[*seq] = size;
    s->pending_bytes_ += size;
    max_seq = std::max(max_seq, *seq);
  }
  if (ec) return Status::Io("list spool directory: " + ec.message());
  for (const auto& e : fs::directory_iterator(s->opts_.dir / "dead", ec)) {
    std::optional<uint64_t> seq = SeqFromName(e.path().filename().string());
    if (!seq) continue;
    max_seq = std::max(max_seq, *seq);
    s->counters_.dead_files++;
  }
  s->next_seq_ = max_seq + 1;
  // Erase may have removed the highest numbers; the floor it wrote keeps them unused.
  if (Result<std::string> floor = s->opts_.env->ReadFile(s->opts_.dir / kNextSeqFile); floor.ok()) {
    uint64_t n = std::strtoull(floor->c_str(), nullptr, 10);
    s->next_seq_ = std::max(s->next_seq_, n);
  } else if (floor.status().code() != Code::kNotFound) {
    return Status::Io("read spool next-seq: " + floor.status().message());
  }
  if (temps > 0) spdlog::info("spool: removed {} unacknowledged temp files", temps);
  if (!s->pending_.empty())
    spdlog::info("spool: resuming {} pending batches ({} bytes)", s->pending_.size(),
                 s->pending_bytes_);
  return s;
}

fs::path Spool::PathFor(uint64_t seq) const { return opts_.dir / (NameFor(seq) + ".req"); }

Result<uint64_t> Spool::Append(SpoolRecord record) {
  if (HasNewline(record.target) || HasNewline(record.content_type) || HasNewline(record.token) ||
      HasNewline(record.batch_id) || HasNewline(record.client_ip) || record.target.empty() ||
      record.target[0] != '/')
    return Status::Internal("spool record with an invalid header value");
  record.created_ms = opts_.now_ms();
  std::string text = Encode(record);
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_bytes_ + reserved_bytes_ + text.size() > opts_.max_bytes) {
      counters_.full_rejections++;
      return Status::Unavailable("upstream spool is full (" + std::to_string(pending_bytes_) +
                                 " bytes pending)");
    }
    seq = next_seq_++;
    reserved_bytes_ += text.size();
  }
  Status s = scrubd::WriteFileDurably(opts_.env, PathFor(seq), text, 0600);
  std::lock_guard<std::mutex> lock(mu_);
  reserved_bytes_ -= text.size();
  if (!s.ok()) return s;
  pending_[seq] = text.size();
  pending_bytes_ += text.size();
  cv_.notify_all();
  return seq;
}

std::optional<uint64_t> Spool::Oldest() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return std::nullopt;
  return pending_.begin()->first;
}

Result<SpoolRecord> Spool::Read(uint64_t seq) const {
  Result<std::string> text = opts_.env->ReadFile(PathFor(seq));
  if (!text.ok())
    return Status::Io("read spool file " + NameFor(seq) + ": " + text.status().message());
  return Decode(*text);
}

Result<std::vector<Spool::DeadLetter>> Spool::DeadLetters() const {
  Result<std::vector<std::string>> names = opts_.env->GetChildren(opts_.dir / "dead");
  if (!names.ok()) return Status::Io("list dead letters: " + names.status().message());
  std::vector<DeadLetter> out;
  for (const std::string& name : *names) {
    std::optional<uint64_t> seq = SeqFromName(name);
    if (!seq) continue;
    fs::path file = opts_.dir / "dead" / name;
    DeadLetter d{*seq, "", 0};
    Result<std::string> text = opts_.env->ReadFile(file);
    Result<SpoolRecord> r = text.ok() ? Decode(*text) : Result<SpoolRecord>(text.status());
    if (r.ok()) {
      d.token = r->token;
      d.created_ms = r->created_ms;
    } else {
      std::error_code ec;
      auto t = fs::last_write_time(file, ec);
      if (!ec)
        d.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::file_clock::to_sys(t).time_since_epoch())
                           .count();
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return out;
}

Status Spool::Remove(uint64_t seq) {
  if (Status s = opts_.env->RemoveFile(PathFor(seq)); !s.ok())
    return Status::Io("remove spool file " + NameFor(seq) + ": " + s.message());
  std::lock_guard<std::mutex> lock(mu_);
  Unindex(seq);
  return Status::Ok();
}

void Spool::Unindex(uint64_t seq) {
  auto it = pending_.find(seq);
  if (it != pending_.end()) {
    pending_bytes_ -= it->second;
    pending_.erase(it);
  }
}

fs::path Spool::DeadPathFor(uint64_t seq, const char* ext) const {
  return opts_.dir / "dead" / (NameFor(seq) + ext);
}

Status Spool::MoveToDead(uint64_t seq, const std::string& reason) {
  std::lock_guard<std::mutex> files(file_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pending_.count(seq))
      return Status::NotFound("spool file " + NameFor(seq) + " is no longer pending");
  }
  if (Status s =
          scrubd::WriteFileDurably(opts_.env, DeadPathFor(seq, ".reason"), reason + "\n", 0600);
      !s.ok())
    return s;
  if (Status s = opts_.env->RenameFile(PathFor(seq), DeadPathFor(seq, ".req")); !s.ok())
    return Status::Io("move spool file " + NameFor(seq) + " to dead/: " + s.message());
  std::lock_guard<std::mutex> lock(mu_);
  Unindex(seq);
  counters_.dead_files++;
  if (reason.starts_with("corrupt")) counters_.corrupt_files++;
  return Status::Ok();
}

Result<EraseCounts> Spool::Erase(const std::vector<uint64_t>& seqs) {
  EraseCounts counts;
  if (seqs.empty()) return counts;
  std::lock_guard<std::mutex> files(file_mu_);
  // First record the numbering floor: open takes max(largest file + 1, floor), so a number is
  // never reused even when the largest ones are erased (the subject index holds seqs).
  uint64_t next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next = next_seq_;
  }
  if (Status s = scrubd::WriteFileDurably(opts_.env, opts_.dir / kNextSeqFile,
                                          std::to_string(next) + "\n", 0600);
      !s.ok())
    return Status::Io("erase: spool next-seq: " + s.message());
  for (uint64_t seq : seqs)
    if (Status s = EraseOne(seq, &counts); !s.ok()) return s;
  for (const fs::path& d : {opts_.dir, opts_.dir / "dead"})
    if (Status s = opts_.env->SyncDir(d); !s.ok()) return Status::Io("erase: spool " + s.message());
  return counts;
}

Status Spool::EraseOne(uint64_t seq, EraseCounts* counts) {
  Env* env = opts_.env;
  // Out of the index first: from here Oldest() never returns it and MoveToDead refuses it.
  {
    std::lock_guard<std::mutex> lock(mu_);
    Unindex(seq);
  }
  bool had_pending = env->FileExists(PathFor(seq));
  if (had_pending) {
    if (Status s = env->RemoveFile(PathFor(seq)); !s.ok())
      return Status::Io("erase spool file " + NameFor(seq) + ": " + s.message());
    counts->spool++;
  }
  fs::path req = DeadPathFor(seq, ".req"), why = DeadPathFor(seq, ".reason");
  bool had_req = env->FileExists(req), had_why = env->FileExists(why);
  if (had_req || had_why) {
    for (const fs::path& p : {req, why})
      if (Status s = env->RemoveFile(p); !s.ok())
        return Status::Io("erase dead letter " + NameFor(seq) + ": " + s.message());
    counts->dead++;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (had_req && counters_.dead_files > 0) counters_.dead_files--;
  if (had_pending || had_req || had_why) counters_.erased_files++;
  return Status::Ok();
}

bool Spool::Holds(uint64_t seq) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.count(seq)) return true;
  }
  Env* env = opts_.env;
  return env->FileExists(PathFor(seq)) || env->FileExists(DeadPathFor(seq, ".req")) ||
         env->FileExists(DeadPathFor(seq, ".reason"));
}

bool Spool::WaitForPending(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t gen = wake_gen_;
  cv_.wait_for(lock, timeout, [&] { return !pending_.empty() || wake_gen_ != gen; });
  return !pending_.empty();
}

void Spool::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  wake_gen_++;
  cv_.notify_all();
}

SpoolStats Spool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SpoolStats s = counters_;
  s.pending_files = pending_.size();
  s.pending_bytes = pending_bytes_;
  return s;
}

}  // namespace scrubd::sink
