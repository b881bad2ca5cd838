// The identity pass (docs/identifiers.md). Raw ids are read from the event and overwritten in
// place; nothing here logs or stores them. HMACs are OpenSSL one-shot calls.
#include "scrub/identity.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <memory>
#include <vector>

namespace scrubd::scrub {
namespace json = boost::json;
namespace ip = boost::asio::ip;
using policies::ClientIpMode;
using policies::IdentifierMode;
using policies::PersonPropertyMethod;

namespace {

constexpr std::string_view kPseudonymPrefix = "pid_";
constexpr std::string_view kPropertyPrefix = "ppv_";
constexpr size_t kPseudonymBytes = 16;  // 128 bits: two ids never collapse in practice

// Where posthog puts the ids of a person: at the event's top level (server SDKs) and in
// `properties` (posthog-js). `alias` only in the alias events.
constexpr std::string_view kIdentifierKeys[] = {"distinct_id", "$anon_distinct_id", "$device_id",
                                                "$user_id"};
// `$group_set` (a $groupidentify's group properties) often names a person too (an owner).
constexpr std::string_view kPersonPropertyKeys[] = {"$set", "$set_once", "$group_set"};

using Mac = std::array<unsigned char, EVP_MAX_MD_SIZE>;
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// HMAC-SHA256 contexts are keyed once and duplicated per message: OpenSSL's one-shot HMAC()
// fetches the algorithm and expands the key on every call, which doubled the cost.
MacCtx Keyed(std::string_view key) {
  static EVP_MAC* const hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // process lifetime
  MacCtx ctx(hmac ? EVP_MAC_CTX_new(hmac) : nullptr);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (!ctx || key.empty() ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1)
    return nullptr;
  return ctx;
}

// HMAC(key of `keyed`, a || b). False on an OpenSSL failure.
bool Sign(EVP_MAC_CTX* keyed, std::string_view a, std::string_view b, Mac* out) {
  MacCtx c(EVP_MAC_CTX_dup(keyed));
  size_t len = 0;
  return c && EVP_MAC_update(c.get(), reinterpret_cast<const unsigned char*>(a.data()), a.size()) &&
         EVP_MAC_update(c.get(), reinterpret_cast<const unsigned char*>(b.data()), b.size()) &&
         EVP_MAC_final(c.get(), out->data(), &len, out->size()) && len >= kPseudonymBytes;
}

// The context keyed with the project key of (master, token), cached per thread (deriving it
// costs two HMACs). Valid until this thread's next call; null on an OpenSSL failure.
EVP_MAC_CTX* ProjectContext(std::string_view master_key, std::string_view token) {
  struct Entry {
    std::string master, token;
    MacCtx ctx;
  };
  thread_local std::vector<Entry> cache;
  for (Entry& e : cache)
    if (e.token == token && e.master == master_key) return e.ctx.get();
  MacCtx master = Keyed(master_key);
  Mac project{};
  if (!master ||
      !Sign(master.get(), std::string_view("scrubd/identifiers/v1\0", 22), token, &project))
    return nullptr;
  MacCtx ctx = Keyed(std::string_view(reinterpret_cast<const char*>(project.data()), 32));
  if (!ctx) return nullptr;
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.push_back({std::string(master_key), std::string(token), std::move(ctx)});
  return cache.back().ctx.get();
}

std::string Letters(std::string_view prefix, const Mac& mac) {
  std::string out(prefix);
  for (size_t i = 0; i < kPseudonymBytes; ++i) {
    out.push_back(static_cast<char>('a' + (mac[i] >> 4)));
    out.push_back(static_cast<char>('a' + (mac[i] & 15)));
  }
  return out;
}

// The text an id or property value is keyed on: a string's bytes, any other JSON its
// serialization (so 42 and "42" are one id, as PostHog stores distinct ids as strings).
std::string ValueText(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

// One event's or body's context: the project key is derived once.
class Pass {
 public:
  Pass(const policies::Policy& policy, std::string_view token, rules::RedactionCounts* counts)
      : identity_(policy.identity), counts_(counts) {
    if (!identity_.master_key.empty()) key_ = ProjectContext(identity_.master_key, token);
  }

  // False once a value needed pseudonymising and there was no key (the caller drops).
  bool ok() const { return ok_; }

  // Rewrites the identifier under `key` of `o`, if present (null stays null).
  void Identifier(json::object& o, std::string_view key) {
    json::value* v = o.if_contains(key);
    if (!v || v->is_null() || identity_.identifiers == IdentifierMode::kKeep) return;
    if (identity_.identifiers == IdentifierMode::kRedact) {
      *v = kRedactedIdentifier;
      Count("identifier", "redact");
      return;
    }
    std::string raw = ValueText(*v);
    if (raw != last_raw_ || last_pseudonym_.empty()) {  // posthog-js: $device_id == distinct_id
      Mac mac{};
      if (!HasKey() || !Sign(key_, raw, {}, &mac)) return Fail();
      last_pseudonym_ = Letters(kPseudonymPrefix, mac);
      last_raw_ = std::move(raw);
    }
    *v = last_pseudonym_;
    Count("identifier", "pseudonymize");
  }

  void Identifiers(json::object& o) {
    for (std::string_view k : kIdentifierKeys) Identifier(o, k);
  }

  // Group keys (`$groups` / a flags body's `groups`: type -> key) are identifiers too: an
  // organisation's key is often a person's name or email. Same pseudonym as `$group_key`.
  void Groups(json::object& o, std::string_view key) {
    json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_object()) {
      Identifier(o, key);
      return;
    }
    json::object& groups = v->get_object();
    for (auto& kv : groups) Identifier(groups, kv.key());
  }

  // A flags body's `group_properties` (type -> properties): each type's properties like
  // person properties (they often hold an owner's name or email).
  void GroupProperties(json::object& o, std::string_view key) {
    json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_object()) {
      PersonProperties(o, key);
      return;
    }
    json::object& types = v->get_object();
    for (auto& kv : types) PersonProperties(types, kv.key());
  }

