// Decoding of the posthog-js wire format. Order follows PostHog's capture service: gzip by
// magic bytes (or compression=gzip-js), then the data= form field or strict base64, then JSON.
#include "ingest/decode.h"

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <span>
#include <vector>

namespace scrubd::ingest {
namespace json = boost::json;

namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\r' || s[0] == '\t'))
    s.remove_prefix(1);
  return s;
}

bool LooksJson(std::string_view s) {
  s = TrimLeft(s);
  return !s.empty() && (s[0] == '{' || s[0] == '[');
}

std::string_view StringField(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

// JavaScript (and so rrweb-player) reads 2, 2.0 and 2E0 as one number. Every number with an
// exact int64 value becomes that int64, so later integer checks see a single form; -0.0
// becomes 0. Fractions, NaN and values outside int64 stay doubles (rrweb checks drop them).
void NormalizeNumbers(json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: {
      const double d = v.get_double();
      constexpr double kTwo63 = 9223372036854775808.0;
      if (d >= -kTwo63 && d < kTwo63 && std::trunc(d) == d) v = static_cast<int64_t>(d);
      break;
    }
    case json::kind::array:
      for (json::value& e : v.get_array()) NormalizeNumbers(e);
      break;
    case json::kind::object:
      for (auto& kv : v.get_object()) NormalizeNumbers(kv.value());
      break;
    default: break;
  }
}

Result<json::value> ParseJson(std::string_view text, int max_depth) {
  json::parse_options opts;
  opts.max_depth = static_cast<std::size_t>(max_depth);
  opts.allow_invalid_utf8 = false;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, json::storage_ptr(), opts);
  if (ec) {
    if (ec == json::error::too_deep)
      return Status::TooLarge("JSON nesting deeper than " + std::to_string(max_depth));
    if (ec == json::error::syntax || ec == json::error::incomplete || ec == json::error::extra_data)
      return Status::InvalidInput("malformed JSON (" + ec.message() + ")");
    return Status::InvalidInput("invalid JSON or UTF-8 (" + ec.message() + ")");
  }
  NormalizeNumbers(v);  // the body, and each cv field as it is expanded
  return v;
}

// Decodes one cv field: latin-1 string -> gzip bytes -> JSON.
Status ExpandField(json::object& data, std::string_view key, const DecodeLimits& limits,
                   size_t* budget) {
  json::value* v = data.if_contains(key);
  if (!v || !v->is_string()) return Status::Ok();  // not compressed in this event
  Result<std::string> bytes = Latin1ToBytes(v->get_string());
  if (!bytes.ok()) return bytes.status();
  InflateLimits il = limits.inflate;
  il.max_output = *budget;
  Result<std::string> raw = Gunzip(*bytes, il);
  if (!raw.ok()) return raw.status();
  *budget -= raw->size();
  Result<json::value> parsed = ParseJson(*raw, limits.max_depth);
  if (!parsed.ok()) return parsed.status();
  *v = std::move(parsed).value();
  return Status::Ok();
}

}  // namespace

Endpoint ClassifyPath(std::string_view path) {
  // Strip one trailing slash so "/e" and "/e/" match alike.
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/s" || path == "/i/v0/s") return Endpoint::kRecording;
  if (path == "/e" || path == "/i/v0/e" || path == "/batch" || path == "/capture" ||
      path == "/track" || path == "/engage")
    return Endpoint::kEvents;
  if (path == "/flags" || path == "/decide") return Endpoint::kFlags;
  if (StartsWith(path, "/array/") && (path.ends_with("/config") || path.ends_with("/config.js")))
    return Endpoint::kRemoteConfig;
  return Endpoint::kUnknown;
}

Result<std::string> Latin1ToBytes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < s.size()) {
      unsigned char d = static_cast<unsigned char>(s[++i]);
      if ((d & 0xC0) != 0x80) return Status::InvalidInput("cv field: invalid UTF-8");
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (d & 0x3F)));
    } else {
      return Status::InvalidInput("cv field: code point above U+00FF");
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

bool ValidSessionId(std::string_view id) {
  if (id.empty() || id.size() > 70) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

bool ValidUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (hyphen ? c != '-' : !hex) return false;
  }
  return true;
}

bool ValidToken(std::string_view token) {
  if (token.empty() || token.size() > 128) return false;
  for (char c : token)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_'))
      return false;
  return true;
}

std::string FormUrlDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

std::optional<std::string> FormValue(std::string_view form, std::string_view key) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string() : FormUrlDecode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Result<std::string> Base64Decode(std::string_view in) {
  static const std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = static_cast<int8_t>(i);
    t['-'] = 62;  // base64url
    t['_'] = 63;
    t[' '] = 62;  // a '+' that went through form decoding
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (ch == '\n' || ch == '\r') continue;
    int8_t v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0 || pad > 0) return Status::InvalidInput("invalid base64 body");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (pad > 2 || bits >= 6) return Status::InvalidInput("invalid base64 length");
  return out;
}

