// The preview report as HTML (report_html.h). Layout and behaviour of the page: docs/preview.md.
#include "workbench/report_html.h"

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <set>

#include "ui/assets.h"

namespace scrubd::workbench {
namespace json = boost::json;

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string CspHash(std::string_view script) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(script.data(), script.size(), md, &len, EVP_sha256(), nullptr);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return "'sha256-" + std::string(reinterpret_cast<char*>(b64)) + "'";
}

// JSON safe inside a <script type="application/json"> element: '<', '>' and '&' only occur in
// strings, where \u escapes mean the same.
std::string ScriptSafeJson(const json::value& v) {
  std::string s = json::serialize(v), out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

bool ClosesScript(std::string_view js) {
  std::string lower(js);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("</script") != std::string::npos || lower.find("<!--") != std::string::npos;
}

// {sessions: [{label, before: [...], after: [...]}]}, every session either side stored.
json::value StreamsJson(const RunResult& before, const RunResult& after) {
  std::set<std::pair<std::string, std::string>> seen;
  json::array sessions;
  for (const RunResult* side : {&before, &after}) {
    for (const StoredSession& s : side->sessions) {
      if (!seen.insert({s.token, s.session_id}).second) continue;
      const StoredSession* b = before.FindSession(s.token, s.session_id);
      const StoredSession* a = after.FindSession(s.token, s.session_id);
      sessions.push_back(json::object{{"label", s.token + " / " + s.session_id},
                                      {"before", b ? b->events : json::array()},
                                      {"after", a ? a->events : json::array()}});
    }
  }
  return json::object{{"sessions", std::move(sessions)}};
}

std::string Cell(std::string_view text, const char* cls = nullptr) {
  return std::string("<td") + (cls ? std::string(" class=\"") + cls + "\"" : "") + ">" +
         HtmlEscape(text) + "</td>";
}

std::string ChangesTable(const char* id, const std::vector<Change>& v, bool show_values,
                         const char* hider) {
  std::string out = std::string("<table id=\"") + id +
                    "\"><thead><tr><th>#</th><th>where</th><th>node</th><th>field</th>"
                    "<th>position</th><th>" +
                    hider + "</th><th>method</th>";
  if (show_values) out += "<th>captured</th><th>before</th><th>after</th>";
  out += "</tr></thead><tbody>";
  for (size_t i = 0; i < v.size(); ++i) {
    const Change& c = v[i];
    out += "<tr>" + Cell(std::to_string(i + 1), "num") + Cell(c.where) +
           Cell(c.node >= 0 ? std::to_string(c.node) : "", "num") + Cell(c.field, "mono") +
           Cell(SpanText(c), "mono") + Cell(c.rule, "rule") + Cell(c.method);
    if (show_values)  // clipped by Compare
      out += Cell(c.captured, "value") + Cell(c.before, "value") + Cell(c.after, "value");
    out += "</tr>";
  }
  if (v.empty())
    out += "<tr><td colspan=\"" + std::string(show_values ? "10" : "7") + "\">none</td></tr>";
  return out + "</tbody></table>";
}

std::string CountsTable(const char* id, const char* title, const std::vector<CountRow>& rows) {
  std::string out = std::string("<table id=\"") + id + "\"><thead><tr><th>" + title +
                    "</th><th>before</th><th>after</th><th>delta</th></tr></thead><tbody>";
  for (const CountRow& r : rows) {
    long long d = static_cast<long long>(r.after) - static_cast<long long>(r.before);
    out += "<tr>" + Cell(r.key, "mono") + Cell(std::to_string(r.before), "num") +
           Cell(std::to_string(r.after), "num") +
           Cell((d > 0 ? "+" : "") + std::to_string(d), "num") + "</tr>";
  }
  if (rows.empty()) out += "<tr><td colspan=\"4\">none</td></tr>";
  return out + "</tbody></table>";
}

std::string Header(const ReportHeader& h, const Comparison& c) {
  std::string before = c.has_baseline ? "baseline " + FilesText(h.baseline_files, h.baseline_sha256)
                                      : std::string("the input as captured (personal data)");
  return "<header><h1>scrubd policy preview</h1><p class=\"warn\" id=\"pii-warning\">This file "
         "holds recorded session data" +
         std::string(c.has_baseline ? " as the baseline stored it" : ", unscrubbed,") +
         " on its &quot;before&quot; side: treat it as personal data, keep it private and "
         "delete it after review.</p><dl><dt>before</dt><dd>" +
         HtmlEscape(before) + "</dd><dt>after</dt><dd>" +
         HtmlEscape(FilesText(h.policy_files, h.policy_sha256)) + "</dd><dt>input</dt><dd>" +
         HtmlEscape(h.input) + " (" + std::to_string(h.requests) + " requests, " +
         std::to_string(c.recordings_in) + " recordings, " + std::to_string(c.events_in) +
         " events)</dd><dt>stored</dt><dd>before " + std::to_string(c.before.recordings) +
         " recordings, " + std::to_string(c.before.events_stored) + " events; after " +
         std::to_string(c.after.recordings) + " recordings, " +
         std::to_string(c.after.events_stored) + " events; requests rejected: before " +
         std::to_string(c.before.rejected) + ", after " + std::to_string(c.after.rejected) +
         "</dd></dl></header>";
}

std::string Body(const ReportHeader& h, const Comparison& c, bool show_values) {
  const SideSummary &b = c.before, &a = c.after;
  std::string exposed_class = c.newly_exposed.empty() ? "exposed empty" : "exposed";
  return Header(h, c) + "<section id=\"newly-exposed\" class=\"" + exposed_class +
         "\"><h2>Newly exposed: " + std::to_string(c.newly_exposed.size()) +
         "</h2><p>Values the new policy shows and the " +
         (c.has_baseline ? "baseline" : "capture") + " hid. Each one needs sign-off.</p>" +
         ChangesTable("newly-exposed-table", c.newly_exposed, show_values, "hidden before by") +
         "</section><section id=\"newly-hidden\"><h2>Newly hidden: " +
         std::to_string(c.newly_hidden.size()) + "</h2><p>Values the new policy hides and the " +
         (c.has_baseline ? "baseline showed" : "input held") + ".</p>" +
         ChangesTable("newly-hidden-table", c.newly_hidden, show_values, "hidden by") +
         "</section><section id=\"replays\"><h2>Replays</h2><p><label>Recording <select "
         "id=\"session-select\"></select></label> <button id=\"play-both\" type=\"button\">Play "
         "both</button> <button id=\"pause-both\" type=\"button\">Pause both</button> "
         "<span id=\"replay-status\"></span></p><div class=\"pair\"><div><h3>Before: " +
         (c.has_baseline ? std::string("baseline") : std::string("as captured")) +
         "</h3><div id=\"player-before\"></div></div><div><h3>After: new policy</h3><div "
         "id=\"player-after\"></div></div></div></section><section id=\"redactions\">"
         "<h2>Redactions</h2>" +
         CountsTable("hidden-by-table", "values hidden, by selector / rule (method)",
                     HiddenByRows(c)) +
         CountsTable("rules-table", "redactions by rule (audit log)",
                     CountRows(b.counts.by_rule, a.counts.by_rule)) +
         CountsTable("methods-table", "redactions by method",
                     CountRows(b.counts.by_method, a.counts.by_method)) +
         CountsTable("dropped-table", "events dropped, by reason",
                     CountRows(b.dropped, a.dropped)) +
         "</section>";
}

}  // namespace