  // $set / $set_once (or a flags body's person_properties) under `key` of `o`.
  void PersonProperties(json::object& o, std::string_view key) {
    json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return;
    if (!v->is_object()) {  // not the shape posthog sends: the whole value is personal
      Property(*v);
      return;
    }
    for (auto& kv : v->get_object())
      if (!identity_.person_properties.Keeps(kv.key())) Property(kv.value());
  }

  void PersonPropertySets(json::object& o) {
    for (std::string_view k : kPersonPropertyKeys) PersonProperties(o, k);
    Unset(o);
  }

  // `$unset`: a list of property names. A name the policy keeps stays; any other entry is
  // handled as a person property value (it can be anything a caller put there).
  void Unset(json::object& o) {
    json::value* v = o.if_contains("$unset");
    if (!v || v->is_null()) return;
    if (!v->is_array()) {
      Property(*v);
      return;
    }
    for (json::value& e : v->get_array())
      if (!e.is_string() || !identity_.person_properties.Keeps(std::string_view(e.get_string())))
        Property(e);
  }

  // The client address an event carries itself (`$ip`; `ip` at the top level).
  void Ip(json::object& o, std::string_view key) {
    json::value* v = o.if_contains(key);
    if (!v || identity_.client_ip == ClientIpMode::kPass) return;
    std::string truncated = identity_.client_ip == ClientIpMode::kTruncate && v->is_string()
                                ? TruncateIp(std::string_view(v->get_string()))
                                : std::string();
    if (truncated.empty()) {
      o.erase(key);  // dropped, or not an address we can truncate: fail closed
      Count("client_ip", "remove");
      return;
    }
    *v = truncated;
    Count("client_ip", "truncate_ip");
  }

 private:
  void Property(json::value& v) {
    if (v.is_null()) return;
    if (identity_.person_properties.method == PersonPropertyMethod::kRedact) {
      v = kRedactedIdentifier;
      Count("person_properties", "redact");
      return;
    }
    if (v.is_object()) {
      for (auto& kv : v.get_object()) Property(kv.value());
    } else if (v.is_array()) {
      for (json::value& e : v.get_array()) Property(e);
    } else {
      Mac mac{};
      if (!HasKey() || !Sign(key_, std::string_view("person_property\0", 16), ValueText(v), &mac))
        return Fail();
      v = Letters(kPropertyPrefix, mac);
      Count("person_properties", "pseudonymize");
    }
  }

  bool HasKey() const { return key_ != nullptr; }
  void Fail() { ok_ = false; }

  void Count(const char* rule, const char* method) {
    if (!counts_) return;
    counts_->by_rule[rule]++;
    counts_->by_method[method]++;
  }

  const policies::IdentityPolicy& identity_;
  rules::RedactionCounts* counts_;
  EVP_MAC_CTX* key_ = nullptr;  // the project's keyed context (ProjectContext)
  bool ok_ = true;
  std::string last_raw_, last_pseudonym_;  // the last identifier (in memory only)
};

std::string_view EventName(const json::object& ev) {
  const json::value* n = ev.if_contains("event");
  return n && n->is_string() ? std::string_view(n->get_string()) : std::string_view();
}

}  // namespace

std::string IdentifierPseudonym(std::string_view master_key, std::string_view token,
                                std::string_view raw_id) {
  EVP_MAC_CTX* key = ProjectContext(master_key, token);
  Mac mac{};
  if (!key || !Sign(key, raw_id, {}, &mac)) return {};
  return Letters(kPseudonymPrefix, mac);
}

