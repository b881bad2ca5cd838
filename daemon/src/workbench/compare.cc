// The preview's comparison (compare.h): the captured input walked value by value beside the
// two sides, pieces of each value marked shown or not, and what hid a piece attributed to the
// hiding side's policy (attribute.cc).
#include "workbench/compare.h"

#include <boost/json.hpp>
#include <map>
#include <unordered_map>

#include "workbench/compare_internal.h"

namespace scrubd::workbench {
namespace json = boost::json;

std::vector<std::pair<size_t, size_t>> Pieces(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && kPieceSeparators.find(text[i]) != std::string_view::npos) ++i;
    size_t start = i;
    bool alnum = false;
    while (i < text.size() && kPieceSeparators.find(text[i]) == std::string_view::npos) {
      unsigned char c = text[i++];
      alnum |= std::isalnum(c) || c >= 0x80;
    }
    if (alnum) out.emplace_back(start, i);
  }
  return out;
}

namespace compare_internal {

std::vector<bool> ShownPieces(std::string_view captured,
                              const std::vector<std::pair<size_t, size_t>>& pieces,
                              const std::string* side) {
  std::vector<bool> shown(pieces.size(), false);
  if (side == nullptr) return shown;
  if (*side == captured) return std::vector<bool>(pieces.size(), true);
  std::unordered_map<std::string_view, int> have;
  for (auto [s, e] : Pieces(*side)) ++have[std::string_view(*side).substr(s, e - s)];
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto it = have.find(captured.substr(pieces[i].first, pieces[i].second - pieces[i].first));
    if (it != have.end() && it->second > 0) {
      --it->second;
      shown[i] = true;
    }
  }
  return shown;
}

}  // namespace compare_internal

