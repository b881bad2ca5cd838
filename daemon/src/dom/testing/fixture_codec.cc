#include "dom/testing/fixture_codec.h"

#include <zlib.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace scrubd::dom::testing {
namespace {
namespace json = boost::json;

std::string Latin1ToBytes(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size(); ++i) {
    unsigned char c = utf8[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (utf8[i + 1] & 0x3F)));
      ++i;
    }
  }
  return out;
}

std::string BytesToLatin1(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

Status DecodeField(json::value& v) {
  if (!v.is_string()) return Status::Ok();
  auto raw = Gunzip(Latin1ToBytes(v.as_string()));
  if (!raw.ok()) return raw.status();
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 4096;
  json::value parsed = json::parse(raw.value(), ec, {}, opts);
  if (ec) return Status::InvalidInput("cv field: " + ec.message());
  v = std::move(parsed);
  return Status::Ok();
}
}  // namespace

Result<std::string> Gunzip(std::string_view bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Internal("inflateInit2");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidInput("gunzip failed");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

std::string Gzip(std::string_view bytes) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, bytes.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
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
  json::value* data = e->if_contains("data");
  if (data == nullptr) return Status::Ok();
  const json::value* type = e->if_contains("type");
  if (type && type->is_int64() && type->get_int64() == 2) return DecodeField(*data);
  if (!data->is_object()) return Status::Ok();
  for (const char* k : {"texts", "attributes", "removes", "adds"}) {
    if (json::value* f = data->as_object().if_contains(k)) {
      Status st = DecodeField(*f);
      if (!st.ok()) return st;
    }
  }
  return Status::Ok();
}

void EncodeCvEvent(json::value& event) {
  json::object* e = event.if_object();
  if (e == nullptr || !e->contains("cv")) return;
  json::value* data = e->if_contains("data");
  if (data == nullptr) return;
  auto enc = [](json::value& v) {
    if (v.is_string()) return;
    v = json::string(BytesToLatin1(Gzip(json::serialize(v))));
  };
  const json::value* type = e->if_contains("type");
  if (type && type->is_int64() && type->get_int64() == 2) {
    enc(*data);
    return;
  }
  if (!data->is_object()) return;
  for (const char* k : {"texts", "attributes", "removes", "adds"})
    if (json::value* f = data->as_object().if_contains(k)) enc(*f);
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