Result<std::string> DecodeBodyText(const RequestView& req, const DecodeLimits& limits) {
  std::string_view body = req.body;
  if (body.empty()) return Status::InvalidInput("empty body");
  std::string buf;
  auto compression = FormValue(req.query, "compression");
  // 1. form body: data=<urlencoded base64 or JSON>
  bool is_form =
      req.content_type.find("application/x-www-form-urlencoded") != std::string_view::npos ||
      StartsWith(body, "data=");
  if (is_form && !LooksGzip(body)) {
    auto data = FormValue(body, "data");
    if (!data) return Status::InvalidInput("form body without a data= field");
    buf = std::move(*data);
    body = buf;
    if (!LooksJson(body)) {
      Result<std::string> raw = Base64Decode(body);
      if (!raw.ok()) return raw.status();
      buf = std::move(raw).value();
      body = buf;
    }
  } else if (!LooksGzip(body) && !LooksJson(body) &&
             (compression == "base64" || compression == std::nullopt)) {
    // 2. strict base64 of the whole body (sendBeacon fallback)
    Result<std::string> raw = Base64Decode(body);
    if (!raw.ok()) return Status::InvalidInput("body is neither JSON, gzip nor base64");
    buf = std::move(raw).value();
    body = buf;
  }
  if (compression == "lz64") return Status::InvalidInput("compression=lz64 is not supported");
  // 3. gzip by magic bytes (the query parameter is optional in newer clients)
  if (LooksGzip(body) || compression == "gzip-js" || compression == "gzip") {
    if (!LooksGzip(body)) return Status::InvalidInput("compression=gzip but body is not gzip");
    InflateLimits il = limits.inflate;
    il.max_output = RequestInflateCap(limits.inflate, req.body.size());
    Result<std::string> raw = Gunzip(body, il);
    if (!raw.ok()) return raw.status();
    return std::move(raw).value();
  }
  if (buf.empty() || body.data() != buf.data()) return std::string(body);
  return buf;
}

Status ExpandNested(json::object& ev, const DecodeLimits& limits, size_t* budget) {
  json::value* cv = ev.if_contains("cv");
  if (!cv) return Status::Ok();
  json::value* data = ev.if_contains("data");
  int64_t type = -1;
  if (auto* t = ev.if_contains("type"); t && t->is_int64()) type = t->get_int64();
  Status s;
  if (type == 2 && data && data->is_string()) {
    // FullSnapshot: the whole data object is one compressed string.
    json::object holder;
    holder["data"] = std::move(*data);
    s = ExpandField(holder, "data", limits, budget);
    if (!s.ok()) return s;
    *data = std::move(holder["data"]);
    if (!data->is_object()) return Status::InvalidInput("cv FullSnapshot data is not an object");
  } else if (type == 3 && data && data->is_object()) {
    json::object& d = data->get_object();
    int64_t source = -1;
    if (auto* src = d.if_contains("source"); src && src->is_int64()) source = src->get_int64();
    if (source == 0) {
      for (std::string_view k : {"texts", "attributes", "removes", "adds"})
        if (s = ExpandField(d, k, limits, budget); !s.ok()) return s;
    } else if (source == 8) {
      for (std::string_view k : {"adds", "removes"})
        if (s = ExpandField(d, k, limits, budget); !s.ok()) return s;
    }
    // Any field that is still a string where rrweb expects arrays was not decodable.
    for (std::string_view k : {"texts", "attributes", "removes", "adds"})
      if (auto* f = d.if_contains(k); f && f->is_string())
        return Status::InvalidInput("cv field left compressed");
  } else if (data && data->is_string()) {
    return Status::InvalidInput("cv on an event type that is never compressed");
  }
  ev.erase("cv");
  return Status::Ok();
}

const json::array* SnapshotItems(const json::object& event) {
  const json::value* props = event.if_contains("properties");
  if (!props || !props->is_object()) return nullptr;
  const json::value* items = props->get_object().if_contains("$snapshot_data");
  if (!items) items = props->get_object().if_contains("$snapshot_items");
  return items && items->is_array() ? &items->get_array() : nullptr;
}

json::array* SnapshotItems(json::object& event) {
  return const_cast<json::array*>(SnapshotItems(static_cast<const json::object&>(event)));
}

