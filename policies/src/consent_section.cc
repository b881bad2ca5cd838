// The `consent:` policy section: the mode, the evidence sources that count and their settings,
// the opt-in wait and what a withdrawal does (docs/consent.md). yaml-cpp is only read by value
// here; loader.cc catches anything it throws.
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "scrubd/common/yaml_check.h"
#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

using yamlcheck::Error;
using yamlcheck::Type;

constexpr int64_t kMaxWaitSeconds = 3600;

struct SignalName {
  const char* name;
  ConsentSignal signal;
};
constexpr SignalName kSignals[] = {
    {"posthog", ConsentSignal::kPosthog},
    {"event", ConsentSignal::kEvent},
    {"tcf", ConsentSignal::kTcf},
    {"onetrust", ConsentSignal::kOneTrust},
    {"cookiebot", ConsentSignal::kCookiebot},
    {"cookie", ConsentSignal::kCookie},
    {"gpc", ConsentSignal::kGpc},
    {"dnt", ConsentSignal::kDnt},
};

std::shared_ptr<const RE2> CompileRe(const std::string& pattern) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return std::make_shared<const RE2>(pattern, o);
}

Status ParseMode(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  const std::string m = n.Scalar();
  if (m == "none")
    out->mode = ConsentMode::kNone;
  else if (m == "opt_out")
    out->mode = ConsentMode::kOptOut;
  else if (m == "opt_in")
    out->mode = ConsentMode::kOptIn;
  else
    return Error(file, n, "consent.mode must be none, opt_in or opt_out");
  return Status::Ok();
}

// The first consent section's keys: respect_opt_out / require_opt_in name a mode; tcf_purposes
// moved (its old meaning, "drop without a TC string", is mode opt_in with signal tcf).
Status ParseLegacy(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (YAML::Node t = n["tcf_purposes"])
    return Error(file, t,
                 "consent.tcf_purposes was replaced: write consent.tcf.purposes (and consent.mode: "
                 "opt_in to require a TC string), see docs/consent.md");
  YAML::Node opt_out = n["respect_opt_out"], opt_in = n["require_opt_in"];
  if (!opt_out && !opt_in) return Status::Ok();
  if (YAML::Node m = n["mode"])
    return Error(file, opt_in ? opt_in : opt_out,
                 "consent.respect_opt_out and consent.require_opt_in are the old spelling of "
                 "consent.mode: give only consent.mode");
  if (yamlcheck::GetBool(n, "require_opt_in", false))
    out->mode = ConsentMode::kOptIn;
  else if (!yamlcheck::GetBool(n, "respect_opt_out", true))
    out->mode = ConsentMode::kNone;
  else
    out->mode = ConsentMode::kOptOut;
  return Status::Ok();
}

Status ParseSignals(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  YAML::Node list = n["signals"];
  if (!list) {
    out->signals = {ConsentSignal::kPosthog, ConsentSignal::kTcf, ConsentSignal::kOneTrust,
                    ConsentSignal::kCookiebot};
    if (yamlcheck::GetBool(n, "respect_gpc", true)) out->signals.push_back(ConsentSignal::kGpc);
    if (yamlcheck::GetBool(n, "respect_do_not_track", false))
      out->signals.push_back(ConsentSignal::kDnt);
    if (n["event"]) out->signals.push_back(ConsentSignal::kEvent);
    if (n["cookie"]) out->signals.push_back(ConsentSignal::kCookie);
    return Status::Ok();
  }
  for (const char* k : {"respect_gpc", "respect_do_not_track"})
    if (YAML::Node b = n[k])
      return Error(file, b,
                   std::string("consent.") + k +
                       " cannot be combined with consent.signals: list gpc / dnt there instead");
  for (const auto& e : list) {
    const auto* it = std::find_if(std::begin(kSignals), std::end(kSignals),
                                  [&](const SignalName& s) { return e.Scalar() == s.name; });
    if (it == std::end(kSignals))
      return Error(file, e,
                   "consent.signals entries are posthog, event, tcf, onetrust, cookiebot, cookie, "
                   "gpc or dnt");
    if (out->Uses(it->signal))
      return Error(file, e, "consent.signals lists '" + e.Scalar() + "' twice");
    out->signals.push_back(it->signal);
  }
  if (out->Uses(ConsentSignal::kEvent) && !n["event"])
    return Error(file, list, "consent.signals lists event: give consent.event {name, property}");
  if (out->Uses(ConsentSignal::kCookie) && !n["cookie"])
    return Error(file, list, "consent.signals lists cookie: give consent.cookie {name, granted}");
  return Status::Ok();
}

