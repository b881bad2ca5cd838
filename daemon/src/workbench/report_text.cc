// The comparison as text and JSON (report_text.h).
#include "workbench/report_text.h"

#include <boost/json.hpp>
#include <cstdio>

namespace scrubd::workbench {
namespace json = boost::json;

std::string SpanText(const Change& c) {
  return std::to_string(c.pieces) + (c.pieces == 1 ? " piece" : " pieces") + " at " +
         std::to_string(c.offset) + "+" + std::to_string(c.length) + " of " +
         std::to_string(c.value_length) + " bytes";
}

std::string PositionText(const Change& c) {
  return (c.node >= 0 ? "node " + std::to_string(c.node) + " " : std::string()) +
         (c.field.empty() ? "(value)" : c.field) + ": " + SpanText(c);
}

std::vector<CountRow> CountRows(const std::map<std::string, uint64_t>& before,
                                const std::map<std::string, uint64_t>& after) {
  std::map<std::string, CountRow> rows;
  for (const auto& [k, n] : before) rows[k] = {k, n, 0};
  for (const auto& [k, n] : after) {
    CountRow& r = rows[k];
    r.key = k;
    r.after = n;
  }
  std::vector<CountRow> out;
  for (auto& [k, r] : rows) out.push_back(std::move(r));
  return out;
}

std::vector<CountRow> HiddenByRows(const Comparison& c) {
  std::map<std::string, uint64_t> b, a;
  for (const AttributionRow& r : c.attribution) {
    std::string k = r.rule + (r.method.empty() ? "" : " (" + r.method + ")");
    b[k] += r.before;
    a[k] += r.after;
  }
  return CountRows(b, a);
}

json::object CountsJson(const std::map<std::string, uint64_t>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string FilesText(const std::vector<std::string>& files,
                      const std::vector<std::string>& sha256) {
  std::string out;
  for (size_t i = 0; i < files.size(); ++i)
    out += (i ? ", " : "") + files[i] + (i < sha256.size() ? " (sha256 " + sha256[i] + ")" : "");
  return out;
}

namespace {

json::object ChangeJson(const Change& c, bool show_values) {
  json::object o{{"where", c.where},
                 {"session", c.session},
                 {"event_type", c.event_type},
                 {"field", c.field},
                 {"offset", c.offset},
                 {"length", c.length},
                 {"value_length", c.value_length},
                 {"pieces", c.pieces},
                 {"rule", c.rule},
                 {"method", c.method}};
  if (c.node >= 0) o["node"] = c.node;
  if (show_values) {
    o["captured"] = c.captured;  // clipped by Compare
    o["before"] = c.before;
    o["after"] = c.after;
  }
  return o;
}

json::array ChangesJson(const std::vector<Change>& v, bool show_values) {
  json::array out;
  for (const Change& c : v) out.push_back(ChangeJson(c, show_values));
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array out;
  for (const std::string& s : v) out.push_back(json::string(s));
  return out;
}

// A before / after table under `title`, or "(none)".
std::string TableText(const char* title, const std::vector<CountRow>& rows) {
  char line[512];
  std::snprintf(line, sizeof line, "\n%-42s %10s %10s %10s\n", title, "before", "after", "delta");
  std::string out = line;
  for (const CountRow& r : rows) {
    long long b = static_cast<long long>(r.before), a = static_cast<long long>(r.after);
    std::snprintf(line, sizeof line, "  %-40s %10lld %10lld %+10lld\n", r.key.c_str(), b, a, a - b);
    out += line;
  }
  return rows.empty() ? out + "  (none)\n" : out;
}

json::object SideJson(const SideSummary& s, const std::vector<std::string>& files,
                      const std::vector<std::string>& sha256) {
  return json::object{{"policies", Strings(files)},
                      {"sha256", Strings(sha256)},
                      {"recordings_stored", s.recordings},
                      {"events_stored", s.events_stored},
                      {"redactions_by_rule", CountsJson(s.counts.by_rule)},
                      {"redactions_by_method", CountsJson(s.counts.by_method)},
                      {"dropped", CountsJson(s.dropped)},
                      {"rejected", s.rejected}};
}

std::string ChangesText(const std::vector<Change>& v, bool show_values, const char* hider) {
  std::string out;
  for (const Change& c : v) {
    out += "  " + c.where + " " + PositionText(c) + "\n    " + hider + " " + c.rule +
           (c.method.empty() ? "" : " (" + c.method + ")") + "\n";
    if (!show_values) continue;
    auto q = [](const std::string& s) { return json::serialize(json::string(s)); };
    out += "    captured " + q(c.captured) + "\n    before   " + q(c.before) + "\n    after    " +
           q(c.after) + "\n";
  }
  return out;
}

}  // namespace

json::object ComparisonJson(const ReportHeader& h, const Comparison& c, bool show_values) {
  json::array attribution;
  for (const AttributionRow& r : c.attribution)
    attribution.push_back(
        {{"rule", r.rule}, {"method", r.method}, {"before", r.before}, {"after", r.after}});
  json::object before = SideJson(c.before, h.baseline_files, h.baseline_sha256);
  before["as_captured"] = !c.has_baseline;
  return json::object{{"input", h.input},
                      {"requests", h.requests},
                      {"recordings_in", c.recordings_in},
                      {"events_in", c.events_in},
                      {"before", std::move(before)},
                      {"after", SideJson(c.after, h.policy_files, h.policy_sha256)},
                      {"newly_exposed", ChangesJson(c.newly_exposed, show_values)},
                      {"newly_hidden", ChangesJson(c.newly_hidden, show_values)},
                      {"hidden_by", std::move(attribution)},
                      {"values_shown", show_values}};
}

std::string ComparisonText(const ReportHeader& h, const Comparison& c, bool show_values) {
  const SideSummary &b = c.before, &a = c.after;
  std::string out =
      "before: " + (c.has_baseline ? FilesText(h.baseline_files) : "input as captured") +
      "\nafter:  " + FilesText(h.policy_files) + "\ninput:  " + h.input + " (" +
      std::to_string(h.requests) + " requests, " + std::to_string(c.recordings_in) +
      " recordings, " + std::to_string(c.events_in) + " events)\n";
  out += "stored: before " + std::to_string(b.recordings) + " recordings " +
         std::to_string(b.events_stored) + " events, after " + std::to_string(a.recordings) +
         " recordings " + std::to_string(a.events_stored) + " events\n";
  if (b.rejected + a.rejected > 0)
    out += "rejected requests: before " + std::to_string(b.rejected) + ", after " +
           std::to_string(a.rejected) + " (scrubd policy test names them)\n";
  out += "\nNEWLY EXPOSED: " + std::to_string(c.newly_exposed.size()) +
         " values the new policy shows and the baseline hid\n" +
         ChangesText(c.newly_exposed, show_values, "was hidden by");
  out += "\nNEWLY HIDDEN: " + std::to_string(c.newly_hidden.size()) +
         " values the new policy hides and the baseline showed\n" +
         ChangesText(c.newly_hidden, show_values, "hidden by");
  out += TableText("REDACTIONS by rule (audit)", CountRows(b.counts.by_rule, a.counts.by_rule));
  out += TableText("REDACTIONS by method", CountRows(b.counts.by_method, a.counts.by_method));
  out += TableText("VALUES HIDDEN by selector/rule", HiddenByRows(c));
  out += TableText("DROPPED events by reason", CountRows(b.dropped, a.dropped));
  return out;
}

}  // namespace scrubd::workbench
