// Policy loader: YAML -> validated, compiled Policy. Every yaml-cpp exception is caught here
// and turned into a Status carrying file:line:col.
#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <sstream>

#include "scrubd/common/yaml_check.h"
#include "scrubd/policies/policy.h"

namespace scrubd::policies {
namespace {

using yamlcheck::Error;
using yamlcheck::Key;
using yamlcheck::Type;

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  if (h == 0) h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Status ParseBlocking(const std::string& file, const YAML::Node& n, BlockingPolicy* out) {
  if (!n || n.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "blocking",
      {{"events", Type::kStringList, "event names that are never stored"},
       {"urls", Type::kStringList, "RE2 patterns over the page a window shows"},
       {"unknown_url", Type::kString, "window whose page is unknown: drop | allow"}});
  if (!s.ok()) return s;
  out->events = yamlcheck::GetStringList(n, "events");
  std::string unknown = yamlcheck::GetString(n, "unknown_url", "drop");
  if (unknown != "drop" && unknown != "allow")
    return Error(file, n["unknown_url"], "blocking.unknown_url must be 'drop' or 'allow'");
  out->unknown_url_drop = unknown == "drop";
  if (YAML::Node urls = n["urls"]; urls && urls.IsSequence()) {
    for (const auto& e : urls) {
      RE2::Options o;
      o.set_log_errors(false);
      o.set_max_mem(8 << 20);
      o.set_case_sensitive(false);  // matched against the lower-cased canonical URL too
      auto re = std::make_shared<const RE2>(e.Scalar(), o);
      if (!re->ok()) return Error(file, e, "blocking.urls: bad RE2 pattern: " + re->error());
      out->urls.push_back(std::move(re));
      out->url_patterns.push_back(e.Scalar());
      // "ci:": verdicts made before patterns were case-insensitive over the canonical URL
      // are not reused (a window is unknown until its next navigation).
      out->urls_fingerprint = Fnv1a("ci:" + e.Scalar() + '\n', out->urls_fingerprint);
    }
  }
  return Status::Ok();
}

Status ParseSampling(const std::string& file, const YAML::Node& n, SamplingPolicy* out) {
  if (!n || n.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "sampling",
      {{"session_rate", Type::kDouble, "fraction of sessions recorded, 0..1"},
       {"applies_to", Type::kString, "what sampling thins: recordings | all"}});
  if (!s.ok()) return s;
  std::string applies = yamlcheck::GetString(n, "applies_to", "recordings");
  if (applies != "recordings" && applies != "all")
    return Error(file, n["applies_to"], "sampling.applies_to must be 'recordings' or 'all'");
  out->recordings_only = applies == "recordings";
  out->session_rate = yamlcheck::GetDouble(n, "session_rate", 1.0);
  if (out->session_rate < 0 || out->session_rate > 1)
    return Error(file, n["session_rate"], "sampling.session_rate must be within 0..1");
  return Status::Ok();
}

Status ParseErasure(const std::string& file, const YAML::Node& n, ErasurePolicy* out) {
  if (!n || n.IsNull()) return Status::Ok();
  Status s = yamlcheck::CheckKeys(
      file, n, "erasure",
      {{"suppress_days", Type::kInt, "days an erased subject's later data is dropped"}});
  if (!s.ok()) return s;
  out->suppress_days = yamlcheck::GetInt(n, "suppress_days", out->suppress_days);
  if (out->suppress_days < 1 || out->suppress_days > 3650)
    return Error(file, n["suppress_days"], "erasure.suppress_days must be within 1..3650");
  return Status::Ok();
}

Result<std::shared_ptr<const Policy>> Compile(const std::string& file, const YAML::Node& root,
                                              std::string_view text, const LoadOptions& opts) {
  Status s = yamlcheck::CheckKeys(
      file, root, "policy",
      {{"version", Type::kInt, "policy format version (1)"},
       {"name", Type::kString, "human name, shown in the audit log"},
       {"description", Type::kString, "free text"},
       {"applies_to", Type::kStringList, "project tokens, or \"*\""},
       {"masking", Type::kMap, "DOM masking"},
       {"detectors", Type::kMap, "PII detectors"},
       {"blocking", Type::kMap, "blocked events and pages"},
       {"consent", Type::kMap, "consent enforcement"},
       {"sampling", Type::kMap, "session sampling"},
       {"retention", Type::kMap, "retention period"},
       {"erasure", Type::kMap, "subject erasure: tombstone period"},
       {"identifiers", Type::kString, "pseudonymize | keep | redact the distinct ids"},
       {"person_properties", Type::kMap, "$set / $set_once allowlist and method"},
       {"client_ip", Type::kString, "drop | truncate | pass the client address"}});
  if (!s.ok()) return s;
  auto p = std::make_shared<Policy>();
  p->file = file;
  p->sha256 = Sha256Hex(text);
  if (!root["version"]) return Error(file, root, "policy: missing required key 'version'");
  p->version = static_cast<int>(yamlcheck::GetInt(root, "version", 0));
  if (p->version != 1)
    return Error(file, root["version"],
                 "policy.version " + std::to_string(p->version) + " is not supported (1)");
  p->name = yamlcheck::GetString(root, "name", file);
  p->applies_to = yamlcheck::GetStringList(root, "applies_to", {"*"});
  if (p->applies_to.empty())
    return Error(file, root["applies_to"], "policy.applies_to must name at least one token");

  Result<MaskingPolicy> masking = ParseMaskingSection(file, root["masking"]);
  if (!masking.ok()) return masking.status();
  p->masking = std::move(masking).value();

  Result<rules::ScannerConfig> det = rules::ParseDetectorsSection(file, root["detectors"]);
  if (!det.ok()) return det.status();
  rules::ScannerConfig cfg = std::move(det).value();
  cfg.hmac_key = opts.hmac_key;
  Result<std::shared_ptr<const rules::Scanner>> scanner = rules::Scanner::Create(cfg);
  if (!scanner.ok())
    return Status::InvalidConfig(yamlcheck::Where(file, root["detectors"]) +
                                 ": detectors: " + scanner.status().message());
  p->scanner = std::move(scanner).value();
  // Custom detectors' examples run against the very scanner serve uses: a miss refuses the
  // policy (serve, reload and `policy check` alike), at the example's file:line:col.
  if (s = rules::CheckCustomExamples(*p->scanner, cfg); !s.ok()) return s;
  p->masking.sensitive_key = [scanner = p->scanner](std::string_view key) {
    return scanner->IsSensitiveKey(key);
  };

  if (s = ParseConsentSection(file, root["consent"], &p->consent); !s.ok()) return s;
  if (s = ParseBlocking(file, root["blocking"], &p->blocking); !s.ok()) return s;
  if (s = ParseSampling(file, root["sampling"], &p->sampling); !s.ok()) return s;
  if (s = ParseRetentionSection(file, root["retention"], &p->retention); !s.ok()) return s;
  if (s = ParseErasure(file, root["erasure"], &p->erasure); !s.ok()) return s;
  if (s = ParseIdentitySection(file, root, opts, &p->identity); !s.ok()) return s;
  return std::shared_ptr<const Policy>(std::move(p));
}

}  // namespace

bool Policy::AppliesTo(std::string_view token) const {
  for (const auto& t : applies_to)
    if (t == "*" || t == token) return true;
  return false;
}

const Policy* PolicySet::ForToken(std::string_view token) const {
  const Policy* wildcard = nullptr;
  for (const auto& p : policies_) {
    for (const auto& t : p->applies_to) {
      if (t == token) return p.get();
      if (t == "*" && !wildcard) wildcard = p.get();
    }
  }
  return wildcard;
}

Result<std::shared_ptr<const Policy>> ParsePolicy(const std::string& file, std::string_view text,
                                                  const LoadOptions& opts) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where = file;
    if (e.mark.line >= 0)
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status::InvalidConfig(where + ": YAML syntax: " + e.msg);
  }
  try {
    if (!root || root.IsNull()) return Status::InvalidConfig(file + ": empty policy document");
    return Compile(file, root, text, opts);
  } catch (const YAML::Exception& e) {
    // Defensive: section parsers convert by value, but yaml-cpp may still throw on odd input.
    return Status::InvalidConfig(file + ": " + e.what());
  }
}

Result<std::shared_ptr<const PolicySet>> LoadPolicySet(const std::vector<std::string>& files,
                                                       const LoadOptions& opts) {
  std::vector<std::shared_ptr<const Policy>> out;
  if (files.empty()) {
    auto p = ParsePolicy("<embedded>/default.yaml", EmbeddedDefaultPolicy(), opts);
    if (!p.ok()) return p.status();
    out.push_back(std::move(p).value());
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::InvalidConfig(f + ": cannot open policy file");
    std::stringstream ss;
    ss << in.rdbuf();
    auto p = ParsePolicy(f, ss.str(), opts);
    if (!p.ok()) return p.status();
    out.push_back(std::move(p).value());
  }
  // Two policies claiming the same token would make the outcome depend on file order.
  std::map<std::string, std::string> claimed;
  for (const auto& p : out)
    for (const auto& t : p->applies_to)
      if (auto [it, fresh] = claimed.emplace(t, p->file); !fresh)
        return Status::InvalidConfig(p->file + ": applies_to token '" + t +
                                     "' is already claimed by " + it->second);
  return std::make_shared<const PolicySet>(std::move(out));
}

}  // namespace scrubd::policies
