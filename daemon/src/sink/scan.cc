// Needle scan: forms are built once, files are read in 64 KiB pieces, lower-cased in place and
// searched with the previous piece's tail prepended; zstd files (v2 store chunks) are also
// searched as they decode. Error messages carry no path.
#include "sink/scan.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "sink/chunk_codec.h"

namespace scrubd::sink {
namespace fs = std::filesystem;

namespace {

constexpr size_t kReadSize = 64 * 1024;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string s) {
  for (char& c : s) c = Lower(c);
  return s;
}

std::string JsonEscaped(std::string_view s, bool escape_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '/' && escape_slash) {
      out += "\\/";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Percent-encodes every byte outside ASCII alphanumerics and `keep`; `plus` writes ' ' as '+'.
std::string PercentEncoded(std::string_view s, std::string_view keep, bool plus) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) && c < 0x80) {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus) {
      out += '+';
    } else if (keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// A stream of bytes searched for the forms: each piece is lower-cased onto the kept tail of
// the previous ones (the last longest-1 bytes), so a form split between pieces is found.
class Haystack {
 public:
  Haystack(const std::vector<std::string>& forms, size_t longest)
      : forms_(forms), longest_(longest) {}
  // True once a form has been seen.
  bool Add(std::string_view piece) {
    if (found_) return true;
    size_t old = buf_.size();
    buf_.append(piece);
    std::transform(buf_.begin() + static_cast<std::ptrdiff_t>(old), buf_.end(),
                   buf_.begin() + static_cast<std::ptrdiff_t>(old), Lower);
    for (const std::string& f : forms_) {
      if (buf_.find(f) != std::string::npos) {
        found_ = true;
        return true;
      }
    }
    if (buf_.size() >= longest_) buf_.erase(0, buf_.size() - (longest_ - 1));
    return false;
  }
  bool found() const { return found_; }

 private:
  const std::vector<std::string>& forms_;
  const size_t longest_;
  std::string buf_;
  bool found_ = false;
};

// True if the file at `p` contains a form, in its bytes or, for a file that starts with the
// zstd magic (a v2 store chunk), in its decoded bytes (streamed: one 64 KiB read piece, one
// 128 KiB decoded piece and one zstd window, at most 16 MiB, in memory). A zstd file that does
// not decode completely counts as holding one: it cannot be shown clean. `longest` >= every
// form's size.
Result<bool> FileHolds(const fs::path& p, const std::vector<std::string>& forms, size_t longest) {
  int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;  // removed since listed: nothing in it
    return Status::Io(std::string("scan: open: ") + std::strerror(errno));
  }
  Haystack raw(forms, longest), decoded(forms, longest);
  std::unique_ptr<ZstdStream> zstd;
  bool first = true, undecodable = false;
  char piece[kReadSize];
  for (;;) {
    ssize_t n = ::read(fd, piece, sizeof(piece));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::Io(std::string("scan: read: ") + std::strerror(e));
    }
    if (n == 0) break;
    std::string_view bytes(piece, static_cast<size_t>(n));
    if (first && LooksZstd(bytes)) zstd = std::make_unique<ZstdStream>();
    first = false;
    if (raw.Add(bytes)) break;
    if (zstd && !undecodable) {
      Status s = zstd->Feed(bytes, [&](std::string_view d) { return !decoded.Add(d); });
      undecodable = !s.ok();
      if (zstd->stopped()) break;
    }
  }
  ::close(fd);
  if (zstd && !zstd->stopped() && !undecodable) undecodable = !zstd->Finish().ok();
  return raw.found() || decoded.found() || undecodable;
}

}  // namespace

std::vector<std::string> NeedleForms(std::string_view needle) {
  std::vector<std::string> forms;
  if (needle.empty()) return forms;
  forms.push_back(std::string(needle));
  forms.push_back(JsonEscaped(needle, false));
  forms.push_back(JsonEscaped(needle, true));
  forms.push_back(PercentEncoded(needle, "-_.!~*'()", false));  // encodeURIComponent
  forms.push_back(PercentEncoded(needle, "-._~", false));       // RFC 3986 unreserved
  forms.push_back(PercentEncoded(needle, "-_.!~*'()", true));   // form encoding
  forms.push_back(PercentEncoded(needle, "-._~", true));        // form, strict (quote_plus)
  for (std::string& f : forms) f = LowerAscii(std::move(f));
  std::sort(forms.begin(), forms.end());
  forms.erase(std::unique(forms.begin(), forms.end()), forms.end());
  return forms;
}

Result<uint64_t> ScanForNeedles(const fs::path& dir, const std::vector<std::string>& needles,
                                std::vector<fs::path>* hits) {
  std::vector<std::string> forms;
  for (const std::string& n : needles)
    for (std::string& f : NeedleForms(n)) forms.push_back(std::move(f));
  size_t longest = 1;
  for (const std::string& f : forms) longest = std::max(longest, f.size());
  std::error_code ec;
  if (forms.empty() || !fs::exists(dir, ec)) return uint64_t{0};
  uint64_t found = 0;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) continue;
    Result<bool> holds = FileHolds(it->path(), forms, longest);
    if (!holds.ok()) return holds.status();
    if (!*holds) continue;
    ++found;
    if (hits) hits->push_back(it->path());
  }
  if (ec) return Status::Io("scan: list directory: " + ec.message());
  return found;
}

}  // namespace scrubd::sink
