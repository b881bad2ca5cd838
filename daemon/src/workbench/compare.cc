// The preview's comparison (compare.h): the captured input walked value by value beside the
// two sides, pieces of each value marked shown or not, and what hid a piece attributed to the
// hiding side's policy (attribute.cc).
#include "workbench/compare.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <tuple>
#include <unordered_map>

#include "workbench/compare_internal.h"

namespace scrubd::workbench {
namespace json = boost::json;

namespace {

// What a piece can reveal: letters, digits and non-ASCII bytes (masks and labels' punctuation
// reveal nothing).
bool Reveals(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

}  // namespace

std::string ClipValue(std::string_view v) {
  if (v.size() <= kMaxShownValueBytes) return std::string(v);
  size_t cut = kMaxShownValueBytes;
  while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
  return std::string(v.substr(0, cut)) + "...";
}

SideSummary SideSummary::Of(const RunResult& r) {
  return {r.counts, r.dropped, r.events_stored, r.sessions.size(), r.rejected.size()};
}

std::vector<std::pair<size_t, size_t>> Pieces(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && kPieceSeparators.find(text[i]) != std::string_view::npos) ++i;
    size_t start = i;
    bool reveals = false;
    while (i < text.size() && kPieceSeparators.find(text[i]) == std::string_view::npos)
      reveals |= Reveals(text[i++]);
    if (reveals) out.emplace_back(start, i);
  }
  return out;
}

namespace compare_internal {

size_t AlnumCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += Reveals(c);
  return n;
}

size_t Revealed(std::string_view p, std::string_view q) {
  size_t n = 0;
  if (p.size() == q.size()) {  // a length-keeping mask: "****-1111-1111-1111"
    bool mask = true;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == q[i])
        n += Reveals(p[i]);
      else
        mask = mask && !Reveals(q[i]);  // a mask puts no letter or digit of its own
    }
    if (mask) return n;
    n = 0;
  }
  size_t pre = 0, m = std::min(p.size(), q.size());
  while (pre < m && p[pre] == q[pre]) n += Reveals(p[pre++]);
  for (size_t suf = 0; suf < m - pre && p[p.size() - 1 - suf] == q[q.size() - 1 - suf]; ++suf)
    n += Reveals(p[p.size() - 1 - suf]);  // a truncation keeps a prefix, a mask the last digits
  return n >= kMinPartialReveal ? n : 0;  // fewer is chance (two unrelated ids, hashes)
}

std::vector<size_t> RevealedPieces(std::string_view captured,
                                   const std::vector<std::pair<size_t, size_t>>& pieces,
                                   const std::vector<size_t>& full, const std::string* side,
                                   bool undecided_shows) {
  std::vector<size_t> out(pieces.size(), 0);
  if (side == nullptr) return out;
  if (*side == captured) return full;
  std::unordered_map<std::string_view, int> have;
  std::vector<std::string_view> side_pieces;
  for (auto [s, e] : Pieces(*side)) side_pieces.push_back(std::string_view(*side).substr(s, e - s));
  for (std::string_view q : side_pieces) ++have[q];
  std::vector<size_t> open;
  for (size_t i = 0; i < pieces.size(); ++i) {
    auto it = have.find(captured.substr(pieces[i].first, pieces[i].second - pieces[i].first));
    if (it != have.end() && it->second > 0) {
      --it->second;
      out[i] = full[i];
    } else {
      open.push_back(i);
    }
  }
  // Pieces shown in part (a partial mask, a truncation): the best of the side's pieces.
  if (open.size() * side_pieces.size() > kMaxPartialComparisons) {
    if (undecided_shows)
      for (size_t i : open) out[i] = full[i];
    return out;
  }
  for (size_t i : open) {
    std::string_view p = captured.substr(pieces[i].first, pieces[i].second - pieces[i].first);
    for (std::string_view q : side_pieces) out[i] = std::max(out[i], Revealed(p, q));
  }
  return out;
}

}  // namespace compare_internal

