// Subject facts (facts.h). Raw values live in locals only; every node leaves as a pseudonym.
// The identifier positions are those the identity pass rewrites (daemon/src/scrub/identity.cc),
// so a pseudonym in a stored event and its node are one value.
#include "subjects/facts.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "scrub/identity.h"

namespace scrubd::subjects {
namespace json = boost::json;

namespace {

constexpr std::string_view kIdentifierKeys[] = {"distinct_id", "$anon_distinct_id", "$device_id",
                                                "$user_id"};
constexpr std::string_view kPersonSetKeys[] = {"$set", "$set_once"};
// clang-format off
constexpr std::string_view kIllegalIds[] = {
    "", "anonymous", "guest", "distinctid", "distinct_id", "id", "not_authenticated", "email",
    "undefined", "true", "false", "[object object]", "nan", "0", "-1", "null", "none", "nil",
    "''", "\"\"", "[]", "{}", "unknown"};
// clang-format on

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// name@domain.tld with no whitespace: enough to decide that an id is an email address.
bool LooksLikeEmail(std::string_view s) {
  s = Trim(s);
  size_t at = s.find('@');
  if (at == 0 || at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos)
    return false;
  size_t dot = s.find('.', at + 2);
  if (dot == std::string_view::npos || dot + 1 >= s.size() || s.size() > 320) return false;
  return std::none_of(s.begin(), s.end(), IsSpace);
}

bool IsEmailKey(std::string_view key) {
  std::string k = Lower(key);
  return k.find("email") != std::string::npos || k.find("e-mail") != std::string::npos;
}

// As the identity pass keys a value: a string's bytes, other JSON its serialization.
std::string ValueText(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

std::string_view EventName(const json::object& ev) {
  const json::value* n = ev.if_contains("event");
  return n && n->is_string() ? std::string_view(n->get_string()) : std::string_view();
}

// Accumulates the nodes of one event or request, deduplicated, in first-seen order.
class Collector {
 public:
  Collector(std::string_view master_key, std::string_view token, std::vector<NodeFact>* out)
      : master_(master_key), token_(token), out_(out) {}

  // An identifier value: its own nodes, plus its normalised email's when it looks like one.
  void Identifier(const json::value* v, std::string_view kind) {
    if (!v || v->is_null() || v->is_object() || v->is_array()) return;
    std::string raw = ValueText(*v);
    if (IsIllegalIdentifier(raw)) return;
    Add(raw, kind);
    if (LooksLikeEmail(raw)) Add(NormaliseEmail(raw), kKindEmail);
  }

  void Identifiers(const json::object& o) {
    for (std::string_view k : kIdentifierKeys)
      Identifier(o.if_contains(k), k == "$device_id" ? kKindDevice : kKindDistinctId);
  }

  // $set / $set_once of `o`: the string values of email-named keys.
  void PersonEmails(const json::object& o) {
    for (std::string_view set_key : kPersonSetKeys) {
      const json::value* set = o.if_contains(set_key);
      if (!set || !set->is_object()) continue;
      for (const auto& kv : set->get_object()) {
        if (!kv.value().is_string() || !IsEmailKey(kv.key())) continue;
        std::string email = NormaliseEmail(std::string_view(kv.value().get_string()));
        if (!IsIllegalIdentifier(email)) Add(email, kKindEmail);
      }
    }
  }

  // "i:" + pseudonym of `raw`, then "h:" + pseudonym of its sha256 hex, linked to it. A node
  // seen before keeps its place; a device id seen again as a person's id becomes that kind.
  void Add(std::string_view raw, std::string_view kind) {
    std::string pid = scrub::IdentifierPseudonym(master_, token_, raw);
    if (pid.empty()) return;
    std::string node = "i:" + pid;
    if (auto it = at_.find(node); it != at_.end()) {
      NodeFact& known = (*out_)[it->second];
      if (known.kind == kKindDevice && kind != kKindDevice) known.kind = kind;
      return;
    }
    at_.emplace(node, out_->size());
    out_->push_back({node, std::string(kind), {}});
    std::string hash_pid = scrub::IdentifierPseudonym(master_, token_, Sha256Hex(raw));
    if (hash_pid.empty() || !at_.emplace("h:" + hash_pid, out_->size()).second) return;
    out_->push_back({"h:" + hash_pid, std::string(kKindHash), node});
  }

 private:
  std::string_view master_, token_;
  std::vector<NodeFact>* out_;
  std::unordered_map<std::string, size_t> at_;  // node -> index in *out_
};

}  // namespace

std::string NormaliseEmail(std::string_view raw) { return Lower(Trim(raw)); }

std::string Sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

bool IsIllegalIdentifier(std::string_view raw) {
  std::string v = Lower(Trim(raw));
  return std::find(std::begin(kIllegalIds), std::end(kIllegalIds), v) != std::end(kIllegalIds);
}

EventFacts FactsOf(const ingest::Event& event, std::string_view master_key) {
  EventFacts f;
  f.token = event.token;
  f.session_id = event.session_id;
  f.recording = event.is_snapshot;
  const json::object& ev = event.json;
  if (const json::value* u = ev.if_contains("uuid"); u && u->is_string()) f.uuid = u->get_string();
  if (master_key.empty() || f.token.empty()) return f;
  Collector c(master_key, f.token, &f.nodes);
  const std::string_view name = EventName(ev);
  const bool alias_event = name == "$create_alias" || name == "$merge_dangerously";
  const json::value* p = ev.if_contains("properties");
  const json::object* props = p && p->is_object() ? &p->get_object() : nullptr;
  // The event's own distinct id first: it anchors the event's links and occurrence.
  if (props) c.Identifier(props->if_contains("distinct_id"), kKindDistinctId);
  c.Identifiers(ev);
  if (props) c.Identifiers(*props);
  if (alias_event) {
    c.Identifier(ev.if_contains("alias"), kKindDistinctId);
    if (props) c.Identifier(props->if_contains("alias"), kKindDistinctId);
  }
  c.PersonEmails(ev);
  if (props) c.PersonEmails(*props);
  if (!f.session_id.empty())
    f.nodes.push_back({"s:" + f.session_id, std::string(kKindSession), {}});
  return f;
}

std::vector<NodeFact> SeedNodes(std::string_view master_key, std::string_view token,
                                std::string_view identity_type, std::string_view value,
                                std::string_view format) {
  std::vector<NodeFact> out;
  if (identity_type == "session") {
    if (format == "raw" && ingest::ValidSessionId(value))
      out.push_back({"s:" + std::string(value), std::string(kKindSession), {}});
    return out;
  }
  const bool is_email = identity_type == "email";
  if (!is_email && identity_type != "distinct_id" && identity_type != "controller_customer_id")
    return out;
  if (master_key.empty() || token.empty()) return out;
  if (format == "sha256") {
    std::string hex = Lower(Trim(value));
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      return out;
    std::string pid = scrub::IdentifierPseudonym(master_key, token, hex);
    if (!pid.empty()) out.push_back({"h:" + pid, std::string(kKindHash), {}});
    return out;
  }
  if (format != "raw") return out;
  Collector c(master_key, token, &out);
  if (is_email) {
    c.Add(NormaliseEmail(value), kKindEmail);
    c.Add(value, kKindEmail);
  } else {
    c.Add(value, kKindDistinctId);
  }
  // Only the "i:" nodes seed a request: each "h:" node is linked to its "i:" node anyway.
  std::erase_if(out, [](const NodeFact& n) { return !n.of.empty(); });
  return out;
}

bool IsSuppressed(const SubjectStore& store, const EventFacts& facts) {
  std::unordered_set<std::string_view> devices;
  for (const NodeFact& n : facts.nodes)
    if (n.kind == kKindDevice) devices.insert(n.node);
  for (const NodeFact& n : facts.nodes) {
    if (n.kind == kKindDevice || (!n.of.empty() && devices.contains(n.of))) continue;
    if (store.IsTombstoned(facts.token, n.node)) return true;
  }
  return false;
}

}  // namespace scrubd::subjects
