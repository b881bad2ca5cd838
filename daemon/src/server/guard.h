// The exception fence for Asio handlers: every io-thread handler of the HTTP server runs its
// body through RunGuarded, so a throw is logged and the connection closed instead of ending
// in std::terminate. Header-only; thread-safe (no state).
#pragma once

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

namespace scrubd::server {

// Runs f(); returns false, after logging `where` and the exception's what(), if it threw.
template <class F>
bool RunGuarded(const char* where, F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return true;
  } catch (const std::exception& e) {
    try {
      spdlog::error("exception in {} handler: {}", where, e.what());
    } catch (...) {
    }
  } catch (...) {
    try {
      spdlog::error("non-standard exception in {} handler", where);
    } catch (...) {
    }
  }
  return false;
}

}  // namespace scrubd::server
