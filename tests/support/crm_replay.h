// Test and benchmark support: the CRM fixture set (posthog-js-1.449.2-crm) replayed as many
// visitors, each under a fresh session id, and du-style byte counts of a directory tree.
// Header-only; for tests and benchmarks that link scrubd_daemon. Not thread-safe.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ingest/gzip.h"
#include "support/fixtures.h"

namespace scrubd::testing {

struct ReplayRequest {
  std::string method, path, content_type, body;
};

struct CrmReplay {
  std::vector<std::vector<ReplayRequest>> sessions;  // one visitor's requests, in capture order
  uint64_t wire_bytes = 0;     // the bodies as replayed (re-gzipped with the new session id)
  uint64_t fixture_bytes = 0;  // the captured bodies times the number of sessions
};

// The session id posthog-js gave the CRM capture.
inline constexpr char kCrmSession[] = "01a20358-f9cc-7a29-a3a5-4d18fc877bd9";

// The CRM session id with its last six characters replaced by 100000 + n (same length).
inline std::string CrmSessionId(int n) {
  std::string sid = kCrmSession;
  return sid.substr(0, sid.size() - 6) + std::to_string(100000 + n);
}

// Every captured request of the CRM set, as `n` visitors: each gzip body is inflated, its
// session id rewritten to CrmSessionId(i), and gzipped again (zlib level 6, which gives
// bodies no larger than posthog-js's own).
inline CrmReplay CrmSessions(int n) {
  std::vector<std::filesystem::path> metas;
  for (const auto& e : std::filesystem::directory_iterator(FixtureDir("posthog-js-1.449.2-crm")))
    if (e.path().string().ends_with(".meta.json")) metas.push_back(e.path());
  std::sort(metas.begin(), metas.end());
  CrmReplay out;
  out.sessions.resize(static_cast<size_t>(n));
  for (const auto& m : metas) {
    std::string meta = ReadFile(m);
    std::string base = m.string().substr(0, m.string().size() - 10);
    std::string body = ReadFile(base + ".body");
    std::string path = meta.find("\"/s/\"") != std::string::npos ? "/s/" : "/e/";
    Result<std::string> text = ingest::Gunzip(body, {});
    for (int i = 0; i < n; ++i) {
      std::string fresh = *text;
      const std::string sid = kCrmSession, id = CrmSessionId(i);
      for (size_t p = fresh.find(sid); p != std::string::npos; p = fresh.find(sid, p + 1))
        fresh.replace(p, sid.size(), id);
      std::string gz = *ingest::Gzip(fresh, 6);
      out.wire_bytes += gz.size();
      out.fixture_bytes += body.size();
      out.sessions[static_cast<size_t>(i)].push_back({"POST", path, "text/plain", std::move(gz)});
    }
  }
  return out;
}

struct DiskUsage {
  uint64_t apparent = 0;   // st_size summed: `du -s -B1 --apparent-size`
  uint64_t allocated = 0;  // st_blocks * 512 summed: `du -s -B1`
  uint64_t files = 0, dirs = 0;
};

// Everything under `root` and `root` itself: files, directories (their own blocks count, as
// in du) and symlinks (never followed).
inline DiskUsage DiskUsageOf(const std::filesystem::path& root) {
  DiskUsage u;
  auto add = [&u](const std::filesystem::path& p) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return;
    u.apparent += static_cast<uint64_t>(st.st_size);
    u.allocated += static_cast<uint64_t>(st.st_blocks) * 512;
    (S_ISDIR(st.st_mode) ? u.dirs : u.files)++;
  };
  add(root);
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec))
    add(it->path());
  return u;
}

}  // namespace scrubd::testing