Status CompressNested(json::object& ev) {
  if (ev.contains("cv")) return Status::Ok();  // already compressed
  json::value* data = ev.if_contains("data");
  int64_t type = -1;
  if (auto* t = ev.if_contains("type"); t && t->is_int64()) type = t->get_int64();
  auto compress = [](const json::value& v) -> Result<std::string> {
    Result<std::string> gz = Gzip(json::serialize(v));
    if (!gz.ok()) return gz.status();
    return BytesToLatin1(*gz);
  };
  if (type == 2 && data && data->is_object()) {
    Result<std::string> c = compress(*data);
    if (!c.ok()) return c.status();  // like posthog-js: the event stays uncompressed
    *data = json::string(*c);
    ev["cv"] = "2024-10";
    return Status::Ok();
  }
  if (type != 3 || !data || !data->is_object()) return Status::Ok();
  json::object& d = data->get_object();
  int64_t source = -1;
  if (auto* src = d.if_contains("source"); src && src->is_int64()) source = src->get_int64();
  static constexpr std::string_view kMutation[] = {"texts", "attributes", "removes", "adds"};
  static constexpr std::string_view kStyleRule[] = {"adds", "removes"};
  std::span<const std::string_view> keys;
  if (source == 0) {
    keys = kMutation;
  } else if (source == 8) {
    keys = kStyleRule;
  } else {
    return Status::Ok();
  }
  // All or nothing: every field is compressed before any is replaced.
  std::vector<std::pair<json::value*, std::string>> done;
  for (std::string_view k : keys) {
    json::value* f = d.if_contains(k);
    if (!f || f->is_string()) continue;
    Result<std::string> c = compress(*f);
    if (!c.ok()) return c.status();
    done.emplace_back(f, std::move(c).value());
  }
  for (auto& [f, text] : done) *f = json::string(text);
  ev["cv"] = "2024-10";
  return Status::Ok();
}

namespace {

// A routing field scrubd validates and stores as it is (the scrubber skips it): absent, null
// or "" means none; anything else must be a string of the shape `valid` accepts. Objects,
// arrays, numbers and strings of another shape reject the request.
Status RoutingField(const json::object& o, std::string_view key, bool (*valid)(std::string_view),
                    std::string* out) {
  out->clear();
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return Status::Ok();
  if (!v->is_string()) return Status::InvalidInput("'" + std::string(key) + "' must be a string");
  std::string_view id = v->get_string();
  if (!id.empty() && !valid(id)) return Status::InvalidInput("invalid '" + std::string(key) + "'");
  out->assign(id);
  return Status::Ok();
}

// The project token of a batch object (`api_key`, else `token`); both are validated.
Status BatchToken(const json::object& o, std::string* token) {
  std::string other;
  if (Status s = RoutingField(o, "api_key", ValidToken, token); !s.ok()) return s;
  if (Status s = RoutingField(o, "token", ValidToken, &other); !s.ok()) return s;
  if (token->empty()) *token = std::move(other);
  return Status::Ok();
}

// Validates every routing field of one event and copies the ids out for admission. The
// resolved token is written to `properties.token` when the event has none there, so the
// sink derives every index column from the (scrubbed) event alone.
Status ReadRouting(std::string_view batch_token, Endpoint endpoint, const DecodeLimits& limits,
                   Event* ev) {
  json::object& props = ev->json["properties"].get_object();
  std::string props_token, api_key, event_token, uuid;
  Status s = RoutingField(props, "token", ValidToken, &props_token);
  if (s.ok()) s = RoutingField(ev->json, "api_key", ValidToken, &api_key);
  if (s.ok()) s = RoutingField(ev->json, "token", ValidToken, &event_token);
  if (s.ok()) s = RoutingField(ev->json, "uuid", ValidUuid, &uuid);
  if (s.ok()) s = RoutingField(props, "$session_id", ValidSessionId, &ev->session_id);
  if (s.ok()) s = RoutingField(props, "$window_id", ValidSessionId, &ev->window_id);
  if (!s.ok()) return s;
  for (const std::string* t : {&props_token, &api_key, &event_token})
    if (ev->token.empty()) ev->token = *t;
  if (ev->token.empty()) ev->token = std::string(batch_token);
  if (!ValidToken(ev->token)) return Status::InvalidInput("missing or invalid project token");
  if (props_token.empty()) props["token"] = ev->token;
  ev->distinct_id = std::string(StringField(props, "distinct_id"));
  if (ev->distinct_id.empty()) ev->distinct_id = std::string(StringField(ev->json, "distinct_id"));
  bool need_session =
      endpoint == Endpoint::kRecording || ev->is_snapshot || limits.events_require_session_id;
  if (need_session && ev->session_id.empty())
    return Status::InvalidInput("event without a valid $session_id");
  return Status::Ok();
}

// Normalises `$snapshot_data` / `$snapshot_items` to an array and expands the cv fields of
// its rrweb events; an event that does not decode is dropped and counted.
Status ExpandSnapshot(const DecodeLimits& limits, size_t* budget, Event* ev) {
  json::object& props = ev->json["properties"].get_object();
  if (ev->window_id.empty()) ev->window_id = ev->session_id;
  json::value* items = props.if_contains("$snapshot_data");
  if (!items) items = props.if_contains("$snapshot_items");
  if (!items) return Status::InvalidInput("$snapshot without $snapshot_data");
  if (items->is_object()) {  // a single rrweb event
    json::array one;
    one.emplace_back(std::move(*items));
    *items = std::move(one);
  }
  if (!items->is_array()) return Status::InvalidInput("$snapshot_data must be an array");
  json::array& arr = items->get_array();
  json::array kept;
  kept.reserve(arr.size());
  for (json::value& r : arr) {
    if (!r.is_object()) {
      ++ev->undecodable;
      continue;
    }
    Status s = ExpandNested(r.get_object(), limits, budget);
    if (s.code() == Code::kTooLarge) return s;  // bomb: reject the whole request
    if (!s.ok()) {
      ++ev->undecodable;  // fail closed: an event we cannot read is never stored
      continue;
    }
    kept.emplace_back(std::move(r));
  }
  *items = std::move(kept);
  return Status::Ok();
}

// The event list of a parsed body (array, {batch:[...]}, {data:[...]} or one event) and the
// batch-level token.
Result<json::array*> EventList(json::value& root, json::array& single, std::string* token) {
  if (root.is_array()) return &root.get_array();
  if (!root.is_object()) return Status::InvalidInput("body must be a JSON object or array");
  json::object& o = root.get_object();
  if (Status s = BatchToken(o, token); !s.ok()) return s;
  if (auto* b = o.if_contains("batch")) {
    if (!b->is_array()) return Status::InvalidInput("'batch' must be an array");
    return &b->get_array();
  }
  if (auto* d = o.if_contains("data"); d && d->is_array()) return &d->get_array();
  single.emplace_back(std::move(o));
  return &single;
}

}  // namespace

