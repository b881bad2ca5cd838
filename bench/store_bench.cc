// store_bench: the ingest flow with the store write (decode -> admit -> DOM masking -> detectors
// -> LocalStore chunk files and index, each chunk fsynced), through App::Handle as `serve` runs
// it, on the CRM set replayed as N visitors under fresh session ids. The same requests go into a
// store writing zstd chunks (v2, the default) and into one writing plain JSON chunks (the v1
// writer, kept as LocalStoreOptions::chunk_encoding for this baseline), alternating in one run.
// Prints the throughput of each and their ratio (target >= 0.9), and the whole store directory
// (after close, so the WAL is checkpointed) against the bytes on the wire (target <= 1.0).
// --codecs adds the codec table: every cleaned chunk compressed alone, as the store does, by
// libdeflate gzip and zstd at several levels.
//   store_bench [--dir DIR] [--sessions N (40)] [--passes P (3)] [--codecs | --codecs=all]
// DIR defaults to a temp directory; --dir /dev/shm/... keeps fsync out of the figures.
#include <libdeflate.h>
#include <spdlog/spdlog.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dom/state_store.h"
#include "server/app.h"
#include "sink/chunk_codec.h"
#include "sink/local_store.h"
#include "support/crm_replay.h"

namespace {
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using namespace scrubd;  // NOLINT: benchmark main

struct Mode {
  const char* name;
  sink::ChunkEncoding encoding;
  double seconds = 0;
  testing::DiskUsage usage, recordings;
};

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One pass: a fresh store and DOM state under `dir`, every request of every visitor through
// App::Handle (timed), then the store closed and measured.
bool RunPass(const fs::path& dir, const testing::CrmReplay& replay, Mode* mode) {
  fs::remove_all(dir);
  auto set = policies::LoadPolicySet({}, {"bench-key-0123456789abcdef0123"});
  auto store = sink::LocalStore::Open(dir, nullptr, {mode->encoding, sink::kDefaultZstdLevel});
  dom::StateStore::Options so;
  so.dir = dir / "state";
  auto state = dom::StateStore::Open(so);
  if (!set.ok() || !store.ok() || !state.ok()) return false;
  server::AppConfig cfg;
  cfg.pseudonym_key = "bench-pseudonym-key";
  cfg.request_deadline = std::chrono::nanoseconds(0);
  auto app = std::make_unique<server::App>(cfg, *set, store->get(), state->get(), nullptr);
  auto start = Clock::now();
  for (const auto& visitor : replay.sessions) {
    for (const auto& r : visitor) {
      server::HttpRequest req;
      req.method = r.method;
      req.target = r.path;
      req.body = r.body;
      req.headers["content-type"] = r.content_type;
      if (app->Handle(req).status != 200) return false;
    }
  }
  mode->seconds += Since(start);
  app.reset();
  store->reset();  // closes the index: the WAL is checkpointed into index.sqlite and removed
  mode->usage = testing::DiskUsageOf(dir / "store");
  mode->recordings = testing::DiskUsageOf(dir / "store" / "recordings");
  return true;
}

// Every chunk file under `dir` (the plain store's recordings), decoded.
std::vector<std::string> ChunkTexts(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && sink::EncodingOfName(e.path().string()))
      out.push_back(*sink::DecodeChunk(e.path().string(), testing::ReadFile(e.path())));
  return out;
}

struct Codec {
  const char* name;
  int level;
};

// Compresses each chunk alone (as the store does), repeated until 0.3 s have passed, then
// decompresses each; prints one table row.
void MeasureCodec(const Codec& c, const std::vector<std::string>& chunks, uint64_t wire) {
  const bool gz = !std::strcmp(c.name, "gzip");
  libdeflate_compressor* lc = gz ? libdeflate_alloc_compressor(c.level) : nullptr;
  libdeflate_decompressor* ld = libdeflate_alloc_decompressor();
  std::vector<std::string> packed(chunks.size());
  uint64_t raw = 0, stored = 0, blocks = 0;
  int reps = 0;
  auto start = Clock::now();
  do {
    for (size_t i = 0; i < chunks.size(); ++i) {
      const std::string& in = chunks[i];
      std::string& out = packed[i];
      out.resize(gz ? libdeflate_gzip_compress_bound(lc, in.size())
                    : ZSTD_compressBound(in.size()));
      size_t n = gz ? libdeflate_gzip_compress(lc, in.data(), in.size(), out.data(), out.size())
                    : ZSTD_compress(out.data(), out.size(), in.data(), in.size(), c.level);
      out.resize(n);
    }
    ++reps;
  } while (Since(start) < 0.3);
  double comp_s = Since(start) / reps;
  std::string back;
  start = Clock::now();
  for (size_t i = 0; i < chunks.size(); ++i) {
    back.resize(chunks[i].size());
    size_t got = 0;
    if (gz)
      libdeflate_gzip_decompress(ld, packed[i].data(), packed[i].size(), back.data(), back.size(),
                                 &got);
    else
      got = ZSTD_decompress(back.data(), back.size(), packed[i].data(), packed[i].size());
    if (got != chunks[i].size()) std::printf("round trip failed\n");
    raw += chunks[i].size();
    stored += packed[i].size();
    blocks += (packed[i].size() + 4095) / 4096 * 4096;
  }
  double dec_s = Since(start);
  std::printf("%-5s %2d  %10.3f MB  %6.1fx  %5.3f  %5.3f  %8.1f  %8.1f\n", c.name, c.level,
              stored / 1e6, static_cast<double>(raw) / stored, static_cast<double>(stored) / wire,
              static_cast<double>(blocks) / wire, raw / comp_s / 1e6, raw / dec_s / 1e6);
  if (lc) libdeflate_free_compressor(lc);
  libdeflate_free_decompressor(ld);
}