namespace {

using compare_internal::AlnumCount;
using compare_internal::Attributor;
using compare_internal::Hider;
using compare_internal::Leaf;
using compare_internal::RevealedPieces;

// A value's text as compared: strings as they are, other scalars (and a shape a side changed)
// serialised.
std::optional<std::string> TextOf(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

std::optional<int64_t> IdOf(const json::object& o) {
  const json::value* id = o.if_contains("id");
  if (!id) {
    const json::value* node = o.if_contains("node");
    id = node && node->is_object() ? node->as_object().if_contains("id") : nullptr;
  }
  if (id && id->is_int64()) return id->as_int64();
  if (id && id->is_uint64()) return static_cast<int64_t>(id->as_uint64());
  return std::nullopt;
}

std::optional<int64_t> IdOf(const json::value& v) {
  const json::object* o = v.if_object();
  return o ? IdOf(*o) : std::nullopt;
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

  // Walks one rrweb event: `before` / `after` null when that side lacks it.
  void Event(const json::value& captured, const json::value* before, const json::value* after,
             Leaf base) {
    Begin(std::move(base), before != nullptr, after != nullptr);
    Walk(captured, before, after, "");
  }
  // Walks one analytics event, in place (no copy into a json::value).
  void Event(const json::object& captured, const json::object* before, const json::object* after,
             Leaf base) {
    Begin(std::move(base), before != nullptr, after != nullptr);
    WalkObject(captured, before, after);
  }

 private:
  void Begin(Leaf base, bool before, bool after) {
    leaf_ = std::move(base);
    leaf_.event_before = before;
    leaf_.event_after = after;
    path_.clear();
  }

  bool Recording() const { return !leaf_.session.empty(); }
  // Under an rrweb plugin's payload (console, network): the page's data, not rrweb's schema.
  bool InPayload() const { return path_.rfind("data.payload", 0) == 0; }

  void Walk(const json::value& c, const json::value* b, const json::value* a,
            std::string_view key) {
    if (const json::object* o = c.if_object())
      WalkObject(*o, b ? b->if_object() : nullptr, a ? a->if_object() : nullptr);
    else if (const json::array* arr = c.if_array())
      WalkArray(*arr, b, a, key);
    else
      Scalar(c, b, a, key);
  }

  void WalkObject(const json::object& c, const json::object* b, const json::object* a) {
    int64_t node = leaf_.node;
    if (std::optional<int64_t> id = IdOf(c); id && Recording()) leaf_.node = *id;
    for (const auto& kv : c) {
      const json::value* bv = b ? b->if_contains(kv.key()) : nullptr;
      const json::value* av = a ? a->if_contains(kv.key()) : nullptr;
      // A key is named only when every stored side holds it: the input's own keys may be
      // personal, and one a side hid is itself newly exposed or hidden.
      bool named = (av && (bv || !out_->has_baseline)) || (Recording() && IsRrwebKey(kv.key()));
      size_t mark = Push(named ? kv.key() : "[key]");
      // The key itself, where both sides hold the object: one side may have hidden it. In
      // recordings only plugin payload keys (console, network); the rest are the page's
      // attribute names and rrweb's schema.
      if (b && a && (bv == nullptr) != (av == nullptr) && (!Recording() || InPayload())) {
        std::string k(kv.key());
        Compared(k, bv ? std::optional(k) : std::nullopt, av ? std::optional(k) : std::nullopt, k,
                 path_);
      }
      Walk(kv.value(), bv, av, kv.key());
      path_.resize(mark);
    }
    leaf_.node = node;
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
        auto find = [id](const std::map<int64_t, const json::value*>& m) {
          auto it = m.find(id);
          return it == m.end() ? nullptr : it->second;
        };
        bv = find(bi);
        av = find(ai);
      } else {
        bv = b && b->is_array() && i < b->as_array().size() ? &b->as_array()[i] : nullptr;
        av = a && a->is_array() && i < a->as_array().size() ? &a->as_array()[i] : nullptr;
      }
      Walk(c[i], bv, av, key);
      path_.resize(mark);
    }
  }

  // Strings, and in analytics events and plugin payloads any scalar. Elsewhere numbers,
  // booleans and tag names are rrweb's structure (ids, types, coordinates, tags).
  void Scalar(const json::value& c, const json::value* b, const json::value* a,
              std::string_view key) {
    if (Recording() && !InPayload() && (!c.is_string() || key == "tagName")) return;
    if (c.is_null()) return;
    std::string captured = *TextOf(&c);
    Compared(captured, TextOf(b), TextOf(a), key, path_);
  }