Result<Batch> DecodeBatch(Endpoint endpoint, const RequestView& req, const DecodeLimits& limits) {
  Batch batch;
  batch.endpoint = endpoint;
  batch.wire_bytes = req.body.size();
  Result<std::string> text = DecodeBodyText(req, limits);
  if (!text.ok()) return text.status();
  batch.decoded_bytes = text->size();
  Result<json::value> root = ParseJson(*text, limits.max_depth);
  if (!root.ok()) return root.status();

  std::string batch_token;
  json::array single;
  Result<json::array*> listed = EventList(*root, single, &batch_token);
  if (!listed.ok()) return listed.status();
  json::array* list = *listed;
  if (list->empty()) return Status::InvalidInput("empty batch");
  if (list->size() > limits.max_events)
    return Status::TooLarge("batch holds more than " + std::to_string(limits.max_events) +
                            " events");

  // One allowance for the whole request: the decoded body and every nested cv field.
  const size_t cap = RequestInflateCap(limits.inflate, batch.wire_bytes);
  size_t budget = cap > batch.decoded_bytes ? cap - batch.decoded_bytes : 0;
  batch.events.reserve(list->size());
  for (json::value& v : *list) {
    if (!v.is_object()) return Status::InvalidInput("every event must be a JSON object");
    Event ev;
    ev.json = std::move(v.get_object());
    ev.name = std::string(StringField(ev.json, "event"));
    if (ev.name.empty()) return Status::InvalidInput("event without an 'event' name");
    json::value* props_v = ev.json.if_contains("properties");
    if (!props_v) props_v = &(ev.json["properties"] = json::object());
    if (!props_v->is_object()) return Status::InvalidInput("'properties' must be an object");
    ev.is_snapshot = ev.name == "$snapshot";
    // Exactly one recording field, and only on a $snapshot: the scrub stage masks the field
    // SnapshotItems() returns, so a second one (or one on another event) would pass unmasked.
    {
      const json::object& props = props_v->get_object();
      const bool has_data = props.contains("$snapshot_data");
      const bool has_items = props.contains("$snapshot_items");
      if (has_data && has_items)
        return Status::InvalidInput("event carries both $snapshot_data and $snapshot_items");
      if (!ev.is_snapshot && (has_data || has_items))
        return Status::InvalidInput("$snapshot_data/$snapshot_items on a non-$snapshot event");
    }
    if (Status s = ReadRouting(batch_token, endpoint, limits, &ev); !s.ok()) return s;
    if (ev.is_snapshot) {
      if (Status s = ExpandSnapshot(limits, &budget, &ev); !s.ok()) return s;
    } else if (endpoint == Endpoint::kRecording) {
      return Status::InvalidInput("only $snapshot events are accepted on /s/");
    }
    batch.events.push_back(std::move(ev));
  }
  return batch;
}

}  // namespace scrubd::ingest