Status ParseEvent(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (!n) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "consent.event",
      {{"name", Type::kString, "the consent event's name (absent: any event)"},
       {"property", Type::kString, "the property whose boolean grants or denies"}});
  if (!s.ok()) return s;
  out->event_name = yamlcheck::GetString(n, "name", "");
  out->event_property = yamlcheck::GetString(n, "property", "");
  if (out->event_property.empty())
    return Error(file, n, "consent.event: missing required key 'property'");
  return Status::Ok();
}

Status ParsePurposes(const std::string& file, const YAML::Node& p, ConsentPolicy* out) {
  if (!p) return Status::Ok();
  out->tcf_purposes.clear();
  for (const auto& e : p) {
    int64_t id = 0;
    if (!e.IsScalar() || !YAML::convert<int64_t>::decode(e, id) || id < 1 || id > 24)
      return Error(file, e, "consent.tcf.purposes entries must be integers 1..24");
    out->tcf_purposes.push_back(static_cast<int>(id));
  }
  return Status::Ok();
}

Status ParseTcf(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (!n) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "consent.tcf",
      {{"purposes", Type::kSeq, "TCF purposes (1..24) that must all be consented"},
       {"vendor_id", Type::kInt, "a vendor (1..65535) whose consent is required too"},
       {"publisher", Type::kBool, "read the publisher TC segment's purposes instead"}});
  if (!s.ok()) return s;
  if (s = ParsePurposes(file, n["purposes"], out); !s.ok()) return s;
  if (YAML::Node v = n["vendor_id"]) {
    int64_t id = yamlcheck::GetInt(n, "vendor_id", 0);
    if (id < 1 || id > 65535) return Error(file, v, "consent.tcf.vendor_id must be 1..65535");
    out->tcf_vendor_id = static_cast<int>(id);
  }
  out->tcf_publisher = yamlcheck::GetBool(n, "publisher", false);
  return Status::Ok();
}

// `onetrust: {groups: [...]}` / `cookiebot: {categories: [...]}`: a non-empty list.
Status ParseNames(const std::string& file, const YAML::Node& n, const char* section,
                  const char* key, const char* what, std::vector<std::string>* out) {
  if (!n) return Status::Ok();
  Status s = yamlcheck::CheckKeys(file, n, std::string("consent.") + section,
                                  {{key, Type::kStringList, what}});
  if (!s.ok()) return s;
  YAML::Node list = n[key];
  if (!list || list.size() == 0)
    return Error(file, n, std::string("consent.") + section + "." + key + " must not be empty");
  out->clear();
  for (const auto& e : list) {
    if (e.Scalar().empty())
      return Error(file, e, std::string("consent.") + section + "." + key + " entries are empty");
    out->push_back(e.Scalar());
  }
  return Status::Ok();
}

Status ParseCookiebot(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  Status s = ParseNames(file, n, "cookiebot", "categories",
                        "CookieConsent flags that must be true (preferences, statistics, "
                        "marketing)",
                        &out->cookiebot_categories);
  if (!s.ok() || !n) return s;
  for (const auto& e : n["categories"]) {
    const std::string& c = e.Scalar();
    if (c != "necessary" && c != "preferences" && c != "statistics" && c != "marketing")
      return Error(file, e,
                   "consent.cookiebot.categories entries are necessary, preferences, statistics "
                   "or marketing");
  }
  return Status::Ok();
}

