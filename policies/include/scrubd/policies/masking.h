// The `masking:` section of a policy: client-style DOM masking options, parsed, validated and
// compiled (selectors included) once per policy snapshot. Called by the policy loader; read by
// the DOM masker. Immutable after parsing; shared by pointer between request threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"
#include "scrubd/policies/selector.h"
#include "scrubd/policies/url_policy.h"

namespace YAML {
class Node;
}

namespace scrubd::policies {

enum class PluginAction { kScrub, kDrop };

struct MaskingPolicy {
  // Indexes of the lists inside `compiled` (CompiledSelectors::Matches(list, chain)).
  static constexpr size_t kBlockList = 0;
  static constexpr size_t kMaskList = 1;
  static constexpr size_t kUnmaskList = 2;

  bool mask_all_inputs = true;
  std::vector<std::string> mask_input_types;    // used when mask_all_inputs is false; password
                                                // is always masked
  bool mask_all_text = false;                   // every text node masked (strict.yaml)
  SelectorList block;                           // subtree dropped, element kept as placeholder
  SelectorList mask_text;                       // text under match masked, length-preserving
  SelectorList unmask_text;                     // exceptions inside a masked region
  std::vector<std::string> mask_attributes;     // masked under masked elements; "data-*" = prefix
  bool block_media = false;                     // img/video/audio/source src, srcset, poster,
                                                // canvas rr_dataURL, CanvasMutation events
  PluginAction console = PluginAction::kScrub;  // rrweb/console@1 (and rrweb Log events)
  PluginAction network = PluginAction::kScrub;  // rrweb/network@1
  PluginAction network_bodies = PluginAction::kDrop;  // request/response bodies when scrubbing
  std::vector<std::string> redact_headers;  // extra header names (lower case) always redacted,
                                            // on top of authorization, cookie, set-cookie,
                                            // x-api-key, proxy-authorization
  UrlPolicy urls;  // `masking.urls`: query / path / fragment rules for every URL

  // Atom table over {block, mask_text, unmask_text}; built by ParseMaskingSection / Compile.
  std::shared_ptr<const CompiledSelectors> compiled;
  // Key-based detection for form fields: an input / textarea / select whose `name`, `id` or
  // `autocomplete` is a sensitive key (password, card, cvv, ssn, ...) is always masked, like a
  // password. Set by the policy loader from the compiled detector set; empty = no key check.
  std::function<bool(std::string_view)> sensitive_key;

  // The privacy-safe defaults (what an absent `masking:` section means): all inputs masked,
  // block `.ph-no-capture, [data-ph-no-capture]`, mask_text `.ph-mask`, default attributes.
  static MaskingPolicy Defaults();
  // (Re)builds `compiled` after the lists were edited in code. kInvalidConfig on too many atoms.
  Status Compile();
  // Whether `name` (lower case) is masked by `mask_attributes` under a masked element.
  bool MasksAttribute(std::string_view name) const;
  // Whether an input of this type (lower case; "textarea", "select" for those tags) is masked.
  bool MasksInputType(std::string_view type) const;
};

// Parses the `masking:` YAML section (`file` only for error locations). An absent or null
// section yields MaskingPolicy::Defaults(); within a present section each absent key keeps its
// default, and a given list replaces the default list. Unknown keys, wrong types, unknown
// input types and unsupported selectors are kInvalidConfig errors at file:line:col.
Result<MaskingPolicy> ParseMaskingSection(const std::string& file, const YAML::Node& node);

}  // namespace scrubd::policies
