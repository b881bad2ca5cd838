// PageState: which page a window shows, as far as `blocking.urls` is concerned. It keeps the
// verdict, never the URL (a URL can carry personal data; the state dir must not). Lives in
// WindowState, so the same StateStore::Lease guards it; not thread-safe on its own.
// Persisted beside the window's .dws file as a small versioned .dpg file (docs/masking-state.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scrubd/common/status.h"

namespace scrubd::dom {

struct PageState {
  enum class Page : uint8_t { kUnknown = 0, kAllowed = 1, kBlocked = 2 };
  Page page = Page::kUnknown;
  uint64_t rules_fingerprint = 0;  // BlockingPolicy::urls_fingerprint the verdict was made under
  bool dirty = false;              // changed since the last persist (not encoded)

  // Sets the verdict; marks the state dirty when it changed.
  void Set(Page p, uint64_t fingerprint) {
    if (p == page && fingerprint == rules_fingerprint) return;
    page = p;
    rules_fingerprint = fingerprint;
    dirty = true;
  }
  // The verdict under the running rules: unknown when it was made under other rules.
  Page Under(uint64_t fingerprint) const {
    return fingerprint == rules_fingerprint ? page : Page::kUnknown;
  }

  std::string Encode(std::string_view key) const;
  // kCorruption on damage, kNotFound when `key` is another window's (hash collision).
  static Result<PageState> Decode(std::string_view bytes, std::string_view key);
};

}  // namespace scrubd::dom
