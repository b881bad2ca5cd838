// Stored JSON parses as deep as ingest admits (Boost's default of 32 failed export, access
// bundles, purge and the workbench on deep pages).
#include "sink/stored_json.h"

#include <gtest/gtest.h>

#include <string>

namespace scrubd::sink {
namespace {

TEST(StoredJsonTest, ParsesWhatIngestAdmitsAndRefusesBeyond) {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  boost::system::error_code ec;
  ParseStoredJson(nested(600), ec);
  EXPECT_FALSE(ec) << ec.message();
  boost::json::parse(nested(600), ec);
  EXPECT_TRUE(ec);  // the default the store used to parse with
  ParseStoredJson(nested(kStoredJsonMaxDepth + 1), ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace scrubd::sink
