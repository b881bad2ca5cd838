#include "scrubd/common/zip.h"

#include <zlib.h>

#include <algorithm>
#include <ctime>

namespace scrubd::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint16_t kVersionNeeded = 20;               // 2.0: deflate
constexpr uint16_t kVersionMadeBy = (3 << 8) | 20;    // Unix, 2.0
constexpr uint32_t kExternalAttr = (0100600u) << 16;  // -rw-------
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;

void Put16(std::string& o, uint16_t v) {
  o.push_back(static_cast<char>(v & 0xff));
  o.push_back(static_cast<char>(v >> 8));
}
void Put32(std::string& o, uint32_t v) {
  Put16(o, static_cast<uint16_t>(v & 0xffff));
  Put16(o, static_cast<uint16_t>(v >> 16));
}
uint16_t Get16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}
uint32_t Get32(std::string_view s, size_t at) {
  return Get16(s, at) | (static_cast<uint32_t>(Get16(s, at + 2)) << 16);
}

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e || c == '\\') return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// Raw deflate (no zlib header), as ZIP method 8 requires.
Result<std::string> Deflate(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("zip: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("zip: deflate did not finish");
  return out;
}

Result<std::string> Inflate(std::string_view data, uint32_t size) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Status::Internal("zip: inflateInit2 failed");
  std::string out(size, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const bool ok = rc == Z_STREAM_END && z.total_out == size && z.avail_in == 0;
  inflateEnd(&z);
  if (!ok) return Status::Corruption("zip: a deflated member does not inflate to its size");
  return out;
}

void DosTime(int64_t unix_s, uint16_t* time, uint16_t* date) {
  std::tm tm{};
  const std::time_t t = static_cast<std::time_t>(unix_s);
  if (unix_s < 315532800 || gmtime_r(&t, &tm) == nullptr) {  // before 1980-01-01
    *time = 0;
    *date = (1 << 5) | 1;
    return;
  }
  *time = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  *date = static_cast<uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
}

}  // namespace

ZipWriter::ZipWriter(ZipOptions options) : options_(options) {
  options_.max_bytes = std::min(options_.max_bytes, kMaxZip32Bytes);
  DosTime(options_.mtime_unix_s, &dos_time_, &dos_date_);
}

Status ZipWriter::Add(std::string_view name, std::string_view data, Method method) {
  if (finished_) return Status::Internal("zip: Add after Finish");
  if (!ValidName(name)) return Status::InvalidInput("zip: member name is not a safe ASCII path");
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    return Status::InvalidInput("zip: duplicate member name");
  }
  if (central_count_ >= kMaxMembers) return Status::TooLarge("zip: over 65,535 members");
  if (data.size() >= options_.max_bytes) return Status::TooLarge("zip: member of 4 GiB or more");
  std::string packed;
  if (method == Method::kDeflate) {
    auto d = Deflate(data);
    if (!d.ok()) return d.status();
    packed = std::move(d).value();
    if (packed.size() >= data.size()) method = Method::kStored;
  }
  std::string_view stored = method == Method::kDeflate ? std::string_view(packed) : data;
  const uint64_t grown = out_.size() + central_.size() + kLocalSize + kCentralSize +
                         2 * name.size() + stored.size() + kEndSize;
  if (grown > options_.max_bytes) return Status::TooLarge("zip: archive of 4 GiB or more");
  const uint32_t crc = Crc32(data), offset = static_cast<uint32_t>(out_.size());
  auto common = [&](std::string& o) {
    Put16(o, kVersionNeeded);
    Put16(o, 0);  // flags: no encryption, sizes in the header, ASCII names
    Put16(o, static_cast<uint16_t>(method));
    Put16(o, dos_time_);
    Put16(o, dos_date_);
    Put32(o, crc);
    Put32(o, static_cast<uint32_t>(stored.size()));
    Put32(o, static_cast<uint32_t>(data.size()));
    Put16(o, static_cast<uint16_t>(name.size()));
    Put16(o, 0);  // extra field length
  };
  Put32(out_, kLocalSig);
  common(out_);
  out_.append(name);
  out_.append(stored);
  Put32(central_, kCentralSig);
  Put16(central_, kVersionMadeBy);
  common(central_);
  Put16(central_, 0);  // comment length
  Put16(central_, 0);  // disk number
  Put16(central_, 0);  // internal attributes
  Put32(central_, kExternalAttr);
  Put32(central_, offset);
  central_.append(name);
  names_.emplace_back(name);
  ++central_count_;
  return Status::Ok();
}