Status ParseCookie(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (!n) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "consent.cookie",
      {{"name", Type::kString, "the cookie's name"},
       {"granted", Type::kString, "RE2 over the decoded value that means granted"},
       {"denied", Type::kString, "RE2 over the decoded value that means denied"}});
  if (!s.ok()) return s;
  out->cookie_name = yamlcheck::GetString(n, "name", "");
  if (out->cookie_name.empty())
    return Error(file, n, "consent.cookie: missing required key 'name'");
  if (!n["granted"]) return Error(file, n, "consent.cookie: missing required key 'granted'");
  for (const char* k : {"granted", "denied"}) {
    YAML::Node v = n[k];
    if (!v) continue;
    auto re = CompileRe(v.Scalar());
    if (!re->ok())
      return Error(file, v,
                   std::string("consent.cookie.") + k + ": bad RE2 pattern: " + re->error());
    (std::string(k) == "granted" ? out->cookie_granted : out->cookie_denied) = std::move(re);
  }
  return Status::Ok();
}

Status ParseTail(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (YAML::Node w = n["wait_seconds"]) {
    int64_t secs = yamlcheck::GetInt(n, "wait_seconds", -1);
    if (secs < 0 || secs > kMaxWaitSeconds)
      return Error(file, w, "consent.wait_seconds must be 0..3600");
    out->wait_seconds = secs;
  }
  if (YAML::Node w = n["on_withdrawal"]) {
    if (w.Scalar() == "stop")
      out->on_withdrawal = ConsentWithdrawal::kStop;
    else if (w.Scalar() == "erase")
      out->on_withdrawal = ConsentWithdrawal::kErase;
    else
      return Error(file, w, "consent.on_withdrawal must be stop or erase");
  }
  return Status::Ok();
}

}  // namespace

const char* ConsentSignalName(ConsentSignal s) {
  for (const SignalName& n : kSignals)
    if (n.signal == s) return n.name;
  return "?";
}

bool ConsentPolicy::Uses(ConsentSignal s) const {
  return std::find(signals.begin(), signals.end(), s) != signals.end();
}

Status ParseConsentSection(const std::string& file, const YAML::Node& n, ConsentPolicy* out) {
  if (!n || n.IsNull()) return ParseSignals(file, YAML::Node(YAML::NodeType::Map), out);
  Status s = yamlcheck::CheckKeys(
      file, n, "consent",
      {{"mode", Type::kString, "none | opt_in | opt_out"},
       {"signals", Type::kStringList, "the evidence sources that count"},
       {"respect_gpc", Type::kBool, "Sec-GPC: 1 denies (default true)"},
       {"respect_do_not_track", Type::kBool, "DNT: 1 denies (default false)"},
       {"respect_opt_out", Type::kBool, "old spelling: consent.mode opt_out / none"},
       {"require_opt_in", Type::kBool, "old spelling: consent.mode: opt_in"},
       {"tcf_purposes", Type::kAny, "replaced by consent.tcf.purposes"},
       {"event", Type::kMap, "a site's consent event or property"},
       {"tcf", Type::kMap, "the TCF euconsent-v2 cookie"},
       {"onetrust", Type::kMap, "the OneTrust OptanonConsent cookie"},
       {"cookiebot", Type::kMap, "the Cookiebot CookieConsent cookie"},
       {"cookie", Type::kMap, "a configured consent cookie"},
       {"wait_seconds", Type::kInt, "opt_in: how long batches wait for consent (default 60)"},
       {"on_withdrawal", Type::kString, "stop | erase"}});
  if (!s.ok()) return s;
  if (YAML::Node m = n["mode"]; m && (s = ParseMode(file, m, out), !s.ok())) return s;
  if (s = ParseLegacy(file, n, out); !s.ok()) return s;
  if (s = ParseSignals(file, n, out); !s.ok()) return s;
  if (s = ParseEvent(file, n["event"], out); !s.ok()) return s;
  if (s = ParseTcf(file, n["tcf"], out); !s.ok()) return s;
  if (s = ParseNames(file, n["onetrust"], "onetrust", "groups",
                     "OptanonConsent group ids that must be granted (:1)", &out->onetrust_groups);
      !s.ok())
    return s;
  if (s = ParseCookiebot(file, n["cookiebot"], out); !s.ok()) return s;
  if (s = ParseCookie(file, n["cookie"], out); !s.ok()) return s;
  return ParseTail(file, n, out);
}

}  // namespace scrubd::policies