  // One captured text against both sides' texts at `field` (nullopt: the side lacks it).
  void Compared(const std::string& captured, const std::optional<std::string>& bt,
                const std::optional<std::string>& at, std::string_view key,
                const std::string& field) {
    std::vector<std::pair<size_t, size_t>> pieces = Pieces(captured);
    if (pieces.empty()) return;
    std::vector<size_t> full;
    for (auto [s, e] : pieces)
      full.push_back(AlnumCount(std::string_view(captured).substr(s, e - s)));
    const std::string *b = bt ? &*bt : nullptr, *a = at ? &*at : nullptr;
    std::vector<size_t> rb = RevealedPieces(captured, pieces, full, b, false);
    std::vector<size_t> ra = RevealedPieces(captured, pieces, full, a, true);
    leaf_.field = field;
    leaf_.key = std::string(key);
    std::vector<size_t> exposed, hidden;
    bool hid_b = false, hid_a = false;
    for (size_t i = 0; i < pieces.size(); ++i) {
      if (ra[i] > rb[i]) exposed.push_back(i);
      if (rb[i] > ra[i]) hidden.push_back(i);
      hid_b |= rb[i] < full[i];
      hid_a |= ra[i] < full[i];
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
    ch.captured = ClipValue(captured);  // bounded memory: only this much is ever shown
    ch.before = ClipValue(bt.value_or(""));
    ch.after = ClipValue(at.value_or(""));
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

 public:
  // Values hidden on each side, by what hid them (sorted by rule, method).
  std::vector<AttributionRow> Attribution() const {
    std::vector<AttributionRow> out;
    for (const auto& [key, n] : rows_) out.push_back({key.first, key.second, n.first, n.second});
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> rows_;
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

// The group an rrweb event aligns in: (timestamp, type, source, Custom tag, plugin name).
std::string EventKey(const json::value& ev) {
  const json::object* o = ev.if_object();
  if (!o) return "?";
  auto part = [](const json::value* v) { return v ? json::serialize(*v) : std::string("-"); };
  const json::value* d = o->if_contains("data");
  const json::object* data = d ? d->if_object() : nullptr;
  auto field = [&](const char* k) { return data ? data->if_contains(k) : nullptr; };
  return part(o->if_contains("timestamp")) + "/" + part(o->if_contains("type")) + "/" +
         part(field("source")) + "/" + part(field("tag")) + "/" + part(field("plugin"));
}

// How many pieces two serialised values share (a multiset intersection).
size_t SharedPieces(const std::string& a, const std::string& b) {
  std::unordered_map<std::string_view, int> have;
  for (auto [s, e] : Pieces(b)) ++have[std::string_view(b).substr(s, e - s)];
  size_t n = 0;
  for (auto [s, e] : Pieces(a)) {
    auto it = have.find(std::string_view(a).substr(s, e - s));
    if (it != have.end() && it->second > 0) {
      --it->second;
      ++n;
    }
  }
  return n;
}

// Beyond this many pairs a group is aligned in order (each pair costs a serialisation).
constexpr size_t kMaxGroupPairs = 4096;

// For each captured item, the side item it is compared with (nullptr: the side lacks it).
// Items align within groups of equal key: in order when a group has as many items on both
// sides, else each captured item with the unused side item sharing most pieces with it, so a
// side that dropped one item of a group keeps the others aligned with their own.
template <typename T, typename Key>
std::vector<const T*> Align(const std::vector<const T*>& captured,
                            const std::vector<const T*>& side, Key key) {
  std::unordered_map<std::string, std::vector<size_t>> cg, sg;
  for (size_t i = 0; i < captured.size(); ++i) cg[key(*captured[i])].push_back(i);
  for (size_t i = 0; i < side.size(); ++i) sg[key(*side[i])].push_back(i);
  std::vector<const T*> out(captured.size(), nullptr);
  for (const auto& [k, ci] : cg) {
    auto it = sg.find(k);
    if (it == sg.end()) continue;
    const std::vector<size_t>& si = it->second;
    if (ci.size() == si.size() || ci.size() * si.size() > kMaxGroupPairs) {
      for (size_t j = 0; j < ci.size() && j < si.size(); ++j) out[ci[j]] = side[si[j]];
      continue;
    }
    std::vector<std::string> texts;
    for (size_t j : si) texts.push_back(json::serialize(*side[j]));
    std::vector<std::tuple<size_t, size_t, size_t>> pairs;  // (shared pieces, captured, side)
    for (size_t c = 0; c < ci.size(); ++c) {
      std::string text = json::serialize(*captured[ci[c]]);
      for (size_t j = 0; j < si.size(); ++j) pairs.emplace_back(SharedPieces(text, texts[j]), c, j);
    }
    // Best pairs first; among equals, the earlier ones (order breaks ties).
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
    std::vector<bool> cu(ci.size(), false), su(si.size(), false);
    for (auto [n, c, j] : pairs) {
      if (cu[c] || su[j]) continue;
      cu[c] = su[j] = true;
      out[ci[c]] = side[si[j]];
    }
  }
  return out;
}

std::vector<const json::value*> Pointers(const json::array* events) {
  std::vector<const json::value*> out;
  if (events)
    for (const json::value& e : *events) out.push_back(&e);
  return out;
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
    const StoredSession* bs = before.run->FindSession(s.token, s.session_id);
    const StoredSession* as = after.run->FindSession(s.token, s.session_id);
    for (size_t wi = 0; wi < s.windows.size(); ++wi) {
      const StoredWindow& w = s.windows[wi];
      std::vector<const json::value*> cap = Pointers(&w.events);
      std::vector<const json::value*> bk =
          Align(cap, Pointers(FindWindow(bs, w.window_id)), EventKey);
      std::vector<const json::value*> ak =
          Align(cap, Pointers(FindWindow(as, w.window_id)), EventKey);
      for (size_t ei = 0; ei < w.events.size(); ++ei) {
        const json::value& ev = w.events[ei];
        Leaf leaf;
        leaf.session = s.token + "/" + s.session_id;
        leaf.window = w.window_id;
        leaf.event_type = EventTypeName(ev);
        const json::value* ts = ev.is_object() ? ev.as_object().if_contains("timestamp") : nullptr;
        leaf.timestamp = ts && ts->is_int64() ? ts->as_int64() : 0;
        leaf.where = "recording " + std::to_string(si + 1) + " window " + std::to_string(wi + 1) +
                     " rrweb event " + std::to_string(ei + 1) + " (" + leaf.event_type + ")";
        walker.Event(ev, bk[ei], ak[ei], std::move(leaf));
      }
    }
  }
}

// The group an analytics event aligns in: its uuid, else its timestamp.
std::string AnalyticsKey(const json::object& ev) {
  const json::value* u = ev.if_contains("uuid");
  if (u && u->is_string()) return "u:" + std::string(u->as_string());
  const json::value* t = ev.if_contains("timestamp");
  return t ? "t:" + json::serialize(*t) : "-";
}

std::vector<const json::object*> Pointers(const std::vector<json::object>& events) {
  std::vector<const json::object*> out;
  for (const json::object& e : events) out.push_back(&e);
  return out;
}

// The event's name where every stored side names it alike (a captured name may be personal,
// and a name one side hid is itself a change): else "event".
std::string StoredName(const json::object* b, const json::object* a, bool has_baseline) {
  auto name = [](const json::object* o) -> const json::value* {
    const json::value* n = o ? o->if_contains("event") : nullptr;
    return n && n->is_string() ? n : nullptr;
  };
  const json::value *bn = name(b), *an = name(a);
  if (an && (!has_baseline || (bn && *bn == *an))) return std::string(an->as_string());
  if (!a && bn && has_baseline) return std::string(bn->as_string());
  return "event";
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
  std::vector<const json::object*> cap = Pointers(captured.events);
  std::vector<const json::object*> bk = Align(cap, Pointers(before.run->events), AnalyticsKey);
  std::vector<const json::object*> ak = Align(cap, Pointers(after.run->events), AnalyticsKey);
  for (size_t i = 0; i < captured.events.size(); ++i) {
    const json::object& ev = captured.events[i];
    Leaf leaf;
    leaf.event_type = StoredName(bk[i], ak[i], before.policies != nullptr);
    leaf.where = "analytics event " + std::to_string(i + 1);
    leaf.token = TokenOf(ev);
    walker.Event(ev, bk[i], ak[i], std::move(leaf));
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
  out.attribution = walker.Attribution();
  out.before = SideSummary::Of(*before.run);
  out.after = SideSummary::Of(*after.run);
  out.events_in = captured.events_in;
  out.recordings_in = captured.sessions.size();
  return out;
}

}  // namespace scrubd::workbench