Result<std::string> ZipWriter::Finish() {
  if (finished_) return Status::Internal("zip: Finish called twice");
  finished_ = true;
  std::string out = std::move(out_);
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.append(central_);
  Put32(out, kEndSig);
  Put16(out, 0);  // this disk
  Put16(out, 0);  // disk with the central directory
  Put16(out, static_cast<uint16_t>(central_count_));
  Put16(out, static_cast<uint16_t>(central_count_));
  Put32(out, static_cast<uint32_t>(central_.size()));
  Put32(out, cd_offset);
  Put16(out, 0);  // comment length
  central_.clear();
  return out;
}

Status ZipWriter::WriteTo(Env* env, const std::filesystem::path& path) {
  auto archive = Finish();
  if (!archive.ok()) return archive.status();
  return WriteFileDurably(env, path, archive.value(), 0600);
}

namespace {

// One central-directory record at `at` and its local header and data.
Result<ZipMember> ReadMember(std::string_view a, size_t at, size_t cd_end, size_t* next) {
  if (cd_end - at < kCentralSize || Get32(a, at) != kCentralSig) {
    return Status::Corruption("zip: bad central directory record");
  }
  const uint16_t flags = Get16(a, at + 8), method = Get16(a, at + 10);
  const uint32_t crc = Get32(a, at + 16), csize = Get32(a, at + 20), usize = Get32(a, at + 24);
  const uint16_t nlen = Get16(a, at + 28), xlen = Get16(a, at + 30), clen = Get16(a, at + 32);
  const uint32_t loc = Get32(a, at + 42);
  if (cd_end - at - kCentralSize < size_t{nlen} + xlen + clen) {
    return Status::Corruption("zip: central record overruns the directory");
  }
  if (flags != 0 || (method != 0 && method != 8)) {
    return Status::Corruption("zip: unsupported flags or method");
  }
  ZipMember m;
  m.name = std::string(a.substr(at + kCentralSize, nlen));
  m.method = static_cast<Method>(method);
  *next = at + kCentralSize + nlen + xlen + clen;
  if (loc > a.size() || a.size() - loc < kLocalSize || Get32(a, loc) != kLocalSig) {
    return Status::Corruption("zip: bad local header");
  }
  const size_t data_at = loc + kLocalSize + Get16(a, loc + 26) + Get16(a, loc + 28);
  if (Get16(a, loc + 8) != method || Get32(a, loc + 14) != crc || Get32(a, loc + 18) != csize ||
      Get32(a, loc + 22) != usize || Get16(a, loc + 26) != nlen ||
      a.substr(loc + kLocalSize, nlen) != m.name) {
    return Status::Corruption("zip: local header disagrees with the central directory");
  }
  if (data_at > a.size() || a.size() - data_at < csize) {
    return Status::Corruption("zip: member data overruns the archive");
  }
  std::string_view raw = a.substr(data_at, csize);
  if (method == 0) {
    if (csize != usize) return Status::Corruption("zip: stored member sizes differ");
    m.data = std::string(raw);
  } else {
    auto d = Inflate(raw, usize);
    if (!d.ok()) return d.status();
    m.data = std::move(d).value();
  }
  if (Crc32(m.data) != crc) return Status::Corruption("zip: CRC-32 mismatch");
  return m;
}

}  // namespace

Result<std::vector<ZipMember>> ReadZip(std::string_view a) {
  if (a.size() < kEndSize) return Status::Corruption("zip: too short");
  const size_t end = a.size() - kEndSize;  // no archive comment: the writer never adds one
  if (Get32(a, end) != kEndSig || Get16(a, end + 20) != 0) {
    return Status::Corruption("zip: no end of central directory record");
  }
  const uint16_t count = Get16(a, end + 10);
  const uint32_t cd_size = Get32(a, end + 12), cd_offset = Get32(a, end + 16);
  if (Get16(a, end + 8) != count || cd_offset > end || end - cd_offset != cd_size) {
    return Status::Corruption("zip: central directory bounds are inconsistent");
  }
  std::vector<ZipMember> out;
  size_t at = cd_offset;
  for (uint16_t i = 0; i < count; ++i) {
    size_t next = 0;
    auto m = ReadMember(a, at, end, &next);
    if (!m.ok()) return m.status();
    out.push_back(std::move(m).value());
    at = next;
  }
  if (at != end) return Status::Corruption("zip: trailing bytes in the central directory");
  return out;
}

}  // namespace scrubd::zip
