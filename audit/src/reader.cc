// The audit log reader (reader.h), over the one codec of the format (format.h).
#include "scrubd/audit/reader.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "crypto.h"
#include "format.h"
#include "scrubd/audit/merkle.h"

namespace scrubd::audit {
namespace fs = std::filesystem;

namespace {

// The segment files of `dir` by first seq.
Result<std::vector<std::pair<uint64_t, fs::path>>> SegmentFiles(const fs::path& dir) {
  std::vector<std::pair<uint64_t, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (auto first = format::ParseSegmentName(it->path().filename().string()))
      out.emplace_back(*first, it->path());
  if (ec) return Status::Io("audit dir unreadable: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Appends the entries of one segment to `out`; `*torn` when it ends in a torn tail.
Status ReadSegment(const std::string& name, const std::string& data, uint64_t first,
                   std::vector<LogEntry>* out, bool* torn) {
  if (data.size() < format::kFileHeaderSize ||
      std::string_view(data).substr(0, 8) != format::kSegmentMagic ||
      format::GetU64(data.data() + 8) != first)
    return Status::Corruption(name + ": bad segment header");
  format::SegmentReader reader(data);
  format::RecordView rec;
  std::string why;
  for (;;) {
    const uint64_t at = reader.pos();
    format::ReadStatus st = reader.Next(&rec, &why);
    if (st == format::ReadStatus::kEnd) return Status::Ok();
    if (st == format::ReadStatus::kTorn) {
      *torn = true;
      return Status::Ok();
    }
    auto bad = [&](const std::string& w) {
      return Status::Corruption(name + " offset " + std::to_string(at) + ": " + w);
    };
    if (st == format::ReadStatus::kCorrupt) return bad(why);
    if (LeafHash(AsBytes(rec.body)) != rec.stored_hash) return bad("entry hash mismatch");
    format::Entry e;
    if (!format::DecodeBody(rec.body, &e, &why)) return bad(why);
    out->push_back({e.seq, e.time_us, std::string(e.type), std::string(e.payload)});
  }
}

}  // namespace

Result<std::vector<LogEntry>> ReadEntries(const fs::path& audit_dir) {
  Result<std::vector<std::pair<uint64_t, fs::path>>> segments = SegmentFiles(audit_dir);
  if (!segments.ok()) return segments.status();
  std::vector<LogEntry> out;
  for (size_t i = 0; i < segments->size(); ++i) {
    const auto& [first, path] = (*segments)[i];
    // Segments are contiguous: a crash-recovered log starts a new one right after the last
    // whole entry (its torn tail is left behind, as Verify accepts); a gap is a lost segment.
    if (first != out.size())
      return Status::Corruption(path.filename().string() + ": starts at seq " +
                                std::to_string(first) + ", expected " + std::to_string(out.size()));
    Result<std::string> data = ReadFile(path);
    if (!data.ok()) return data.status();
    bool torn = false;
    if (Status s = ReadSegment(path.filename().string(), *data, first, &out, &torn); !s.ok())
      return s;
  }
  return out;
}

}  // namespace scrubd::audit
