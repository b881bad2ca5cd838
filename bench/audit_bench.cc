// audit_bench: append and verify throughput of the audit log, each printed next to a raw
// SHA-256 baseline over the same bytes measured in the same run, with the ratio.
// Usage: audit_bench [entries] [dir]   (defaults: 200000, a fresh directory under /tmp)
// Targets (issue 5): append >= 50k entries/s with checkpoints every 1,000; verify >= 500k/s.
#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scrubd/audit/log.h"
#include "scrubd/audit/verify.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// One-shot SHA-256 of each buffer with a reused context (the cheapest honest baseline).
double HashEach(const std::vector<std::string_view>& items) {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[32];
  unsigned int len = 0;
  unsigned sink = 0;
  auto t0 = Clock::now();
  for (std::string_view s : items) {
    EVP_DigestInit_ex2(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, s.data(), s.size());
    EVP_DigestFinal_ex(ctx, out, &len);
    sink += out[0];
  }
  auto t1 = Clock::now();
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  if (sink == 0xffffffffu) std::puts("");
  return Seconds(t0, t1);
}

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void Row(const char* what, double n, double secs, double base_secs, double target) {
  const double rate = n / secs, base = n / base_secs;
  std::printf(
      "%-7s %12.0f entries/s | baseline raw SHA-256 same bytes %12.0f entries/s | "
      "ratio %.3f | target >= %.0f: %s\n",
      what, rate, base, rate / base, target, rate >= target ? "PASS" : "MISS");
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  fs::path dir;
  if (argc > 2) {
    dir = argv[2];
  } else {
    std::string tmpl = (fs::temp_directory_path() / "audit-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = fs::path(tmpl) / "audit";
  }

  scrubd::audit::Options opts;
  opts.checkpoint_every_entries = 1000;
  auto log = scrubd::audit::Log::Open(dir, opts);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  std::vector<std::string> payloads;
  payloads.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    payloads.push_back("{\"token\":\"b" + std::to_string(i) +
                       "\",\"session\":\"hmac:9f86d081884c7d65\",\"redactions\":{\"email\":" +
                       std::to_string(i % 5) + ",\"card\":1},\"dropped\":0}");
  }
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    auto r = log.value()->Append("batch", payloads[i]);
    if (!r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  auto t1 = Clock::now();
  if (auto s = log.value()->Close(); !s.ok()) {
    std::fprintf(stderr, "close: %s\n", s.ToString().c_str());
    return 1;
  }
  std::vector<std::string_view> items(payloads.begin(), payloads.end());
  const double append_base = HashEach(items);

  // Verify: whole directory, cold-ish (files just written, so in the page cache).
  auto t2 = Clock::now();
  auto report = scrubd::audit::Verify(dir, dir / "public.pem", std::nullopt);
  auto t3 = Clock::now();
  if (!report.ok) {
    std::fprintf(stderr, "%s", scrubd::audit::FormatReport(report).c_str());
    return 1;
  }
  // Baseline: read the same segment files and SHA-256 every record's bytes.
  auto b0 = Clock::now();
  std::vector<std::string> files;
  for (const auto& de : fs::directory_iterator(dir)) {
    if (de.path().filename().string().rfind("seg-", 0) == 0) files.push_back(Slurp(de.path()));
  }
  std::vector<std::string_view> records;
  for (const std::string& f : files) {
    for (size_t pos = 16; pos + 4 <= f.size();) {
      uint32_t len = static_cast<uint8_t>(f[pos]) | static_cast<uint8_t>(f[pos + 1]) << 8 |
                     static_cast<uint8_t>(f[pos + 2]) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(f[pos + 3])) << 24;
      records.push_back(std::string_view(f).substr(pos, 4 + len + 32));
      pos += 4 + len + 32;
    }
  }
  auto b1 = Clock::now();
  const double verify_base = Seconds(b0, b1) + HashEach(records);

  uint64_t bytes = 0;
  for (const auto& f : files) bytes += f.size();
  std::printf(
      "audit_bench: %llu appended entries (%llu in log, %.1f MB, checkpoints every %llu, "
      "%s), dir %s\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(report.entries),
      bytes / 1e6, static_cast<unsigned long long>(opts.checkpoint_every_entries), "group commit",
      dir.string().c_str());
  Row("append", static_cast<double>(n), Seconds(t0, t1), append_base, 50000);
  Row("verify", static_cast<double>(report.entries), Seconds(t2, t3), verify_base, 500000);
  if (argc <= 2) fs::remove_all(dir.parent_path());
  return 0;
}
