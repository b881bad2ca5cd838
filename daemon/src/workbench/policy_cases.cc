// The checks of a `scrubd policy test` case (policy_cases.h).
#include "workbench/policy_cases.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

#include "workbench/replay_dom.h"

namespace scrubd::workbench {
namespace json = boost::json;

namespace {

void AddUnique(std::vector<std::string>* out, std::string s) {
  if (std::find(out->begin(), out->end(), s) == out->end()) out->push_back(std::move(s));
}

// \uXXXX for every non-ASCII code point (surrogate pairs above U+FFFF), JSON escapes for the
// rest; `upper` picks the hex case.
std::string UnicodeEscaped(std::string_view json_escaped, bool upper) {
  std::string out;
  const char* hex = upper ? "%04X" : "%04x";
  auto put = [&](unsigned cp) {
    char buf[8];
    std::snprintf(buf, sizeof buf, hex, cp);
    out += "\\u";
    out += buf;
  };
  for (size_t i = 0; i < json_escaped.size();) {
    unsigned char c = json_escaped[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    unsigned cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + k < json_escaped.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(json_escaped[i + k]) & 0x3F);
    i += len;
    if (cp > 0xFFFF) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

std::string PercentEncoded(std::string_view s, bool upper, bool plus) {
  std::string out;
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (unsigned char c : s) {
    if (std::isalnum(c) || std::string_view("-_.~").find(c) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else if (c == ' ' && plus) {
      out += '+';
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> StoredForms(std::string_view s) {
  std::vector<std::string> out;
  AddUnique(&out, std::string(s));
  std::string quoted = json::serialize(json::value(json::string(s)));
  std::string escaped = quoted.substr(1, quoted.size() - 2);
  AddUnique(&out, escaped);
  AddUnique(&out, UnicodeEscaped(escaped, false));
  AddUnique(&out, UnicodeEscaped(escaped, true));
  for (bool upper : {true, false})
    for (bool plus : {false, true}) AddUnique(&out, PercentEncoded(s, upper, plus));
  return out;
}

namespace {

bool ContainsAny(std::string_view hay, const std::vector<std::string>& forms) {
  return std::any_of(forms.begin(), forms.end(),
                     [&](const std::string& f) { return hay.find(f) != std::string_view::npos; });
}

// The serialised stored data of a run, with a position name for each piece.
struct Pieces {
  std::vector<std::pair<std::string, std::string>> items;  // position, text
  explicit Pieces(const RunResult& r) {
    for (size_t s = 0; s < r.sessions.size(); ++s) {
      const StoredSession& ss = r.sessions[s];
      for (size_t w = 0; w < ss.windows.size(); ++w)
        for (size_t e = 0; e < ss.windows[w].events.size(); ++e)
          items.push_back({"recording " + std::to_string(s + 1) + " window " +
                               std::to_string(w + 1) + " rrweb event " + std::to_string(e + 1),
                           json::serialize(ss.windows[w].events[e])});
    }
    for (size_t e = 0; e < r.events.size(); ++e)
      items.push_back({"analytics event " + std::to_string(e + 1), json::serialize(r.events[e])});
  }
  // The first position holding a form, or "".
  std::string Find(const std::vector<std::string>& forms) const {
    for (const auto& [where, text] : items)
      if (ContainsAny(text, forms)) return where;
    return "";
  }
};

void CheckStrings(const TestCase& c, const Pieces& in, const Pieces& out, const RunResult& after,
                  CaseReport* rep) {
  for (size_t i = 0; i < c.hidden.size(); ++i) {
    const std::string check = "hidden[" + std::to_string(i) + "]";
    std::vector<std::string> forms = StoredForms(c.hidden[i].text);
    if (in.Find(forms).empty()) {
      rep->failures.push_back(
          {check, c.hidden[i].where, "not in the input as captured: the check would be vacuous"});
    } else if (std::string at = out.Find(forms); !at.empty()) {
      rep->failures.push_back({check, c.hidden[i].where, "shown in the output, at " + at});
    } else if (ContainsAny(after.bytes, forms)) {
      rep->failures.push_back({check, c.hidden[i].where,
                               "in the run's other bytes (index, audit log, log lines or DOM "
                               "state)"});
    }
  }
  for (size_t i = 0; i < c.visible.size(); ++i) {
    const std::string check = "visible[" + std::to_string(i) + "]";
    std::vector<std::string> forms = StoredForms(c.visible[i].text);
    if (in.Find(forms).empty())
      rep->failures.push_back(
          {check, c.visible[i].where, "not in the input as captured: the check would be vacuous"});
    else if (out.Find(forms).empty())
      rep->failures.push_back({check, c.visible[i].where, "hidden by the policy (over-masking)"});
  }
}

// The output node at the position of input match `m`, or nullptr when the output lacks it.
const DomNode* OutputNode(const RunResult& after, const StoredSession& in_session,
                          const DomMatch& m, std::vector<ReplayDom>& out_doms,
                          const DomDocument** doc) {
  const StoredSession* s = after.FindSession(in_session.token, in_session.session_id);
  if (s == nullptr) return nullptr;
  const DomWindow* w = out_doms[s - after.sessions.data()].FindWindow(m.window->window_id);
  *doc = w ? w->FindDocument(m.document->timestamp) : nullptr;
  return *doc ? (*doc)->Find(m.node->id) : nullptr;
}

// True when `node` shows what the check forbids: text that is not masked (masked), or any text,
// input value or descendant at all (blocked: a placeholder keeps none).
bool CouldFail(const DomDocument& doc, const DomNode& node, bool blocked) {
  std::vector<std::string> shown = EverShown(doc, node);
  if (blocked) return EverHadDescendants(doc, node) || !shown.empty();
  return std::any_of(shown.begin(), shown.end(),
                     [](const std::string& t) { return !LooksMasked(t); });
}

void CheckSelectors(const TestCase& c, const RunResult& before, const RunResult& after,
                    CaseReport* rep) {
  std::vector<ReplayDom> in_doms, out_doms;
  for (const StoredSession& s : before.sessions) in_doms.push_back(ReplayDom::FromSession(s));
  for (const StoredSession& s : after.sessions) out_doms.push_back(ReplayDom::FromSession(s));
  auto run = [&](const std::vector<SelectorCheck>& checks, const char* key, bool blocked) {
    for (size_t i = 0; i < checks.size(); ++i) {
      const std::string check = std::string(key) + "[" + std::to_string(i) + "]";
      size_t matched = 0, shown = 0;
      for (size_t si = 0; si < before.sessions.size(); ++si) {
        const StoredSession& s = before.sessions[si];
        for (const DomMatch& m : in_doms[si].Select(checks[i].list)) {
          // Only an element the input itself would fail on tests anything: one with text that
          // is not masked already (the client may have masked it) or, to block, any content.
          if (!CouldFail(*m.document, *m.node, blocked)) continue;
          ++matched;
          const DomDocument* doc = nullptr;
          const DomNode* n = OutputNode(after, s, m, out_doms, &doc);
          if (!n) continue;  // dropped with its page, window or blocked ancestor: hidden
          shown += CouldFail(*doc, *n, blocked);
        }
      }
      if (matched == 0)
        rep->failures.push_back({check, checks[i].where,
                                 "matches no element of the input's DOM with text or content "
                                 "the check could catch: it would be vacuous"});
      else if (shown > 0)
        rep->failures.push_back(
            {check, checks[i].where,
             std::to_string(shown) + " of " + std::to_string(matched) + " matching elements " +
                 (blocked ? "not blocked (content kept under them)" : "show unmasked text")});
    }
  };
  run(c.selectors_masked, "selectors_masked", false);
  run(c.selectors_blocked, "selectors_blocked", true);
}

void CheckCounts(const TestCase& c, const RunResult& after, CaseReport* rep) {
  for (size_t i = 0; i < c.redacted_by.size(); ++i) {
    auto it = after.counts.by_rule.find(c.redacted_by[i].text);
    if (it == after.counts.by_rule.end() || it->second == 0)
      rep->failures.push_back({"redacted_by[" + std::to_string(i) + "]", c.redacted_by[i].where,
                               "rule " + c.redacted_by[i].text + " redacted nothing"});
  }
  uint64_t dropped = 0;
  for (const auto& [reason, n] : after.dropped) dropped += n;
  if (c.max_dropped && dropped > *c.max_dropped)
    rep->failures.push_back({"max_dropped", c.where,
                             std::to_string(dropped) + " events dropped, at most " +
                                 std::to_string(*c.max_dropped) + " allowed"});
  for (const auto& [reason, max] : c.max_dropped_by_reason) {
    auto it = after.dropped.find(reason);
    uint64_t n = it == after.dropped.end() ? 0 : it->second;
    if (n > max)
      rep->failures.push_back(
          {"max_dropped_by_reason." + reason, c.where,
           std::to_string(n) + " events dropped, at most " + std::to_string(max) + " allowed"});
  }
  if (after.rejected.size() > c.max_rejected)
    rep->failures.push_back({"max_rejected", c.where,
                             std::to_string(after.rejected.size()) + " requests rejected (" +
                                 after.rejected.front() +
                                 (after.rejected.size() > 1 ? ", ..." : "") + "), at most " +
                                 std::to_string(c.max_rejected) + " allowed"});
}

}  // namespace

CaseReport Evaluate(const TestCase& c, const RunResult& before, const RunResult& after) {
  CaseReport rep;
  rep.name = c.name;
  rep.where = c.where;
  rep.sessions_in = before.sessions.size();
  Pieces in(before), out(after);
  CheckStrings(c, in, out, after, &rep);
  CheckSelectors(c, before, after, &rep);
  CheckCounts(c, after, &rep);
  return rep;
}

Result<CaseReport> RunCase(const TestCase& c, std::shared_ptr<const policies::PolicySet> set) {
  Result<std::vector<CapturedRequest>> in = LoadCaptureDir(c.input);
  if (!in.ok()) return in.status();
  Result<RunResult> before = DecodeOnly(*in);
  if (!before.ok()) return before.status();
  Result<RunResult> after = RunPolicy(std::move(set), *in);
  if (!after.ok()) return after.status();
  CaseReport rep = Evaluate(c, *before, *after);
  rep.after = std::move(after).value();
  rep.after.bytes.clear();
  return rep;
}

}  // namespace scrubd::workbench