void CodecTable(const fs::path& plain_dir, uint64_t wire, bool all) {
  std::vector<std::string> chunks = ChunkTexts(plain_dir / "store" / "recordings");
  uint64_t raw = 0;
  for (const auto& c : chunks) raw += c.size();
  std::printf("\ncodec table: %zu cleaned chunks, %.2f MB of JSON, each compressed alone\n",
              chunks.size(), raw / 1e6);
  std::printf("codec lvl      stored  ratio  /wire  4K/wire  comp MB/s  dec MB/s\n");
  std::vector<Codec> codecs = {{"gzip", 1}, {"gzip", 6}, {"gzip", 9}, {"zstd", 1},
                               {"zstd", 3}, {"zstd", 6}, {"zstd", 9}};
  if (all) codecs.insert(codecs.end(), {{"gzip", 12}, {"zstd", 19}});  // minutes each
  for (const Codec& c : codecs) MeasureCodec(c, chunks, wire);
}

void PrintMode(const Mode& m, const testing::CrmReplay& replay, int passes) {
  double mb = static_cast<double>(replay.wire_bytes) * passes / 1e6;
  std::printf(
      "%-5s  %7.2f s  %6.2f wire MB/s  store %7.2f MB apparent (%.3fx wire)  %7.2f MB "
      "allocated (%.3fx wire)\n",
      m.name, m.seconds, mb / m.seconds, m.usage.apparent / 1e6,
      static_cast<double>(m.usage.apparent) / replay.wire_bytes, m.usage.allocated / 1e6,
      static_cast<double>(m.usage.allocated) / replay.wire_bytes);
  std::printf(
      "       of which recordings/ %.2f MB apparent, %.2f MB allocated (%llu files, %llu "
      "dirs); index.sqlite and the rest %.2f MB apparent, %.2f MB allocated\n",
      m.recordings.apparent / 1e6, m.recordings.allocated / 1e6,
      static_cast<unsigned long long>(m.recordings.files),
      static_cast<unsigned long long>(m.recordings.dirs),
      (m.usage.apparent - m.recordings.apparent) / 1e6,
      (m.usage.allocated - m.recordings.allocated) / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = fs::temp_directory_path() / "scrubd-store-bench";
  int sessions = 40, passes = 3;
  bool codecs = false, all_codecs = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--codecs")) codecs = true;
    if (!std::strcmp(argv[i], "--codecs=all")) codecs = all_codecs = true;
    if (i + 1 >= argc) continue;
    if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--sessions")) sessions = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--passes")) passes = std::atoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::warn);  // no line per batch
  testing::CrmReplay replay = testing::CrmSessions(sessions);
  Mode modes[] = {{"zstd", sink::ChunkEncoding::kZstd}, {"plain", sink::ChunkEncoding::kPlain}};
  for (int p = 0; p < passes; ++p) {
    for (int k = 0; k < 2; ++k) {  // alternate the order, so drift hits both alike
      Mode& m = modes[(p + k) % 2];
      if (!RunPass(dir / m.name, replay, &m)) {
        std::printf("pass failed (%s)\n", m.name);
        return 1;
      }
    }
  }
  std::printf(
      "corpus: CRM set, %d sessions x %zu requests, %.2f MB on the wire (%.2f MB as "
      "captured), %d passes per mode, dir %s\n",
      sessions, replay.sessions.empty() ? 0 : replay.sessions[0].size(), replay.wire_bytes / 1e6,
      replay.fixture_bytes / 1e6, passes, dir.c_str());
  for (const Mode& m : modes) PrintMode(m, replay, passes);
  std::printf("ingest ratio zstd / plain         %6.3f  (target >= 0.9)\n",
              modes[1].seconds / modes[0].seconds);
  std::printf(
      "storage ratio zstd / wire         %6.3f apparent, %6.3f allocated  (target <= 1.0)\n",
      static_cast<double>(modes[0].usage.apparent) / replay.wire_bytes,
      static_cast<double>(modes[0].usage.allocated) / replay.wire_bytes);
  if (codecs) CodecTable(dir / "plain", replay.wire_bytes, all_codecs);
  fs::remove_all(dir);
  return 0;
}
