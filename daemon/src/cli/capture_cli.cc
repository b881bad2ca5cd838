// `scrubd capture`: flags, the personal-data warning, the listener, and the wait for
// --duration, a signal or a full capture. Output names counts and the directory, never a
// captured value.
#include "cli/capture_cli.h"

#include <signal.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "server/capture_recorder.h"
#include "server/http_server.h"

namespace scrubd::cli {
namespace {

constexpr int kExitUsage = 2;
constexpr int64_t kMaxDurationSeconds = 24 * 3600;

const char* kCaptureUsage =
    R"(usage: scrubd capture --listen HOST:PORT --out DIR [--duration 10m] [--max-bytes N]
                      [--max-body-bytes N]

A capture-only server for staging sites. It answers posthog-js as 'scrubd serve' does with
its embedded default (remote config with recording on, /flags, 200 on ingest) and writes
every request on a posthog route raw, unscrubbed, to DIR as NNNN.body + NNNN.meta.json
(files 0600, DIR 0700): the sample recordings that 'scrubd policy test' and 'scrubd policy
preview' read. It never forwards and stores nothing else. DIR holds personal data: capture
staging traffic only, keep DIR private and delete it when done (docs/capture.md).

  --listen HOST:PORT   address to listen on (required; port 0 picks a free port)
  --out DIR            a new or empty directory (required)
  --duration D         stop after D: 90s, 10m, 2h or seconds (default 10m, at most 24h)
  --max-bytes N        bytes of files to write at most (default 1073741824); the request
                       that would pass it is answered 503, not written, and capture stops
  --max-body-bytes N   one request's body (default 26214400; 413 above, not written)

Stops after --duration, on SIGINT/SIGTERM or when --max-bytes is reached, and prints what it
wrote. Exit 0; 1 when a write failed or it cannot listen; 2 on a usage error or a bad --out.
)";

const char* kWarning =
    "scrubd capture: WARNING: every request is written raw and unscrubbed. The output "
    "directory will hold personal data (typed text, emails, cookies, IP-linked headers): "
    "capture staging traffic only, keep it private and delete it when done.\n";

Result<uint64_t> ParseCount(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || v[0] == '-' || *end != '\0' || errno == ERANGE || n == 0)
    return Status::InvalidInput(flag + " needs a positive integer");
  return static_cast<uint64_t>(n);
}

Status CheckListen(const std::string& v) {
  size_t colon = v.rfind(':');
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < v.size() &&
            v.size() - colon - 1 <= 5 &&
            v.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
            std::atoi(v.c_str() + colon + 1) <= 65535;
  if (ok) {  // a numeric address, as HttpServer::Start needs: checked here so it is never echoed
    std::string host = v.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    boost::asio::ip::make_address(host, ec);
    ok = !ec;
  }
  return ok ? Status::Ok() : Status::InvalidInput("--listen must be HOST:PORT");
}

// Names an unknown flag; anything else (it could be a value, even a personal one) is not
// quoted.
std::string UnknownArgument(const std::string& a) {
  bool flag_like = a.size() > 2 && a.size() <= 40 && a.rfind("--", 0) == 0 &&
                   a.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", 2) == std::string::npos;
  return flag_like ? "unknown option '" + a + "' (see scrubd capture --help)"
                   : "unexpected argument (see scrubd capture --help)";
}

Status ApplyFlag(const std::string& a, const std::string& v, CaptureConfig* c) {
  if (a == "--listen") {
    c->listen = v;
    return CheckListen(v);
  }
  if (a == "--out") {
    c->out = v;
    return v.empty() ? Status::InvalidInput("--out needs a directory") : Status::Ok();
  }
  if (a == "--duration") {
    Result<std::chrono::seconds> d = ParseCaptureDuration(v);
    if (!d.ok()) return d.status();
    c->duration = *d;
    return Status::Ok();
  }
  Result<uint64_t> n = ParseCount(a, v);
  if (!n.ok()) return n.status();
  (a == "--max-bytes" ? c->max_bytes : c->max_body_bytes) = *n;
  return Status::Ok();
}

enum class StopReason { kDuration, kSignal, kFull, kFailed };

const char* ReasonText(StopReason r) {
  switch (r) {
    case StopReason::kDuration: return "--duration reached";
    case StopReason::kSignal: return "signal";
    case StopReason::kFull: return "--max-bytes reached";
    case StopReason::kFailed: return "a write failed";
  }
  return "";
}

