#include "dom/testing/fixture_codec.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "ingest/decode.h"
#include "ingest/gzip.h"

namespace scrubd::dom::testing {
namespace json = boost::json;

// The codec is the ingest stage's own (daemon/src/ingest), so tests and benches decode
// fixtures exactly as production does.
Result<std::string> Gunzip(std::string_view bytes) { return ingest::Gunzip(bytes, {}); }

std::string Gzip(std::string_view bytes) {
  Result<std::string> gz = ingest::Gzip(bytes);
  return gz.ok() ? std::move(gz).value() : std::string();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status DecodeCvEvent(json::value& event) {
  json::object* e = event.if_object();
  if (e == nullptr || !e->contains("cv")) return Status::Ok();
  json::value cv = (*e)["cv"];
  size_t budget = size_t{1} << 30;
  ingest::DecodeLimits limits;
  limits.max_depth = 4096;
  if (Status st = ingest::ExpandNested(*e, limits, &budget); !st.ok()) return st;
  (*e)["cv"] = std::move(cv);  // kept, so EncodeCvEvent knows what to re-encode
  return Status::Ok();
}

void EncodeCvEvent(json::value& event) {
  json::object* e = event.if_object();
  if (e == nullptr || !e->contains("cv")) return;
  // Test helper: an event that cannot be re-encoded stays decoded (all or nothing).
  if (!ingest::CompressNested(*e).ok()) return;
}

Result<std::vector<json::value>> LoadSnapshotEvents(const std::string& body_path) {
  auto body = ReadFile(body_path);
  if (!body.ok()) return body.status();
  std::string text = body.value();
  if (text.size() > 2 && uint8_t(text[0]) == 0x1f && uint8_t(text[1]) == 0x8b) {
    auto raw = Gunzip(text);
    if (!raw.ok()) return raw.status();
    text = std::move(raw).value();
  }
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 4096;
  json::value root = json::parse(text, ec, {}, opts);
  if (ec) return Status::InvalidInput("body: " + ec.message());
  std::vector<json::value> out;
  auto take = [&](json::value& ev) -> Status {
    json::object* o = ev.if_object();
    if (o == nullptr) return Status::Ok();
    json::value* props = o->if_contains("properties");
    if (props == nullptr || !props->is_object()) return Status::Ok();
    json::value* data = props->as_object().if_contains("$snapshot_data");
    if (data == nullptr || !data->is_array()) return Status::Ok();
    for (auto& r : data->as_array()) {
      Status st = DecodeCvEvent(r);
      if (!st.ok()) return st;
      out.push_back(std::move(r));
    }
    return Status::Ok();
  };
  json::array* batch = root.if_array();
  if (batch == nullptr && root.is_object() && root.as_object().contains("batch"))
    batch = root.as_object()["batch"].if_array();
  if (batch != nullptr) {
    for (auto& ev : *batch) {
      Status st = take(ev);
      if (!st.ok()) return st;
    }
  } else {
    Status st = take(root);
    if (!st.ok()) return st;
  }
  return out;
}

}  // namespace scrubd::dom::testing
