// The embedded asset table the build generates (embedded_ui_assets.cc, from
// cmake/embed_assets.cmake). Private to daemon/src/ui: everyone else calls ui::FindAsset.
// Static, immutable data; thread-safe.
#pragma once

#include <span>

#include "ui/assets.h"

namespace scrubd::ui::internal {

std::span<const Asset> EmbeddedAssets();

}  // namespace scrubd::ui::internal
