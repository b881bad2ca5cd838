// The `masking.urls:` section: how every URL scrubd stores or forwards is cleaned (query
// parameters, id path segments, fragments). Parsed and validated once by the policy loader;
// read by daemon/src/scrub/urls.h. Immutable after parsing; shared between request threads.
#pragma once

#include <string>
#include <vector>

#include "scrubd/common/status.h"

namespace YAML {
class Node;
}

namespace scrubd::policies {

// One `path_templates` entry, pre-split at load. Segments are lower case and percent-decoded:
// a literal, ":name" (replaced by ":name"), "*" (any one segment, kept) or a final "**" (any
// remaining segments, kept).
struct PathTemplate {
  std::string text;  // as written, for reporting
  std::vector<std::string> segments;
};

struct UrlPolicy {
  enum class QueryMode { kKeepAll, kAllow, kDeny };
  QueryMode query_mode = QueryMode::kKeepAll;
  std::vector<std::string> params;  // lower case; the allow or deny list
  std::vector<PathTemplate> path_templates;
  bool id_segments = false;     // numeric / UUID / long hex path segments -> ":id"
  bool strip_fragment = false;  // drop "#..." entirely

  bool empty() const {
    return query_mode == QueryMode::kKeepAll && path_templates.empty() && !id_segments &&
           !strip_fragment;
  }
};

// Parses `masking.urls` (`file` only for error locations). Absent or null: an empty policy
// (URLs kept as they are). Unknown keys, both allow_params and deny_params, and malformed
// templates are kInvalidConfig errors at file:line:col.
Result<UrlPolicy> ParseUrlsSection(const std::string& file, const YAML::Node& node);

}  // namespace scrubd::policies
