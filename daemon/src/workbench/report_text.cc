// The comparison as text and JSON (report_text.h).
#include "workbench/report_text.h"

#include <boost/json.hpp>
#include <cstdio>
#include <set>

namespace scrubd::workbench {
namespace json = boost::json;

std::string ClipValue(std::string_view v) {
  if (v.size() <= kMaxShownValueBytes) return std::string(v);
  size_t cut = kMaxShownValueBytes;
  while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
  return std::string(v.substr(0, cut)) + "...";
}

std::string PositionText(const Change& c) {
  std::string out;
  if (c.node >= 0) out += "node " + std::to_string(c.node) + " ";
  out += c.field.empty() ? "(value)" : c.field;
  out += ": " + std::to_string(c.pieces) + (c.pieces == 1 ? " piece" : " pieces") + " at " +
         std::to_string(c.offset) + "+" + std::to_string(c.length) + " of " +
         std::to_string(c.value_length) + " bytes";
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
    o["captured"] = ClipValue(c.captured);
    o["before"] = ClipValue(c.before);
    o["after"] = ClipValue(c.after);
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

json::object Counts(const std::map<std::string, uint64_t>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

// Rows of a before / after table over the union of both maps' keys.
std::string CountRows(const std::map<std::string, uint64_t>& b,
                      const std::map<std::string, uint64_t>& a) {
  std::set<std::string> keys;
  for (const auto& [k, v] : b) keys.insert(k);
  for (const auto& [k, v] : a) keys.insert(k);
  std::string out;
  char line[512];
  for (const std::string& k : keys) {
    long long bv = b.count(k) ? static_cast<long long>(b.at(k)) : 0;
    long long av = a.count(k) ? static_cast<long long>(a.at(k)) : 0;
    std::snprintf(line, sizeof line, "  %-40s %10lld %10lld %+10lld\n", k.c_str(), bv, av, av - bv);
    out += line;
  }
  return out.empty() ? "  (none)\n" : out;
}

std::string ChangesText(const std::vector<Change>& v, bool show_values, const char* hider) {
  std::string out;
  for (const Change& c : v) {
    out += "  " + c.where + " " + PositionText(c) + "\n    " + hider + " " + c.rule +
           (c.method.empty() ? "" : " (" + c.method + ")") + "\n";
    if (!show_values) continue;
    auto q = [](const std::string& s) { return json::serialize(json::string(ClipValue(s))); };
    out += "    captured " + q(c.captured) + "\n    before   " + q(c.before) + "\n    after    " +
           q(c.after) + "\n";
  }
  return out;
}

std::string Files(const std::vector<std::string>& f) {
  std::string out;
  for (const std::string& s : f) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

json::object ComparisonJson(const ReportHeader& h, const Comparison& c, bool show_values) {
  json::array attribution;
  for (const AttributionRow& r : c.attribution)
    attribution.push_back(
        {{"rule", r.rule}, {"method", r.method}, {"before", r.before}, {"after", r.after}});
  json::object before{{"policies", Strings(h.baseline_files)},
                      {"sha256", Strings(h.baseline_sha256)},
                      {"as_captured", !c.has_baseline},
                      {"recordings_stored", c.before_recordings},
                      {"events_stored", c.before_stored},
                      {"redactions_by_rule", Counts(c.before_counts.by_rule)},
                      {"redactions_by_method", Counts(c.before_counts.by_method)},
                      {"dropped", Counts(c.before_dropped)},
                      {"rejected", c.before_rejected}};
  json::object after{{"policies", Strings(h.policy_files)},
                     {"sha256", Strings(h.policy_sha256)},
                     {"recordings_stored", c.after_recordings},
                     {"events_stored", c.after_stored},
                     {"redactions_by_rule", Counts(c.after_counts.by_rule)},
                     {"redactions_by_method", Counts(c.after_counts.by_method)},
                     {"dropped", Counts(c.after_dropped)},
                     {"rejected", c.after_rejected}};
  return json::object{{"input", h.input},
                      {"requests", h.requests},
                      {"recordings_in", c.recordings_in},
                      {"events_in", c.events_in},
                      {"before", std::move(before)},
                      {"after", std::move(after)},
                      {"newly_exposed", ChangesJson(c.newly_exposed, show_values)},
                      {"newly_hidden", ChangesJson(c.newly_hidden, show_values)},
                      {"hidden_by", std::move(attribution)},
                      {"values_shown", show_values}};
}

std::string ComparisonText(const ReportHeader& h, const Comparison& c, bool show_values) {
  std::string out =
      "before: " + (c.has_baseline ? Files(h.baseline_files) : std::string("input as captured")) +
      "\nafter:  " + Files(h.policy_files) + "\ninput:  " + h.input + " (" +
      std::to_string(h.requests) + " requests, " + std::to_string(c.recordings_in) +
      " recordings, " + std::to_string(c.events_in) + " events)\n";
  out += "stored: before " + std::to_string(c.before_recordings) + " recordings " +
         std::to_string(c.before_stored) + " events, after " + std::to_string(c.after_recordings) +
         " recordings " + std::to_string(c.after_stored) + " events\n";
  if (c.before_rejected + c.after_rejected > 0)
    out += "rejected requests: before " + std::to_string(c.before_rejected) + ", after " +
           std::to_string(c.after_rejected) + " (scrubd policy test names them)\n";
  out += "\n";
  out += "NEWLY EXPOSED: " + std::to_string(c.newly_exposed.size()) +
         " values the new policy shows and the baseline hid\n" +
         ChangesText(c.newly_exposed, show_values, "was hidden by");
  out += "\nNEWLY HIDDEN: " + std::to_string(c.newly_hidden.size()) +
         " values the new policy hides and the baseline showed\n" +
         ChangesText(c.newly_hidden, show_values, "hidden by");
  char line[512];
  std::snprintf(line, sizeof line, "\n%-42s %10s %10s %10s\n", "REDACTIONS by rule (audit)",
                "before", "after", "delta");
  out += line + CountRows(c.before_counts.by_rule, c.after_counts.by_rule);
  std::snprintf(line, sizeof line, "\n%-42s %10s %10s %10s\n", "REDACTIONS by method", "before",
                "after", "delta");
  out += line + CountRows(c.before_counts.by_method, c.after_counts.by_method);
  std::map<std::string, uint64_t> hb, ha;
  for (const AttributionRow& r : c.attribution) {
    std::string k = r.rule + (r.method.empty() ? "" : " (" + r.method + ")");
    hb[k] += r.before;
    ha[k] += r.after;
  }
  std::snprintf(line, sizeof line, "\n%-42s %10s %10s %10s\n", "VALUES HIDDEN by selector/rule",
                "before", "after", "delta");
  out += line + CountRows(hb, ha);
  std::snprintf(line, sizeof line, "\n%-42s %10s %10s %10s\n", "DROPPED events by reason", "before",
                "after", "delta");
  out += line + CountRows(c.before_dropped, c.after_dropped);
  return out;
}

}  // namespace scrubd::workbench
