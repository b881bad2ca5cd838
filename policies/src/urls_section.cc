// The `masking.urls:` parser. Every error names file:line:col of the offending node.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "scrubd/common/yaml_check.h"
#include "scrubd/policies/url_policy.h"

namespace scrubd::policies {
namespace {

namespace yc = scrubd::yamlcheck;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ValidPlaceholderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

Result<PathTemplate> ParseTemplate(const std::string& file, const YAML::Node& e) {
  const std::string& text = e.Scalar();
  if (text.empty() || text[0] != '/')
    return yc::Error(file, e, "masking.urls.path_templates entries must start with '/'");
  if (text.find_first_of("?#") != std::string::npos)
    return yc::Error(file, e, "masking.urls.path_templates: a template is a path only (no ?, #)");
  PathTemplate t{text, {}};
  size_t start = 1;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    std::string seg = text.substr(start, slash == std::string::npos ? slash : slash - start);
    start = slash == std::string::npos ? text.size() + 1 : slash + 1;
    if (seg.empty()) {
      if (start > text.size()) break;  // one trailing slash is allowed
      return yc::Error(file, e, "masking.urls.path_templates: empty segment in '" + text + "'");
    }
    if (seg[0] == ':' && !ValidPlaceholderName(std::string_view(seg).substr(1)))
      return yc::Error(file, e,
                       "masking.urls.path_templates: bad placeholder '" + seg +
                           "' (use :name with letters, digits, _ or -)");
    if (!t.segments.empty() && t.segments.back() == "**")
      return yc::Error(file, e, "masking.urls.path_templates: '**' must be the last segment");
    t.segments.push_back(seg[0] == ':' ? seg : Lower(PercentDecode(seg)));
  }
  if (t.segments.empty())
    return yc::Error(file, e, "masking.urls.path_templates: '/' alone matches nothing");
  return t;
}

Status ParseParams(const std::string& file, const YAML::Node& list, UrlPolicy* out) {
  for (const auto& e : list) {
    std::string name = Lower(e.Scalar());
    if (name.empty()) return yc::Error(file, e, "masking.urls: empty parameter name");
    out->params.push_back(std::move(name));
  }
  std::sort(out->params.begin(), out->params.end());
  out->params.erase(std::unique(out->params.begin(), out->params.end()), out->params.end());
  return Status::Ok();
}

}  // namespace

Result<UrlPolicy> ParseUrlsSection(const std::string& file, const YAML::Node& node) {
  UrlPolicy p;
  if (!node || node.IsNull()) return p;
  Status st = yc::CheckKeys(
      file, node, "masking.urls",
      {{"allow_params", yc::Type::kStringList,
        "query parameters kept (case-insensitive); every other one is removed"},
       {"deny_params", yc::Type::kStringList,
        "query parameters removed (case-insensitive); the others are kept"},
       {"path_templates", yc::Type::kStringList,
        "paths like /users/:id whose :placeholders replace the matching segments"},
       {"id_segments", yc::Type::kBool, "numeric, UUID and long hex path segments -> :id"},
       {"strip_fragment", yc::Type::kBool, "remove the #fragment of every URL"}});
  if (!st.ok()) return st;
  YAML::Node allow = node["allow_params"];
  YAML::Node deny = node["deny_params"];
  if (allow && !allow.IsNull() && deny && !deny.IsNull())
    return yc::Error(file, deny, "masking.urls: give allow_params or deny_params, not both");
  if (allow && allow.IsSequence()) {
    p.query_mode = UrlPolicy::QueryMode::kAllow;
    if (st = ParseParams(file, allow, &p); !st.ok()) return st;
  } else if (deny && deny.IsSequence()) {
    p.query_mode = UrlPolicy::QueryMode::kDeny;
    if (st = ParseParams(file, deny, &p); !st.ok()) return st;
  }
  if (YAML::Node ts = node["path_templates"]; ts && ts.IsSequence()) {
    for (const auto& e : ts) {
      Result<PathTemplate> t = ParseTemplate(file, e);
      if (!t.ok()) return t.status();
      p.path_templates.push_back(std::move(t).value());
    }
  }
  p.id_segments = yc::GetBool(node, "id_segments", false);
  p.strip_fragment = yc::GetBool(node, "strip_fragment", false);
  return p;
}

}  // namespace scrubd::policies