bool IsIdentifierPseudonym(std::string_view s) {
  if (s.size() != kPseudonymPrefix.size() + 2 * kPseudonymBytes || !s.starts_with(kPseudonymPrefix))
    return false;
  for (char c : s.substr(kPseudonymPrefix.size()))
    if (c < 'a' || c > 'p') return false;
  return true;
}

bool ApplyIdentity(ingest::Event& event, const policies::Policy& policy,
                   rules::RedactionCounts* counts) {
  Pass pass(policy, event.token, counts);
  json::object& ev = event.json;
  const std::string_view name = EventName(ev);
  const bool alias_event = name == "$create_alias" || name == "$merge_dangerously";
  pass.Identifiers(ev);
  pass.Groups(ev, "$groups");
  pass.Identifier(ev, "$group_key");
  pass.PersonPropertySets(ev);
  pass.Ip(ev, "$ip");
  pass.Ip(ev, "ip");
  std::string distinct_id;
  if (json::value* d = ev.if_contains("distinct_id"); d && d->is_string())
    distinct_id = d->get_string();
  if (json::value* p = ev.if_contains("properties"); p && p->is_object()) {
    json::object& props = p->get_object();
    pass.Identifiers(props);
    pass.Groups(props, "$groups");
    pass.Identifier(props, "$group_key");
    if (alias_event) pass.Identifier(props, "alias");
    pass.PersonPropertySets(props);
    pass.Ip(props, "$ip");
    if (json::value* d = props.if_contains("distinct_id"); d && d->is_string())
      distinct_id = d->get_string();
  }
  if (alias_event) pass.Identifier(ev, "alias");
  if (!pass.ok()) return false;
  // Never the decode-time raw copy. Under `keep` the detectors have not run yet: read the id
  // from the scrubbed event instead.
  const bool final_id = policy.identity.identifiers != IdentifierMode::kKeep;
  event.distinct_id = final_id ? std::move(distinct_id) : std::string();
  return true;
}

bool ApplyIdentityToFlags(json::object& body, std::string_view token,
                          const policies::Policy& policy, rules::RedactionCounts* counts) {
  Pass pass(policy, token, counts);
  pass.Identifiers(body);
  pass.PersonProperties(body, "person_properties");
  pass.Groups(body, "groups");
  pass.GroupProperties(body, "group_properties");
  pass.Ip(body, "$ip");
  return pass.ok();
}

std::string TruncateIp(std::string_view text) {
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(text), ec);
  if (ec) return {};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_v4()) {
    ip::address_v4::bytes_type b = a.to_v4().to_bytes();
    b[3] = 0;
    return ip::address_v4(b).to_string();
  }
  ip::address_v6::bytes_type b = a.to_v6().to_bytes();
  for (size_t i = 6; i < b.size(); ++i) b[i] = 0;
  return ip::address_v6(b).to_string();
}

namespace {

// Parses one address as proxies write it: "1.2.3.4", "1.2.3.4:80", "2001:db8::1",
// "[2001:db8::1]:443", with surrounding spaces.
std::optional<ip::address> ParseHostAddress(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.starts_with("[")) {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    s = s.substr(1, close - 1);
  } else if (size_t colon = s.find(':');
             colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    s = s.substr(0, colon);  // IPv4 with a port
  }
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(s), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

bool IsProxyAddress(const ip::address& a) {
  if (a.is_loopback()) return true;
  if (a.is_v4()) {
    ip::address_v4::bytes_type b = a.to_v4().to_bytes();
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168);
  }
  ip::address_v6 v6 = a.to_v6();
  return v6.is_link_local() || (v6.to_bytes()[0] & 0xfe) == 0xfc;
}

}  // namespace

std::string ForwardedClientAddress(ClientIpMode mode, std::string_view peer,
                                   std::string_view x_forwarded_for, std::string_view x_real_ip) {
  if (mode == ClientIpMode::kDrop) return {};
  std::optional<ip::address> client = ParseHostAddress(peer);
  if (client && IsProxyAddress(*client)) {
    std::optional<ip::address> forwarded;
    while (!x_forwarded_for.empty() && !forwarded) {  // rightmost valid entry
      size_t comma = x_forwarded_for.rfind(',');
      std::string_view entry =
          comma == std::string_view::npos ? x_forwarded_for : x_forwarded_for.substr(comma + 1);
      forwarded = ParseHostAddress(entry);
      x_forwarded_for =
          comma == std::string_view::npos ? std::string_view() : x_forwarded_for.substr(0, comma);
    }
    if (!forwarded && !x_real_ip.empty()) forwarded = ParseHostAddress(x_real_ip);
    if (forwarded) client = forwarded;
  }
  if (!client) return {};
  if (mode == ClientIpMode::kPass) return client->to_string();
  return TruncateIp(client->to_string());
}

}  // namespace scrubd::scrub
