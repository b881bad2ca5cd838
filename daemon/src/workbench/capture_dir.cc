// Reading a capture directory (capture_dir.h).
#include "workbench/capture_dir.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace scrubd::workbench {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kBody = ".body";
constexpr std::string_view kMeta = ".meta.json";

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool AllDigits(std::string_view n) {
  return std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Names of digits sort by value ("9" before "10"), the rest after them by text.
bool NameLess(const std::string& a, const std::string& b) {
  bool da = AllDigits(a), db = AllDigits(b);
  if (da != db) return da;
  if (da && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

bool IsToken(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

Status Bad(const std::string& file, const std::string& why) {
  return Status::InvalidInput("capture dir: " + file + ": " + why);
}

Result<std::string> ReadBounded(const fs::path& p, size_t max, const std::string& file) {
  std::error_code ec;
  uintmax_t size = fs::file_size(p, ec);
  if (ec) return Status::Io("capture dir: " + file + ": " + ec.message());
  if (size > max)
    return Bad(file,
               "larger than " + std::to_string(max) + " bytes (" + std::to_string(size) + ")");
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::Io("capture dir: " + file + ": read failed");
  return ss.str();
}

// The headers object of a meta, lower-cased.
Status ReadHeaders(const json::object& meta, const std::string& file,
                   std::map<std::string, std::string>* out) {
  const json::value* h = meta.if_contains("headers");
  if (!h) return Status::Ok();
  if (!h->is_object()) return Bad(file, "headers is not an object");
  for (const auto& [k, v] : h->as_object()) {
    std::string name(k);
    if (!IsToken(name, 256)) return Bad(file, "a header name is not an HTTP token");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (!v.is_string()) return Bad(file, "header " + name + " is not a string");
    if (!out->emplace(name, std::string(v.as_string())).second)
      return Bad(file, "header " + name + " given twice");
  }
  return Status::Ok();
}

// The request of one meta file and its body.
Result<server::HttpRequest> RequestOf(const std::string& meta_text, std::string body,
                                      const std::string& file) {
  json::error_code ec;
  json::value v = json::parse(meta_text, ec);
  if (ec || !v.is_object()) return Bad(file, "not a JSON object");
  const json::object& meta = v.as_object();
  const json::value* method = meta.if_contains("method");
  if (!method || !method->is_string() || !IsToken(method->as_string(), 16))
    return Bad(file, "method missing or not an HTTP method");
  const json::value* path = meta.if_contains("path");
  if (!path || !path->is_string() || !path->as_string().starts_with("/") ||
      path->as_string().size() > 8192)
    return Bad(file, "path missing or not a path starting with /");
  if (const json::value* len = meta.if_contains("len")) {
    if (!len->is_int64() && !len->is_uint64()) return Bad(file, "len is not a number");
    if (len->to_number<uint64_t>() != body.size())
      return Bad(file, "len is " + std::to_string(len->to_number<uint64_t>()) +
                           " but the body has " + std::to_string(body.size()) + " bytes");
  }
  server::HttpRequest req;
  req.method = std::string(method->as_string());
  req.target = std::string(path->as_string());
  if (Status s = ReadHeaders(meta, file, &req.headers); !s.ok()) return s;
  req.body = std::move(body);
  req.peer = "127.0.0.1";
  return req;
}

// The stems of the pairs in `dir`, sorted; every .body has a .meta.json and the reverse.
Result<std::vector<std::string>> PairNames(const fs::path& dir, const CaptureLimits& limits) {
  std::map<std::string, int> seen;  // bit 1 body, bit 2 meta
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string f = it->path().filename().string();
    int bit = f.ends_with(kMeta) ? 2 : f.ends_with(kBody) ? 1 : 0;
    if (bit == 0) continue;
    std::string stem = f.substr(0, f.size() - (bit == 2 ? kMeta.size() : kBody.size()));
    if (!ValidName(stem))
      return Bad("a file", "name is not [A-Za-z0-9_-]{1,64} + .body/.meta.json");
    seen[stem] |= bit;
    if (seen.size() > limits.max_requests)
      return Status::InvalidInput("capture dir: more than " + std::to_string(limits.max_requests) +
                                  " requests");
  }
  if (ec) return Status::Io("capture dir: cannot list the directory: " + ec.message());
  std::vector<std::string> names;
  for (const auto& [stem, bits] : seen) {
    if (bits == 1) return Bad(stem + std::string(kBody), "has no " + stem + std::string(kMeta));
    if (bits == 2) return Bad(stem + std::string(kMeta), "has no " + stem + std::string(kBody));
    names.push_back(stem);
  }
  std::sort(names.begin(), names.end(), NameLess);
  return names;
}

}  // namespace

Result<std::vector<CapturedRequest>> LoadCaptureDir(const fs::path& dir,
                                                    const CaptureLimits& limits) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::InvalidInput("capture dir: " + dir.string() + " is not a directory");
  Result<std::vector<std::string>> names = PairNames(dir, limits);
  if (!names.ok()) return names.status();
  if (names->empty())
    return Status::InvalidInput("capture dir: " + dir.string() +
                                " holds no NNNN.body + NNNN.meta.json pair");
  std::vector<CapturedRequest> out;
  uint64_t total = 0;
  for (const std::string& n : *names) {
    const std::string body_file = n + std::string(kBody), meta_file = n + std::string(kMeta);
    Result<std::string> body = ReadBounded(dir / body_file, limits.max_body_bytes, body_file);
    if (!body.ok()) return body.status();
    Result<std::string> meta = ReadBounded(dir / meta_file, limits.max_meta_bytes, meta_file);
    if (!meta.ok()) return meta.status();
    total += body->size() + meta->size();
    if (total > limits.max_total_bytes)
      return Status::InvalidInput("capture dir: more than " +
                                  std::to_string(limits.max_total_bytes) + " bytes in all");
    Result<server::HttpRequest> req = RequestOf(*meta, std::move(body).value(), meta_file);
    if (!req.ok()) return req.status();
    out.push_back({n, std::move(req).value()});
  }
  return out;
}

}  // namespace scrubd::workbench
