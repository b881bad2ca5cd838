// CaptureRecorder: the request handler of `scrubd capture`. It answers posthog-js as the
// embedded default does (remote config, flags, 200 on ingest) and writes each request raw to
// a private directory as NNNN.body + NNNN.meta.json (docs/capture.md), bounded in count and
// bytes. It never scrubs, stores or forwards anything else, and `scrubd serve` never builds one.
// Thread-safe: HandleRaw may run on many worker threads; writes are serialised in arrival order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "scrubd/common/env.h"
#include "scrubd/common/status.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/remote_config.h"
#include "server/request_handler.h"

namespace scrubd::server {

struct CaptureOptions {
  std::filesystem::path out;  // the capture directory (see CaptureRecorder::Open)
  uint64_t max_total_bytes = uint64_t{1} << 30;  // bodies + meta files written, in all
  uint32_t max_requests = 9999;                  // NNNN: four digits
};

// Why the recorder stopped taking requests (kRecording while it still does).
enum class CaptureState { kRecording, kFull, kFailed };

struct CaptureStats {
  uint64_t written = 0;  // requests written (pairs of files)
  uint64_t bytes = 0;    // bytes of those files
  uint64_t refused = 0;  // posthog requests answered 503 because the capture was full or failed
  uint64_t transport_rejections = 0;  // 400/413/503 answered by the HTTP layer (not written)
  CaptureState state = CaptureState::kRecording;
  std::string error;  // kFailed: the write error (operation and errno text, never a path)
};

class CaptureRecorder : public RequestHandler {
 public:
  // Creates options.out with mode 0700 (missing parents too), or takes an existing empty
  // directory and sets it to 0700. Refuses a symlink, a non-directory and a non-empty
  // directory (kInvalidInput; the message never holds the path). `env` outlives the recorder.
  static Result<std::unique_ptr<CaptureRecorder>> Open(CaptureOptions options,
                                                       Env* env = Env::Default());

  // posthog routes: written first (body, then meta; each 0600, atomic), then answered as the
  // embedded default answers them; 503 once the capture is full or a write failed.
  // /healthz: 200. Anything else: 404, not written.
  HttpResponse HandleRaw(HttpRequest& req, Surface surface) override;
  bool IsAdminRoute(std::string_view) const override { return false; }
  void RecordTransportRejection(unsigned status, std::string_view reason,
                                const std::string& peer) override;

  CaptureStats stats() const;

 private:
  CaptureRecorder(CaptureOptions options, Env* env);
  // Writes one request under the next number; false (and state set) when it cannot.
  bool Write(const HttpRequest& req);
  HttpResponse Answer(const HttpRequest& req);

  const CaptureOptions options_;
  Env* env_;
  Metrics metrics_;  // the remote config service counts into it; not exported
  RemoteConfigService remote_;
  mutable std::mutex mu_;
  CaptureStats stats_;  // guarded by mu_
};

// The NNNN.meta.json text of `req`, byte for byte as the fixtures were written (Python's
// json.dumps(indent=1)): method, path with query, headers (raw_headers, names as sent; a
// repeated name joined with ", ", Cookie with "; "), len. Header bytes are read as Latin-1
// (HTTP's obs-text), so the file is ASCII JSON.
std::string CaptureMetaJson(const HttpRequest& req);

// "0007" for 7.
std::string CaptureName(uint64_t n);

}  // namespace scrubd::server
