// Test fixture of the scrub stage: the default masking policy and detectors, a DOM state
// store in a temp dir, and the decoded $snapshot event of a window. Header-only, for the
// scrub tests only (bad_type_test.cc, scrub_test.cc, deadline tests). Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "dom/state_store.h"
#include "ingest/decode.h"
#include "scrub/scrub.h"
#include "scrubd/policies/policy.h"
#include "support/fixtures.h"

namespace scrubd::scrub::testing {

inline std::shared_ptr<const rules::Scanner> MakeScanner() {
  auto s = rules::Scanner::Create({});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : nullptr;
}

struct ScrubFixture {
  ScrubFixture() {
    policy.scanner = MakeScanner();
    policy.masking = policies::MaskingPolicy::Defaults();
    policy.identity.master_key = "scrub-fixture-master-key-0123456";  // ids pseudonymise
    dom::StateStore::Options so;
    so.dir = dir.path();
    auto st = dom::StateStore::Open(so);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) state = std::move(st).value();
  }

  // A $snapshot event of token "t", session "s-1", window "w-1" holding `json_text`.
  static ingest::Event Snapshot(const std::string& json_text) {
    ingest::Event ev;
    ev.is_snapshot = true;
    ev.token = "t";
    ev.session_id = "s-1";
    ev.window_id = "w-1";
    ev.json = boost::json::parse(json_text).as_object();
    return ev;
  }

  policies::Policy policy;
  scrubd::testing::TempDir dir;
  std::unique_ptr<dom::StateStore> state;
};

}  // namespace scrubd::scrub::testing