Result<std::string> PreviewHtml(const ReportHeader& h, const Comparison& c, const RunResult& before,
                                const RunResult& after, bool show_values) {
  const ui::Asset* player = ui::FindAsset("rrweb-player.js");
  const ui::Asset* player_css = ui::FindAsset("rrweb-player.css");
  const ui::Asset* js = ui::FindAsset("preview.js");
  const ui::Asset* css = ui::FindAsset("preview.css");
  if (!player || !player_css || !js || !css)
    return Status::Internal("preview: an embedded asset is missing");
  if (ClosesScript(player->bytes) || ClosesScript(js->bytes))
    return Status::Internal("preview: an embedded script would close its own tag");
  std::string csp = "default-src 'none'; script-src " + CspHash(player->bytes) + " " +
                    CspHash(js->bytes) +
                    "; style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
                    "media-src data: blob:; frame-src 'self'; child-src 'self'; "
                    "object-src 'none'; base-uri 'none'; form-action 'none'";
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"" +
      csp +
      "\"><meta name=\"referrer\" content=\"no-referrer\"><title>scrubd policy "
      "preview</title><style>";
  out.append(player_css->bytes).append("</style><style>").append(css->bytes);
  out += "</style></head><body>" + Body(h, c, show_values);
  out += "<script type=\"application/json\" id=\"scrubd-preview-data\">" +
         ScriptSafeJson(StreamsJson(before, after)) + "</script><script>";
  out.append(player->bytes).append("</script><script>").append(js->bytes);
  out += "</script></body></html>\n";
  return out;
}

}  // namespace scrubd::workbench
