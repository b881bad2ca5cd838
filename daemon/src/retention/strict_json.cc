// ParseStrict: a key-tracking pass (basic_parser) in front of the ordinary parse.
#include "retention/strict_json.h"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <set>
#include <string>
#include <vector>

namespace scrubd::retention {
namespace json = boost::json;

namespace {

// Collects keys per open object; `dup` is set on a repeat.
struct KeyHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  std::vector<std::set<std::string>> open;
  std::string key;
  bool dup = false;

  using ec = json::error_code;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_object_begin(ec&) {
    open.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, ec&) {
    open.pop_back();
    return true;
  }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_key_part(std::string_view s, std::size_t, ec&) {
    key.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, ec&) {
    key.append(s);
    if (!open.empty() && !open.back().insert(key).second) dup = true;
    key.clear();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, ec&) { return true; }
  bool on_string(std::string_view, std::size_t, ec&) { return true; }
  bool on_number_part(std::string_view, ec&) { return true; }
  bool on_int64(std::int64_t, std::string_view, ec&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, ec&) { return true; }
  bool on_double(double, std::string_view, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(std::string_view, ec&) { return true; }
  bool on_comment(std::string_view, ec&) { return true; }
};

}  // namespace

Result<json::value> ParseStrict(std::string_view body, unsigned max_depth) {
  json::parse_options po;
  po.max_depth = max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, po);
  if (ec) return Status::InvalidInput("body is not JSON (or nests too deep)");
  json::basic_parser<KeyHandler> p(po);
  p.write_some(false, body.data(), body.size(), ec);
  if (ec) return Status::InvalidInput("body is not JSON");
  if (p.handler().dup) return Status::InvalidInput("a field is given twice");
  return v;
}

}  // namespace scrubd::retention
