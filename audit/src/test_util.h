// Helpers shared by the audit tests: temporary directories and raw access to log records.
// Test-only; single-threaded.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto.h"
#include "format.h"

namespace scrubd::audit::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "audit-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string Slurp(const std::filesystem::path& p) {
  auto r = ReadFile(p);
  return r.ok() ? r.value() : std::string();
}

inline void Spit(const std::filesystem::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

struct RecordInfo {
  std::filesystem::path segment;
  uint64_t offset;
  uint64_t size;
  uint64_t seq;
  std::string body;
};

inline std::vector<std::filesystem::path> Segments(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& de : std::filesystem::directory_iterator(dir)) {
    if (format::ParseSegmentName(de.path().filename().string())) out.push_back(de.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every intact record of every segment, in order.
inline std::vector<RecordInfo> Records(const std::filesystem::path& dir) {
  std::vector<RecordInfo> out;
  for (const auto& seg : Segments(dir)) {
    std::string data = Slurp(seg);
    format::SegmentReader rd(data);
    format::RecordView r;
    std::string why;
    while (rd.Next(&r, &why) == format::ReadStatus::kRecord) {
      format::Entry e;
      format::DecodeBody(r.body, &e, &why);
      out.push_back({seg, r.offset, r.size, e.seq, std::string(r.body)});
    }
  }
  return out;
}

}  // namespace scrubd::audit::testing
