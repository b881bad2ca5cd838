// Parsing what the store holds (chunks, event bodies, exports) back into JSON: as deep as
// ingest admitted it (ingest::DecodeLimits::max_depth), never Boost's default of 32, which
// failed export, access bundles, purge and the workbench on ordinary deep pages.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>
#include <string_view>

namespace scrubd::sink {

// Ingest admits up to 512 levels; stored forms add a few (the export's array, wrappers).
inline constexpr std::size_t kStoredJsonMaxDepth = 1024;

inline boost::json::value ParseStoredJson(std::string_view text, boost::system::error_code& ec) {
  boost::json::parse_options po;
  po.max_depth = kStoredJsonMaxDepth;
  return boost::json::parse(text, ec, {}, po);
}

}  // namespace scrubd::sink
