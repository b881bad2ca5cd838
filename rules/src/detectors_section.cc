// ParseDetectorsSection: a policy's `detectors:` YAML section -> ScannerConfig, with
// file:line:col errors (unknown keys, wrong types, unknown ids or methods); `custom:` entries
// are parsed by custom.cc.
#include <yaml-cpp/yaml.h>

#include <set>

#include "catalog.h"
#include "custom.h"
#include "scrubd/common/yaml_check.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::rules {
namespace {

namespace yc = ::scrubd::yamlcheck;

const std::set<std::string>& CatalogIds() {
  static const std::set<std::string> kIds = [] {
    std::set<std::string> ids;
    auto cat = internal::LoadEmbeddedCatalog();
    if (cat.ok())
      for (const auto& d : *cat) ids.insert(d.id);
    return ids;
  }();
  return kIds;
}

Status CheckId(const std::string& file, const YAML::Node& n) {
  if (!CatalogIds().count(n.Scalar())) {
    std::string known;
    for (const auto& id : CatalogIds()) known += (known.empty() ? "" : ", ") + id;
    return yc::Error(file, n, "unknown detector id '" + n.Scalar() + "' (known: " + known + ")");
  }
  return Status::Ok();
}

Status ParseMethodNode(const std::string& file, const YAML::Node& n, Method* m) {
  if (!internal::ParseMethod(n.Scalar(), m))
    return yc::Error(
        file, n,
        "unknown method '" + n.Scalar() + "' (known: mask, replace, remove, hash, truncate_ip)");
  return Status::Ok();
}

Status ParseOverrides(const std::string& file, const YAML::Node& o, ScannerConfig* cfg) {
  if (!o || o.IsNull()) return Status::Ok();
  Status s;
  for (const auto& kv : o) {
    if (!(s = CheckId(file, kv.first)).ok()) return s;
    const std::string id = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    s = yc::CheckKeys(file, v, "detectors.overrides." + id,
                      {{"enabled", yc::Type::kBool, "false turns the detector off"},
                       {"method", yc::Type::kString, "mask|replace|remove|hash|truncate_ip"},
                       {"keep_last", yc::Type::kInt, "mask: keep the last N characters"},
                       {"label", yc::Type::kString, "replace: the label"}});
    if (!s.ok()) return s;
    DetectorOverride ov;
    ov.enabled = yc::GetBool(v, "enabled", true);
    if (v["method"]) {
      if (!(s = ParseMethodNode(file, v["method"], &ov.method)).ok()) return s;
      ov.has_method = true;
      if (ov.method == Method::kTruncateIp && id != "ipv4" && id != "ipv6")
        return yc::Error(file, v["method"], "truncate_ip applies only to ipv4 and ipv6");
    }
    if (v["keep_last"]) {
      int64_t k = yc::GetInt(v, "keep_last", -1);
      if (k < 0 || k > 64) return yc::Error(file, v["keep_last"], "keep_last must be 0..64");
      ov.keep_last = static_cast<int>(k);
    }
    ov.label = yc::GetString(v, "label", "");
    cfg->overrides[id] = ov;
  }
  return Status::Ok();
}

Status ParseImpl(const std::string& file, const YAML::Node& node, ScannerConfig* cfg) {
  if (!node || node.IsNull()) return Status::Ok();
  Status s = yc::CheckKeys(
      file, node, "detectors",
      {{"disabled", yc::Type::kStringList, "detector ids turned off"},
       {"overrides", yc::Type::kMap, "per detector: {enabled, method, keep_last, label}"},
       {"sensitive_keys", yc::Type::kStringList, "keys whose values are always redacted"},
       {"key_redaction", yc::Type::kMap, "{method, label} for values under sensitive keys"},
       {"max_mem_mb", yc::Type::kInt, "RE2::Set / RE2 memory budget in MiB (default 64)"},
       {"shape_pass", yc::Type::kBool,
        "false sends every candidate string through the RE2::Set (same output, slower)"},
       {"custom", yc::Type::kSeq,
        "the policy's own detectors: {id, description, patterns, validator, context, method, "
        "must_match, must_not_match, ...} (docs/detectors.md)"}});
  if (!s.ok()) return s;
  if (const YAML::Node d = node["disabled"]; d && !d.IsNull()) {
    for (const auto& id : d) {
      if (!(s = CheckId(file, id)).ok()) return s;
      cfg->disabled.push_back(id.Scalar());
    }
  }
  if (!(s = ParseOverrides(file, node["overrides"], cfg)).ok()) return s;
  if (const YAML::Node k = node["sensitive_keys"]; k && !k.IsNull())
    for (const auto& e : k) {
      if (e.Scalar().empty()) return yc::Error(file, e, "sensitive key must not be empty");
      cfg->extra_sensitive_keys.push_back(e.Scalar());
    }
  if (const YAML::Node kr = node["key_redaction"]; kr && !kr.IsNull()) {
    s = yc::CheckKeys(file, kr, "detectors.key_redaction",
                      {{"method", yc::Type::kString, "mask|replace|remove|hash"},
                       {"label", yc::Type::kString, "replace: the label"}});
    if (!s.ok()) return s;
    if (kr["method"]) {
      if (!(s = ParseMethodNode(file, kr["method"], &cfg->key_method)).ok()) return s;
      if (cfg->key_method == Method::kTruncateIp)
        return yc::Error(file, kr["method"], "truncate_ip is not a key redaction");
    }
    cfg->key_label = yc::GetString(kr, "label", cfg->key_label);
  }
  if (node["max_mem_mb"]) {
    int64_t mb = yc::GetInt(node, "max_mem_mb", 64);
    if (mb < 1 || mb > 1024)
      return yc::Error(file, node["max_mem_mb"], "max_mem_mb must be 1..1024");
    cfg->max_mem_bytes = mb << 20;
  }
  cfg->shape_pass = yc::GetBool(node, "shape_pass", true);
  // After max_mem_mb: each custom pattern is compiled with the section's budget.
  return internal::ParseCustomSection(file, node["custom"], cfg->max_mem_bytes, CatalogIds(),
                                      &cfg->custom);
}

}  // namespace

Result<ScannerConfig> ParseDetectorsSection(const std::string& file, const YAML::Node& node) {
  ScannerConfig cfg;
  try {
    Status s = ParseImpl(file, node, &cfg);
    if (!s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return Status::InvalidConfig(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return cfg;
}

}  // namespace scrubd::rules
