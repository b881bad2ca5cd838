// `scrubd policy test` (policy_test_cli.h). Reports name checks by key and file:line:col and
// say where a hidden string showed by position; they never print a value of the test file or
// of the recording.
#include "cli/policy_test_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "workbench/policy_cases.h"
#include "workbench/report_text.h"
#include "workbench/runner.h"

namespace scrubd::cli {
namespace json = boost::json;
namespace {

constexpr int kExitUsage = 2;

const char* kUsage = R"(usage: scrubd policy test [--json] FILE...

Runs every case of each test file through the same pipeline as 'scrubd serve' (decode, admit,
consent, page gate, DOM masking, detectors, local store) over a temporary data dir, and checks
what came out: `hidden` strings in no stored, indexed, audited or logged byte (also JSON- and
percent-encoded), `visible` strings kept, `selectors_masked` / `selectors_blocked` elements of
the input's DOM masked / blocked in the replayed output, `redacted_by` rules firing, and the
limits on dropped events and rejected requests. A check that cannot fail (a string absent from
the input, a selector matching nothing) fails. Paths are relative to the test file.
Format: docs/workbench.md. Prints a report per case; --json prints it as JSON.
Exit 0 if every case passed, 1 otherwise, 2 on a usage error.
)";

using workbench::CountsJson;

json::object CaseJson(const workbench::CaseReport& r) {
  json::array failures;
  for (const workbench::CheckFailure& f : r.failures)
    failures.push_back(json::object{{"check", f.check}, {"where", f.where}, {"detail", f.detail}});
  json::array rejected;
  for (const std::string& s : r.after.rejected) rejected.push_back(json::string(s));
  return json::object{{"name", r.name},
                      {"where", r.where},
                      {"ok", r.ok()},
                      {"failures", std::move(failures)},
                      {"recordings_in", r.sessions_in},
                      {"recordings_stored", r.after.sessions.size()},
                      {"events_in", r.after.events_in},
                      {"events_stored", r.after.events_stored},
                      {"redactions", r.after.counts.Total()},
                      {"redactions_by_rule", CountsJson(r.after.counts.by_rule)},
                      {"redactions_by_method", CountsJson(r.after.counts.by_method)},
                      {"dropped", CountsJson(r.after.dropped)},
                      {"rejected", std::move(rejected)}};
}

std::string CountsText(const std::map<std::string, uint64_t>& m) {
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return out;
}

void PrintCase(const workbench::CaseReport& r) {
  const workbench::RunResult& a = r.after;
  uint64_t dropped = 0;
  for (const auto& [k, v] : a.dropped) dropped += v;
  std::printf("  %s %s: %zu/%zu recordings stored, %llu events in, %llu stored, %llu redactions",
              r.ok() ? "PASS" : "FAIL", r.name.c_str(), a.sessions.size(), r.sessions_in,
              static_cast<unsigned long long>(a.events_in),
              static_cast<unsigned long long>(a.events_stored),
              static_cast<unsigned long long>(a.counts.Total()));
  if (!a.counts.by_rule.empty()) std::printf(" (%s)", CountsText(a.counts.by_rule).c_str());
  std::printf(", %llu dropped", static_cast<unsigned long long>(dropped));
  if (!a.dropped.empty()) std::printf(" (%s)", CountsText(a.dropped).c_str());
  if (!a.rejected.empty()) std::printf(", %zu rejected", a.rejected.size());
  std::printf("\n");
  for (const workbench::CheckFailure& f : r.failures)
    std::printf("       %s %s: %s\n", f.check.c_str(), f.where.c_str(), f.detail.c_str());
}

struct Tally {
  int cases = 0, failed = 0, errors = 0;
};

// One test file: its policies, then each case. Returns its JSON (also when printing text).
json::object RunFile(const std::string& file, bool as_json, Tally* t) {
  json::object out{{"file", file}};
  auto error = [&](const std::string& message) {
    ++t->errors;
    if (!as_json) std::printf("ERROR %s\n", message.c_str());
    out["error"] = message;
    return out;
  };
  Result<workbench::TestFile> tf = workbench::ParseTestFile(file);
  if (!tf.ok()) return error(tf.status().message());
  json::array policies;
  for (const std::string& p : tf->policy_files) policies.push_back(json::string(p));
  out["policies"] = std::move(policies);
  Result<std::shared_ptr<const policies::PolicySet>> set =
      workbench::LoadPolicies(tf->policy_files);
  if (!set.ok()) return error(set.status().message());
  if (!as_json) std::printf("%s\n", file.c_str());
  json::array cases;
  for (const workbench::TestCase& c : tf->cases) {
    ++t->cases;
    Result<workbench::CaseReport> r = workbench::RunCase(c, *set);
    if (!r.ok()) {
      ++t->failed;
      std::string message = c.where + ": case " + c.name + ": " + r.status().message();
      if (!as_json) std::printf("  ERROR %s\n", message.c_str());
      cases.push_back(json::object{{"name", c.name}, {"ok", false}, {"error", message}});
      continue;
    }
    t->failed += !r->ok();
    if (!as_json) PrintCase(*r);
    cases.push_back(CaseJson(*r));
  }
  out["cases"] = std::move(cases);
  return out;
}

}  // namespace

int PolicyTest(int argc, char** argv) {
  bool as_json = false;
  std::vector<std::string> files;
  for (int i = 0; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!std::strcmp(argv[i], "--json")) {
      as_json = true;
    } else if (argv[i][0] == '-') {
      std::fprintf(stderr, "scrubd policy test: unknown option '%s'\n%s", argv[i], kUsage);
      return kExitUsage;
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "scrubd policy test: no test file given\n%s", kUsage);
    return kExitUsage;
  }
  Tally t;
  json::array reports;
  for (const std::string& f : files) reports.push_back(RunFile(f, as_json, &t));
  const bool ok = t.failed == 0 && t.errors == 0;
  if (as_json) {
    std::printf("%s\n", json::serialize(json::object{{"ok", ok},
                                                     {"cases", t.cases},
                                                     {"failed", t.failed},
                                                     {"errors", t.errors},
                                                     {"files", std::move(reports)}})
                            .c_str());
  } else {
    std::string tail = t.errors ? ", " + std::to_string(t.errors) + " files not loaded" : "";
    std::printf("%d of %d cases passed%s\n", t.cases - t.failed, t.cases, tail.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace scrubd::cli
