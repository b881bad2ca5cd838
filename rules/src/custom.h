// Custom detectors (`detectors.custom` in a policy): the YAML entries -> CustomDetector with
// file:line:col errors, their validation and conversion to catalog DetectorSpecs for the
// scanner, and the example check. Internal to scrubd_rules; pure functions, thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "catalog.h"
#include "scrubd/common/status.h"
#include "scrubd/rules/scanner.h"

namespace scrubd::rules::internal {

// Parses the `custom:` list of a `detectors:` section (file for locations). `max_mem` is the
// section's RE2 budget; every pattern is compiled with it here, so a bad one is reported at
// its own line. `catalog_ids` are the ids a custom detector must not take.
Status ParseCustomSection(const std::string& file, const YAML::Node& seq, int64_t max_mem,
                          const std::set<std::string>& catalog_ids,
                          std::vector<CustomDetector>* out);

// Validates `custom` (bounds, ids, validators, boundaries, methods, patterns) and converts it
// to specs appended after the catalog. Errors name the entry's `where`.
Result<std::vector<DetectorSpec>> CustomSpecs(const std::vector<CustomDetector>& custom,
                                              const std::set<std::string>& catalog_ids,
                                              int64_t max_mem);

// The shared predicates (the parser points at the node, CustomSpecs at the entry).
bool IsCustomId(const std::string& id);
bool ParseBoundary(const std::string& name, Boundary* out);
bool IsCustomValidator(const std::string& name);
// Empty when `re` is acceptable as a custom pattern (compiles within `max_mem`, no longer
// than kMaxCustomPatternBytes, program small enough, cannot match the empty string).
std::string CustomPatternError(const std::string& re, int64_t max_mem);

}  // namespace scrubd::rules::internal
