// The `retention:` policy section: the default days and the ordered rules that set a session's
// days by page URL, project token, event name or property (docs/retention.md). yaml-cpp is
// only read by value here; loader.cc catches anything it throws.
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "scrubd/common/yaml_check.h"
#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

using yamlcheck::Error;
using yamlcheck::Type;

constexpr int64_t kMinDays = 1, kMaxDays = 3650;

std::shared_ptr<const RE2> CompileRe(const std::string& pattern, bool case_sensitive) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  o.set_case_sensitive(case_sensitive);
  return std::make_shared<const RE2>(pattern, o);
}

// A string or a list of strings, for `match.token` / `match.event`.
Status StringOrList(const std::string& file, const YAML::Node& n, const std::string& what,
                    std::vector<std::string>* out) {
  if (n.IsScalar()) {
    out->push_back(n.Scalar());
  } else if (yamlcheck::IsType(n, Type::kStringList) && n.size() > 0) {
    for (const auto& e : n) out->push_back(e.Scalar());
  } else {
    return Error(file, n, what + " must be a string or a non-empty list of strings");
  }
  for (const std::string& s : *out)
    if (s.empty()) return Error(file, n, what + " entries must not be empty");
  return Status::Ok();
}

Status ParseProperty(const std::string& file, const YAML::Node& n, const std::string& what,
                     bool person, RetentionRule* rule) {
  Status s = yamlcheck::CheckKeys(
      file, n, what,
      {{"name", Type::kString, "the property key"},
       {"value", Type::kString, "RE2 over the value as text; absent: the key is present"}});
  if (!s.ok()) return s;
  RetentionRule::Property p;
  p.person = person;
  p.name = yamlcheck::GetString(n, "name", "");
  if (p.name.empty()) return Error(file, n, what + ": missing required key 'name'");
  if (YAML::Node v = n["value"]) {
    p.value = CompileRe(v.Scalar(), true);
    if (!p.value->ok())
      return Error(file, v, what + ".value: bad RE2 pattern: " + p.value->error());
  }
  rule->properties.push_back(std::move(p));
  return Status::Ok();
}

Status ParseMatch(const std::string& file, const YAML::Node& m, const std::string& where,
                  RetentionRule* rule) {
  Status s = yamlcheck::CheckKeys(
      file, m, where + ".match",
      {{"url", Type::kString, "RE2 over a page URL the session visited"},
       {"token", Type::kAny, "project token(s)"},
       {"event", Type::kAny, "event name(s) seen in the session"},
       {"property", Type::kMap, "an event property: {name, value}"},
       {"person_property", Type::kMap, "a $set / $set_once property: {name, value}"}});
  if (!s.ok()) return s;
  if (m.size() == 0) return Error(file, m, where + ".match must give at least one condition");
  if (YAML::Node u = m["url"]) {
    rule->url_pattern = u.Scalar();
    rule->url = CompileRe(rule->url_pattern, false);  // URLs are matched case-insensitively
    if (!rule->url->ok())
      return Error(file, u, where + ".match.url: bad RE2 pattern: " + rule->url->error());
  }
  if (YAML::Node t = m["token"];
      t && !(s = StringOrList(file, t, where + ".match.token", &rule->tokens)).ok())
    return s;
  if (YAML::Node e = m["event"];
      e && !(s = StringOrList(file, e, where + ".match.event", &rule->events)).ok())
    return s;
  if (YAML::Node p = m["property"]) {
    if (s = ParseProperty(file, p, where + ".match.property", false, rule); !s.ok()) return s;
  }
  if (YAML::Node p = m["person_property"]) {
    if (s = ParseProperty(file, p, where + ".match.person_property", true, rule); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ParseRule(const std::string& file, const YAML::Node& n, size_t index, RetentionRule* rule) {
  const std::string where = "retention.rules[" + std::to_string(index) + "]";
  Status s = yamlcheck::CheckKeys(file, n, where,
                                  {{"name", Type::kString, "what purge reports for this rule"},
                                   {"match", Type::kMap, "the conditions, all of which must hold"},
                                   {"days", Type::kInt, "days a matching session is kept"}});
  if (!s.ok()) return s;
  rule->name = yamlcheck::GetString(n, "name", "rules[" + std::to_string(index) + "]");
  if (!n["match"]) return Error(file, n, where + ": missing required key 'match'");
  if (!n["days"]) return Error(file, n, where + ": missing required key 'days'");
  rule->days = yamlcheck::GetInt(n, "days", 0);
  if (rule->days < kMinDays || rule->days > kMaxDays)
    return Error(file, n["days"], where + ".days must be within 1..3650");
  return ParseMatch(file, n["match"], where, rule);
}

}  // namespace

int64_t RetentionPolicy::MinDays() const {
  int64_t min = days;
  for (const RetentionRule& r : rules) min = std::min(min, r.days);
  return min;
}

Status ParseRetentionSection(const std::string& file, const YAML::Node& n, RetentionPolicy* out) {
  if (!n || n.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "retention",
      {{"days", Type::kInt, "days a session is kept when no rule matches"},
       {"rules", Type::kSeq, "ordered rules: the first that matches sets the days"}});
  if (!s.ok()) return s;
  out->days = yamlcheck::GetInt(n, "days", out->days);
  if (out->days < kMinDays || out->days > kMaxDays)
    return Error(file, n["days"], "retention.days must be within 1..3650");
  if (YAML::Node rules = n["rules"]) {
    size_t i = 0;
    for (const auto& r : rules) {
      if (!r.IsMap())
        return Error(file, r, "retention.rules[" + std::to_string(i) + "] must be a mapping");
      RetentionRule rule;
      if (s = ParseRule(file, r, i++, &rule); !s.ok()) return s;
      for (const RetentionRule& other : out->rules)
        if (other.name == rule.name)
          return Error(file, r["name"] ? r["name"] : r,
                       "retention.rules: duplicate rule name '" + rule.name + "'");
      out->rules.push_back(std::move(rule));
    }
  }
  return Status::Ok();
}

}  // namespace scrubd::policies
