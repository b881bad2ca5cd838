// The capture directory (create or adopt, 0700), the fixture meta format, and the routes of
// `scrubd capture`. Nothing here logs a path, a header or a body: they hold personal data.
#include "server/capture_recorder.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <system_error>
#include <vector>

#include "ingest/decode.h"

namespace scrubd::server {
namespace fs = std::filesystem;

namespace {

constexpr const char* kHex = "0123456789abcdef";

// A JSON string as Python's json.dumps (ensure_ascii) writes it; input bytes are Latin-1.
void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out->push_back(static_cast<char>(c));
        } else {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        }
    }
  }
  out->push_back('"');
}

// Header names as sent, in first-seen order; a name repeated (in any case) is one entry, its
// values joined as HTTP joins them.
std::vector<std::pair<std::string, std::string>> MergedHeaders(const HttpRequest& req) {
  std::vector<std::pair<std::string, std::string>> out;
  std::map<std::string, size_t> at;  // lower-cased name -> index in out
  for (const auto& [name, value] : req.raw_headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = at.emplace(lower, out.size());
    if (fresh)
      out.emplace_back(name, value);
    else
      out[it->second].second += (lower == "cookie" ? "; " : ", ") + value;
  }
  return out;
}

Status CheckEmptyDir(Env* env, const fs::path& dir) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(dir, ec);
  if (ec) return Status::Io("--out: cannot read the directory: " + ec.message());
  if (fs::is_symlink(st)) return Status::InvalidInput("--out is a symlink; give a real directory");
  if (!fs::is_directory(st)) return Status::InvalidInput("--out exists and is not a directory");
  Result<std::vector<std::string>> children = env->GetChildren(dir);
  if (!children.ok()) return children.status();
  if (!children->empty())
    return Status::InvalidInput("--out is not empty; give a new or empty directory");
  return Status::Ok();
}

}  // namespace

std::string CaptureName(uint64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string CaptureMetaJson(const HttpRequest& req) {
  std::string out = "{\n \"method\": ";
  AppendJsonString(req.method, &out);
  out += ",\n \"path\": ";
  AppendJsonString(req.target, &out);
  out += ",\n \"headers\": {";
  std::vector<std::pair<std::string, std::string>> headers = MergedHeaders(req);
  for (size_t i = 0; i < headers.size(); ++i) {
    out += i ? ",\n  " : "\n  ";
    AppendJsonString(headers[i].first, &out);
    out += ": ";
    AppendJsonString(headers[i].second, &out);
  }
  out += headers.empty() ? "}" : "\n }";
  out += ",\n \"len\": " + std::to_string(req.body.size()) + "\n}";
  return out;
}

Result<std::unique_ptr<CaptureRecorder>> CaptureRecorder::Open(CaptureOptions options, Env* env) {
  if (options.out.empty()) return Status::InvalidInput("--out DIR is required");
  std::error_code ec;
  bool exists = fs::exists(fs::symlink_status(options.out, ec));
  if (exists) {
    if (Status s = CheckEmptyDir(env, options.out); !s.ok()) return s;
  } else if (Status s = env->CreateDirs(options.out, 0700); !s.ok()) {
    return s;
  }
  fs::permissions(options.out, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return Status::Io("--out: cannot set mode 0700: " + ec.message());
  return std::unique_ptr<CaptureRecorder>(new CaptureRecorder(std::move(options), env));
}

CaptureRecorder::CaptureRecorder(CaptureOptions options, Env* env)
    : options_(std::move(options)),
      env_(env),
      remote_(/*answer_locally=*/true, ingest::DecodeLimits{},
              [] { return std::shared_ptr<const policies::PolicySet>(); },
              /*upstream=*/nullptr, &metrics_) {}

bool CaptureRecorder::Write(const HttpRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stats_.state != CaptureState::kRecording) return false;
  std::string meta = CaptureMetaJson(req);
  uint64_t need = req.body.size() + meta.size();
  if (stats_.written >= options_.max_requests || stats_.bytes + need > options_.max_total_bytes) {
    stats_.state = CaptureState::kFull;
    return false;
  }
  const std::string name = CaptureName(stats_.written);
  const fs::path body_file = options_.out / (name + ".body");
  Status s = WriteFileDurably(env_, body_file, req.body, 0600);
  if (s.ok()) s = WriteFileDurably(env_, options_.out / (name + ".meta.json"), meta, 0600);
  if (!s.ok()) {
    if (Status r = env_->RemoveFile(body_file); !r.ok())  // never a body without its meta
      spdlog::error("capture: removing the unpaired body {} failed: {}", name, r.ToString());
    stats_.state = CaptureState::kFailed;
    stats_.error = s.ToString();
    spdlog::error("capture: writing request {} failed: {}", name, s.ToString());
    return false;
  }
  stats_.written++;
  stats_.bytes += need;
  return true;
}

HttpResponse CaptureRecorder::HandleRaw(HttpRequest& req, Surface) {
  std::string_view path = PathOf(req);
  if (path == "/healthz") return HttpResponse{200, "application/json", R"({"status":"ok"})", {}};
  if (ingest::ClassifyPath(path) == ingest::Endpoint::kUnknown)
    return ErrorResponse(404, "not_found", "unknown endpoint");
  if (!Write(req)) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.refused++;
    return stats_.state == CaptureState::kFull
               ? ErrorResponse(503, "capture_full", "the capture reached its size limit")
               : ErrorResponse(503, "capture_failed", "the capture could not write a request");
  }
  return Answer(req);
}

HttpResponse CaptureRecorder::Answer(const HttpRequest& req) {
  ingest::Endpoint ep = ingest::ClassifyPath(PathOf(req));
  if (ep == ingest::Endpoint::kRecording || ep == ingest::Endpoint::kEvents) {
    if (req.method != "POST") return ErrorResponse(405, "method_not_allowed", "use POST");
    return HttpResponse{200, "application/json", R"({"status":1})", {}};
  }
  return remote_.Handle(req);
}

void CaptureRecorder::RecordTransportRejection(unsigned, std::string_view, const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.transport_rejections++;
}

CaptureStats CaptureRecorder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace scrubd::server
