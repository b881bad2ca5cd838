// The `identifiers`, `person_properties` and `client_ip` policy keys: what scrubd does with the
// values that identify a person (docs/identifiers.md). yaml-cpp is only read by value here;
// loader.cc catches anything it throws.
#include <yaml-cpp/yaml.h>

#include "scrubd/common/yaml_check.h"
#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

using yamlcheck::Error;
using yamlcheck::Type;

const std::vector<std::string>& DefaultKeep() {
  // posthog-js's automatic properties; the $initial_* keys exactly as its get_initial_props
  // builds them (referrer / person info, campaign params), never a glob.
  static const std::vector<std::string> keep = {"plan",
                                                "$browser",
                                                "$browser_version",
                                                "$os",
                                                "$os_version",
                                                "$device_type",
                                                "$current_url",
                                                "$pathname",
                                                "$host",
                                                "$referrer",
                                                "$referring_domain",
                                                "$lib",
                                                "$lib_version",
                                                "$geoip_disable",
                                                "utm_source",
                                                "utm_medium",
                                                "utm_campaign",
                                                "utm_content",
                                                "utm_term",
                                                "$initial_referrer",
                                                "$initial_referring_domain",
                                                "$initial_current_url",
                                                "$initial_host",
                                                "$initial_pathname",
                                                "$initial_search_engine",
                                                "$initial_utm_source",
                                                "$initial_utm_medium",
                                                "$initial_utm_campaign",
                                                "$initial_utm_content",
                                                "$initial_utm_term",
                                                "$initial_gad_source",
                                                "$initial_mc_cid",
                                                "$initial_gclid",
                                                "$initial_gclsrc",
                                                "$initial_dclid",
                                                "$initial_gbraid",
                                                "$initial_wbraid",
                                                "$initial_fbclid",
                                                "$initial_msclkid",
                                                "$initial_twclid",
                                                "$initial_li_fat_id",
                                                "$initial_igshid",
                                                "$initial_ttclid",
                                                "$initial_rdt_cid",
                                                "$initial_epik",
                                                "$initial_qclid",
                                                "$initial_sccid",
                                                "$initial_oppref",
                                                "$initial_bfcid",
                                                "$initial_irclid",
                                                "$initial__kx"};
  return keep;
}

Status ParseIdentifiers(const std::string& file, const YAML::Node& n, IdentifierMode* out) {
  if (!n || n.IsNull()) return Status::Ok();
  const std::string v = n.Scalar();
  if (v == "pseudonymize")
    *out = IdentifierMode::kPseudonymize;
  else if (v == "keep")
    *out = IdentifierMode::kKeep;
  else if (v == "redact")
    *out = IdentifierMode::kRedact;
  else
    return Error(file, n, "identifiers must be pseudonymize, keep or redact, not '" + v + "'");
  return Status::Ok();
}

Status ParseClientIp(const std::string& file, const YAML::Node& n, ClientIpMode* out) {
  if (!n || n.IsNull()) return Status::Ok();
  const std::string v = n.Scalar();
  if (v == "drop")
    *out = ClientIpMode::kDrop;
  else if (v == "truncate")
    *out = ClientIpMode::kTruncate;
  else if (v == "pass")
    *out = ClientIpMode::kPass;
  else
    return Error(file, n, "client_ip must be drop, truncate or pass, not '" + v + "'");
  return Status::Ok();
}

Status ParsePersonProperties(const std::string& file, const YAML::Node& n,
                             PersonPropertiesPolicy* out) {
  out->keep = DefaultKeep();
  if (!n || n.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "person_properties",
      {{"keep", Type::kStringList, "$set / $set_once keys kept as sent ('prefix*' allowed)"},
       {"method", Type::kString, "redact | pseudonymize every other key"}});
  if (!s.ok()) return s;
  if (YAML::Node keep = n["keep"]; keep && !keep.IsNull()) {
    out->keep.clear();
    for (const auto& e : keep) {
      const std::string k = e.Scalar();
      if (k.empty() || k == "*" || k.find('*') < k.size() - 1)
        return Error(file, e,
                     "person_properties.keep entries are keys or 'prefix*', not '" + k + "'");
      out->keep.push_back(k);
    }
  }
  if (YAML::Node m = n["method"]; m && !m.IsNull()) {
    const std::string v = m.Scalar();
    if (v == "redact")
      out->method = PersonPropertyMethod::kRedact;
    else if (v == "pseudonymize")
      out->method = PersonPropertyMethod::kPseudonymize;
    else
      return Error(file, m, "person_properties.method must be redact or pseudonymize");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string> kDefaultPersonPropertyKeep = DefaultKeep();

bool PersonPropertiesPolicy::Keeps(std::string_view key) const {
  for (const std::string& k : keep) {
    if (!k.empty() && k.back() == '*') {
      if (key.starts_with(std::string_view(k).substr(0, k.size() - 1))) return true;
    } else if (key == k) {
      return true;
    }
  }
  return false;
}

Status ParseIdentitySection(const std::string& file, const YAML::Node& root,
                            const LoadOptions& opts, IdentityPolicy* out) {
  if (Status s = ParseIdentifiers(file, root["identifiers"], &out->identifiers); !s.ok()) return s;
  if (Status s = ParsePersonProperties(file, root["person_properties"], &out->person_properties);
      !s.ok())
    return s;
  if (Status s = ParseClientIp(file, root["client_ip"], &out->client_ip); !s.ok()) return s;
  out->master_key = !opts.identity_key.empty() ? opts.identity_key : opts.hmac_key;
  return Status::Ok();
}

}  // namespace scrubd::policies