// Waits for the deadline, SIGINT/SIGTERM (blocked in `sigs`) or the recorder to stop taking
// requests.
StopReason Wait(const sigset_t& sigs, const server::CaptureRecorder& rec,
                std::chrono::seconds duration) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    timespec tick{0, 100 * 1000 * 1000};
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) return StopReason::kSignal;
    server::CaptureState st = rec.stats().state;
    if (st == server::CaptureState::kFull) return StopReason::kFull;
    if (st == server::CaptureState::kFailed) return StopReason::kFailed;
    if (std::chrono::steady_clock::now() >= deadline) return StopReason::kDuration;
  }
}

server::ServerOptions ServerOptionsOf(const CaptureConfig& cfg) {
  server::ServerOptions o;
  o.listen = cfg.listen;
  o.max_body_bytes = cfg.max_body_bytes;
  o.max_inflight_body_bytes = std::max<size_t>(o.max_inflight_body_bytes, cfg.max_body_bytes);
  o.worker_threads = 1;  // one writer: files are numbered in the order requests are answered
  o.keep_raw_headers = true;
  o.drain_timeout = std::chrono::seconds(5);
  return o;
}

}  // namespace

Result<std::chrono::seconds> ParseCaptureDuration(const std::string& v) {
  const Status bad = Status::InvalidInput(
      "--duration must be a whole number of seconds, or one followed by s, m or h, "
      "from 1s to 24h");
  if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") == 0) return bad;
  size_t digits = v.find_first_not_of("0123456789");
  std::string unit = digits == std::string::npos ? "s" : v.substr(digits);
  int64_t scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (scale == 0) return bad;
  int64_t n = std::strtoll(v.substr(0, digits).c_str(), nullptr, 10);
  if (n <= 0 || n > kMaxDurationSeconds / scale) return bad;
  return std::chrono::seconds(n * scale);
}

Result<CaptureConfig> ParseCaptureArgs(int argc, char** argv) {
  CaptureConfig c;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a != "--listen" && a != "--out" && a != "--duration" && a != "--max-bytes" &&
        a != "--max-body-bytes")
      return Status::InvalidInput(UnknownArgument(a));
    if (i + 1 >= argc) return Status::InvalidInput(a + " needs a value");
    if (Status s = ApplyFlag(a, argv[++i], &c); !s.ok()) return s;
  }
  if (c.listen.empty()) return Status::InvalidInput("--listen HOST:PORT is required");
  if (c.out.empty()) return Status::InvalidInput("--out DIR is required");
  return c;
}

int Capture(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kCaptureUsage, stdout);
      return 0;
    }
  Result<CaptureConfig> cfg = ParseCaptureArgs(argc, argv);
  if (!cfg.ok()) {
    std::fprintf(stderr, "scrubd capture: %s\n%s", cfg.status().message().c_str(), kCaptureUsage);
    return kExitUsage;
  }
  Result<std::unique_ptr<server::CaptureRecorder>> rec =
      server::CaptureRecorder::Open({cfg->out, cfg->max_bytes});
  if (!rec.ok()) {
    std::fprintf(stderr, "scrubd capture: %s\n", rec.status().message().c_str());
    return rec.status().code() == Code::kInvalidInput ? kExitUsage : 1;
  }
  sigset_t sigs;  // blocked before the server's threads exist, so they inherit the mask
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::fputs(kWarning, stderr);
  server::HttpServer http(rec->get(), ServerOptionsOf(*cfg));
  Result<uint16_t> port = http.Start();
  if (!port.ok()) {
    std::fprintf(stderr, "scrubd capture: cannot listen: %s\n", port.status().message().c_str());
    return 1;
  }
  std::string host = cfg->listen.substr(0, cfg->listen.rfind(':'));
  std::printf("scrubd capture listening on http://%s:%u, writing to %s for %llds\n", host.c_str(),
              *port, cfg->out.c_str(), static_cast<long long>(cfg->duration.count()));
  std::fflush(stdout);
  StopReason why = Wait(sigs, **rec, cfg->duration);
  http.Stop();
  server::CaptureStats st = (*rec)->stats();
  std::printf("scrubd capture: stopped (%s): %llu requests, %llu bytes written to %s",
              ReasonText(why), static_cast<unsigned long long>(st.written),
              static_cast<unsigned long long>(st.bytes), cfg->out.c_str());
  if (st.refused) std::printf("; %llu refused (503)", static_cast<unsigned long long>(st.refused));
  std::printf("\n");
  if (st.state == server::CaptureState::kFailed)
    std::fprintf(stderr, "scrubd capture: %s\n", st.error.c_str());
  return st.state == server::CaptureState::kFailed ? 1 : 0;
}

}  // namespace scrubd::cli