namespace {

using compare_internal::Attributor;
using compare_internal::Hider;
using compare_internal::Leaf;
using compare_internal::ShownPieces;

// A value's text as compared: strings as they are, other scalars (and a shape a side changed)
// serialised.
std::optional<std::string> TextOf(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::optional<int64_t> IdOf(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return std::nullopt;
  const json::value* id = o->if_contains("id");
  if (!id) {
    const json::value* node = o->if_contains("node");
    id = node && node->is_object() ? node->as_object().if_contains("id") : nullptr;
  }
  if (id && id->is_int64()) return id->as_int64();
  if (id && id->is_uint64()) return static_cast<int64_t>(id->as_uint64());
  return std::nullopt;
}

// Keys of rrweb's own event schema (never a page's or a user's words): named in a path even
// where a side lacks them (a blocked element keeps no childNodes).
bool IsRrwebKey(std::string_view k) {
  static constexpr std::string_view kKeys[] = {
      "data",    "node",    "childNodes", "textContent",  "attributes", "adds",
      "removes", "texts",   "value",      "text",         "payload",    "plugin",
      "href",    "tagName", "source",     "type",         "id",         "parentId",
      "nextId",  "name",    "publicId",   "systemId",     "isSVG",      "isStyle",
      "level",   "trace",   "rule",       "rules",        "styleId",    "positions",
      "tag",     "width",   "height",     "initialOffset"};
  for (std::string_view key : kKeys)
    if (k == key) return true;
  return false;
}

class Walker {
 public:
  Walker(Comparison* out, Attributor& attr) : out_(out), attr_(attr) {}

  // Walks one event (or analytics event): `before` / `after` null when that side lacks it.
  void Event(const json::value& captured, const json::value* before, const json::value* after,
             Leaf base) {
    leaf_ = std::move(base);
    leaf_.event_before = before != nullptr;
    leaf_.event_after = after != nullptr;
    path_.clear();
    Walk(captured, before, after, "");
  }

 private:
  void Walk(const json::value& c, const json::value* b, const json::value* a,
            std::string_view key) {
    if (const json::object* o = c.if_object()) {
      int64_t node = leaf_.node;
      if (std::optional<int64_t> id = IdOf(c); id && !leaf_.session.empty()) leaf_.node = *id;
      for (const auto& kv : *o) {
        const json::value *bv = Child(b, kv.key()), *av = Child(a, kv.key());
        // A key is named only when every stored side holds it: the input's own keys may be
        // personal, and one a side hid is itself newly exposed or hidden.
        bool named =
            (av && (bv || !out_->has_baseline)) || (!leaf_.session.empty() && IsRrwebKey(kv.key()));
        size_t mark = Push(named ? kv.key() : "[key]");
        Walk(kv.value(), bv, av, kv.key());
        path_.resize(mark);
      }
      leaf_.node = node;
    } else if (const json::array* arr = c.if_array()) {
      WalkArray(*arr, b, a, key);
    } else {
      Scalar(c, b, a, key);
    }
  }

  void WalkArray(const json::array& c, const json::value* b, const json::value* a,
                 std::string_view key) {
    bool by_id = !c.empty();
    for (const json::value& v : c) by_id = by_id && IdOf(v).has_value();
    std::map<int64_t, const json::value*> bi, ai;
    if (by_id) {
      auto index = [](const json::value* side, std::map<int64_t, const json::value*>* out) {
        if (!side || !side->is_array()) return;
        for (const json::value& v : side->as_array())
          if (std::optional<int64_t> id = IdOf(v)) out->emplace(*id, &v);
      };
      index(b, &bi);
      index(a, &ai);
    }
    for (size_t i = 0; i < c.size(); ++i) {
      size_t mark = path_.size();
      path_ += "[" + std::to_string(i) + "]";
      const json::value *bv = nullptr, *av = nullptr;
      if (by_id) {
        int64_t id = *IdOf(c[i]);
        bv = bi.count(id) ? bi[id] : nullptr;
        av = ai.count(id) ? ai[id] : nullptr;
      } else {
        bv = b && b->is_array() && i < b->as_array().size() ? &b->as_array()[i] : nullptr;
        av = a && a->is_array() && i < a->as_array().size() ? &a->as_array()[i] : nullptr;
      }
      Walk(c[i], bv, av, key);
      path_.resize(mark);
    }
  }

  // Strings only: numbers and booleans are rrweb's structure (ids, types, coordinates,
  // timestamps) far more often than content; so are tag names.
  void Scalar(const json::value& c, const json::value* b, const json::value* a,
              std::string_view key) {
    if (!c.is_string() || key == "tagName") return;  // an element's tag is structure too
    std::string captured(c.as_string());
    std::vector<std::pair<size_t, size_t>> pieces = Pieces(captured);
    if (pieces.empty()) return;
    std::optional<std::string> bt = TextOf(b), at = TextOf(a);
    std::vector<bool> sb = ShownPieces(captured, pieces, bt ? &*bt : nullptr);
    std::vector<bool> sa = ShownPieces(captured, pieces, at ? &*at : nullptr);
    leaf_.field = path_;
    leaf_.key = std::string(key);
    std::vector<size_t> exposed, hidden;
    bool hid_b = false, hid_a = false;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (sa[i] && !sb[i]) exposed.push_back(i);
      if (sb[i] && !sa[i]) hidden.push_back(i);
      hid_b |= !sb[i];
      hid_a |= !sa[i];
    }
    if (!hid_b && !hid_a) return;
    Hider hb = hid_b ? attr_.Hide(leaf_, captured, b, true) : Hider{};
    Hider ha = hid_a ? attr_.Hide(leaf_, captured, a, false) : Hider{};
    if (hid_b && out_->has_baseline) Count(hb, true);
    if (hid_a) Count(ha, false);
    if (!exposed.empty())
      out_->newly_exposed.push_back(MakeChange(captured, pieces, exposed, hb, bt, at));
    if (!hidden.empty())
      out_->newly_hidden.push_back(MakeChange(captured, pieces, hidden, ha, bt, at));
  }

  Change MakeChange(const std::string& captured,
                    const std::vector<std::pair<size_t, size_t>>& pieces,
                    const std::vector<size_t>& which, const Hider& h,
                    const std::optional<std::string>& bt, const std::optional<std::string>& at) {
    Change ch;
    ch.where = leaf_.where;
    ch.session = leaf_.session;
    ch.event_type = leaf_.event_type;
    ch.node = leaf_.node;
    ch.field = leaf_.field;
    ch.offset = pieces[which.front()].first;
    ch.length = pieces[which.back()].second - ch.offset;
    ch.value_length = captured.size();
    ch.pieces = which.size();
    ch.rule = h.rule;
    ch.method = h.method;
    ch.captured = captured;
    ch.before = bt.value_or("");
    ch.after = at.value_or("");
    return ch;
  }

  void Count(const Hider& h, bool before) {
    auto& row = rows_[{h.rule, h.method}];
    ++(before ? row.first : row.second);
  }

  size_t Push(std::string_view key) {
    size_t mark = path_.size();
    if (!path_.empty()) path_ += '.';
    path_ += key;
    return mark;
  }

  static const json::value* Child(const json::value* v, std::string_view key) {
    const json::object* o = v ? v->if_object() : nullptr;
    return o ? o->if_contains(key) : nullptr;
  }

 public:
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> rows_;

 private:
  Comparison* out_;
  Attributor& attr_;
  Leaf leaf_;
  std::string path_;
};

std::string EventTypeName(const json::value& ev) {
  static const char* kTypes[] = {"DomContentLoaded", "Load",  "FullSnapshot", "Incremental", "Meta",
                                 "Custom",           "Plugin"};
  static const char* kSources[] = {"Mutation",
                                   "MouseMove",
                                   "MouseInteraction",
                                   "Scroll",
                                   "ViewportResize",
                                   "Input",
                                   "TouchMove",
                                   "MediaInteraction",
                                   "StyleSheetRule",
                                   "CanvasMutation",
                                   "Font",
                                   "Log",
                                   "Drag",
                                   "StyleDeclaration",
                                   "Selection",
                                   "AdoptedStyleSheet",
                                   "CustomElement"};
  const json::object* o = ev.if_object();
  const json::value* t = o ? o->if_contains("type") : nullptr;
  if (!t || !t->is_int64() || t->as_int64() < 0 || t->as_int64() > 6) return "event";
  int64_t type = t->as_int64();
  if (type == 3) {
    const json::value* d = o->if_contains("data");
    const json::value* s = d && d->is_object() ? d->as_object().if_contains("source") : nullptr;
    if (s && s->is_int64() && s->as_int64() >= 0 && s->as_int64() <= 16)
      return kSources[s->as_int64()];
  }
  return kTypes[type];
}

// (timestamp, type, source) of an rrweb event, the key it aligns by (with an ordinal).
std::string EventKey(const json::value& ev) {
  const json::object* o = ev.if_object();
  if (!o) return "?";
  auto part = [](const json::value* v) { return v ? json::serialize(*v) : std::string("-"); };
  const json::value* d = o->if_contains("data");
  const json::value* s = d && d->is_object() ? d->as_object().if_contains("source") : nullptr;
  return part(o->if_contains("timestamp")) + "/" + part(o->if_contains("type")) + "/" + part(s);
}

std::map<std::string, const json::value*> KeyedEvents(const json::array* events) {
  std::map<std::string, const json::value*> out;
  std::map<std::string, int> seen;
  if (!events) return out;
  for (const json::value& ev : *events) {
    std::string k = EventKey(ev);
    out.emplace(k + "#" + std::to_string(seen[k]++), &ev);
  }
  return out;
}

const StoredSession* FindSession(const RunResult& r, const StoredSession& s) {
  for (const StoredSession& o : r.sessions)
    if (o.token == s.token && o.session_id == s.session_id) return &o;
  return nullptr;
}

const json::array* FindWindow(const StoredSession* s, const std::string& id) {
  if (!s) return nullptr;
  for (const StoredWindow& w : s->windows)
    if (w.window_id == id) return &w.events;
  return nullptr;
}

void CompareRecordings(const RunResult& captured, Side before, Side after, Walker& walker,
                       Attributor& attr) {
  for (size_t si = 0; si < captured.sessions.size(); ++si) {
    const StoredSession& s = captured.sessions[si];
    attr.BeginSession(s, before.policies, after.policies);
    const StoredSession* bs = FindSession(*before.run, s);
    const StoredSession* as = FindSession(*after.run, s);
    for (size_t wi = 0; wi < s.windows.size(); ++wi) {
      const StoredWindow& w = s.windows[wi];
      auto bk = KeyedEvents(FindWindow(bs, w.window_id));
      auto ak = KeyedEvents(FindWindow(as, w.window_id));
      std::map<std::string, int> seen;
      for (size_t ei = 0; ei < w.events.size(); ++ei) {
        const json::value& ev = w.events[ei];
        std::string k = EventKey(ev);
        k += "#" + std::to_string(seen[k]++);
        Leaf leaf;
        leaf.session = s.token + "/" + s.session_id;
        leaf.window = w.window_id;
        leaf.event_type = EventTypeName(ev);
        const json::value* ts = ev.is_object() ? ev.as_object().if_contains("timestamp") : nullptr;
        leaf.timestamp = ts && ts->is_int64() ? ts->as_int64() : 0;
        leaf.where = "recording " + std::to_string(si + 1) + " window " + std::to_string(wi + 1) +
                     " rrweb event " + std::to_string(ei + 1) + " (" + leaf.event_type + ")";
        auto b = bk.find(k);
        auto a = ak.find(k);
        walker.Event(ev, b == bk.end() ? nullptr : b->second, a == ak.end() ? nullptr : a->second,
                     std::move(leaf));
      }
    }
  }
}

const json::value* Uuid(const json::object& ev) {
  const json::value* u = ev.if_contains("uuid");
  return u && u->is_string() ? u : nullptr;
}

const json::object* MatchEvent(const std::vector<json::object>& side, const json::object& ev,
                               size_t index) {
  if (const json::value* u = Uuid(ev)) {
    for (const json::object& o : side)
      if (const json::value* ou = Uuid(o); ou && *ou == *u) return &o;
    return nullptr;
  }
  return index < side.size() && !Uuid(side[index]) ? &side[index] : nullptr;
}

// The project token an analytics event was sent with (its `token` property, else top-level).
std::string TokenOf(const json::object& ev) {
  const json::value* props = ev.if_contains("properties");
  const json::value* t =
      props && props->is_object() ? props->as_object().if_contains("token") : nullptr;
  if (!t) t = ev.if_contains("token");
  if (!t) t = ev.if_contains("api_key");
  return t && t->is_string() ? std::string(t->as_string()) : "";
}

void CompareEvents(const RunResult& captured, Side before, Side after, Walker& walker,
                   Attributor& attr) {
  attr.BeginEvents(before.policies, after.policies);
  for (size_t i = 0; i < captured.events.size(); ++i) {
    const json::object& ev = captured.events[i];
    const json::object* b = MatchEvent(before.run->events, ev, i);
    const json::object* a = MatchEvent(after.run->events, ev, i);
    json::value cv = ev, bv, av;
    if (b) bv = *b;
    if (a) av = *a;
    Leaf leaf;
    // The event's name as a stored side holds it (the captured name may be personal).
    const json::value* name = a ? a->if_contains("event") : nullptr;
    if (!name && b && before.policies) name = b->if_contains("event");
    leaf.event_type = name && name->is_string() ? std::string(name->as_string()) : "event";
    leaf.where = "analytics event " + std::to_string(i + 1);
    leaf.token = TokenOf(ev);
    walker.Event(cv, b ? &bv : nullptr, a ? &av : nullptr, std::move(leaf));
  }
}

}  // namespace

Comparison Compare(const RunResult& captured, Side before, Side after) {
  Comparison out;
  out.has_baseline = before.policies != nullptr;
  Attributor attr;
  Walker walker(&out, attr);
  CompareRecordings(captured, before, after, walker, attr);
  CompareEvents(captured, before, after, walker, attr);
  for (const auto& [key, n] : walker.rows_)
    out.attribution.push_back({key.first, key.second, n.first, n.second});
  out.before_counts = before.run->counts;
  out.after_counts = after.run->counts;
  out.before_dropped = before.run->dropped;
  out.after_dropped = after.run->dropped;
  out.events_in = captured.events_in;
  out.before_stored = before.run->events_stored;
  out.after_stored = after.run->events_stored;
  out.recordings_in = captured.sessions.size();
  out.before_recordings = before.run->sessions.size();
  out.after_recordings = after.run->sessions.size();
  out.before_rejected = before.run->rejected.size();
  out.after_rejected = after.run->rejected.size();
  return out;
}

}  // namespace scrubd::workbench
