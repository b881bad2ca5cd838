// `scrubd policy preview` and `scrubd policy diff` (policy_preview_cli.h). Messages name files
// and counts; a value of the recording is printed only under --show-values.
#include "cli/policy_preview_cli.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "scrubd/common/env.h"
#include "workbench/compare.h"
#include "workbench/report_html.h"
#include "workbench/report_text.h"
#include "workbench/runner.h"

namespace scrubd::cli {
namespace json = boost::json;
namespace {

constexpr int kExitUsage = 2;

const char* kPreviewUsage =
    R"(usage: scrubd policy preview --policy NEW.yaml [--baseline OLD.yaml] --input DIR
                             --out report.html [--show-values]

Runs the captured requests in DIR ('scrubd capture', docs/capture.md) through the serve
pipeline under the new policy and under the baseline (without --baseline: the input as
captured), and writes one self-contained HTML file (0600; it opens offline): newly exposed
values first (what the new policy shows and the baseline hid), newly hidden values, the two
replays side by side with synchronised playback, and the redaction tables by rule, selector
and method. Values are shown as rule, position and length unless --show-values is given.
--policy and --baseline may be repeated to name a policy set. Format: docs/preview.md.
The report's "before" side holds the recorded data: treat the file as personal data.
Exit 0 written, 1 a policy, the input or the output failed, 2 usage.
)";

const char* kDiffUsage =
    R"(usage: scrubd policy diff OLD.yaml NEW.yaml --input DIR [--json] [--show-values]
                          [--exit-code]

The comparison of 'scrubd policy preview' as text (or --json) for review in a pull request:
newly exposed values (the new policy shows what OLD hid), newly hidden values, redactions by
rule and method, values hidden by selector / rule, dropped events. Values are shown as rule,
position and length unless --show-values is given (they are then personal data).
Exit 0 compared, 1 newly exposed values under --exit-code or a load error, 2 usage.
)";

struct Args {
  std::vector<std::string> policy, baseline;
  std::string input, out;
  bool show_values = false, as_json = false, exit_code = false;
};

struct Loaded {
  workbench::ReportHeader header;
  workbench::RunResult captured, before, after;
  std::shared_ptr<const policies::PolicySet> new_set, base_set;
  workbench::Comparison comparison;
  // The "before" side: the baseline's run, or the input as captured without one.
  const workbench::RunResult& Before() const { return base_set ? before : captured; }
};

void Hashes(const policies::PolicySet& set, std::vector<std::string>* out) {
  for (const auto& p : set.policies()) out->push_back(p->sha256);
}

// Loads the policies and the input, runs both sides and compares. Errors are printed.
std::optional<Loaded> Run(const char* cmd, const Args& a) {
  auto fail = [&](const std::string& what, const Status& s) {
    std::fprintf(stderr, "scrubd policy %s: %s: %s\n", cmd, what.c_str(), s.message().c_str());
    return std::nullopt;
  };
  Loaded l;
  auto set = workbench::LoadPolicies(a.policy);
  if (!set.ok()) return fail("policy", set.status());
  l.new_set = *set;
  if (!a.baseline.empty()) {
    auto base = workbench::LoadPolicies(a.baseline);
    if (!base.ok()) return fail("baseline", base.status());
    l.base_set = *base;
  }
  auto in = workbench::LoadCaptureDir(a.input);
  if (!in.ok()) return fail("input", in.status());
  auto captured = workbench::DecodeOnly(*in);
  if (!captured.ok()) return fail("input", captured.status());
  l.captured = std::move(captured).value();
  if (l.base_set) {
    auto before = workbench::RunPolicy(l.base_set, *in);
    if (!before.ok()) return fail("baseline run", before.status());
    l.before = std::move(before).value();
  }
  auto after = workbench::RunPolicy(l.new_set, *in);
  if (!after.ok()) return fail("policy run", after.status());
  l.after = std::move(after).value();
  l.comparison =
      workbench::Compare(l.captured, {&l.Before(), l.base_set.get()}, {&l.after, l.new_set.get()});
  l.header = {a.baseline, a.policy, {}, {}, a.input, in->size()};
  Hashes(*l.new_set, &l.header.policy_sha256);
  if (l.base_set) Hashes(*l.base_set, &l.header.baseline_sha256);
  return l;
}

// Parses the options common to both commands; positional arguments go to `positional`.
// Returns kExitUsage on a bad option, -1 to go on, 0 after --help.
int ParseArgs(int argc, char** argv, bool diff, Args* a, std::vector<std::string>* positional) {
  const char* usage = diff ? kDiffUsage : kPreviewUsage;
  const char* cmd = diff ? "diff" : "preview";
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (arg == "--show-values") {
      a->show_values = true;
    } else if (diff && arg == "--json") {
      a->as_json = true;
    } else if (diff && arg == "--exit-code") {
      a->exit_code = true;
    } else if (arg == "--input" && value(&a->input)) {
    } else if (!diff && arg == "--out" && value(&a->out)) {
    } else if (!diff && arg == "--policy" && value(&v)) {
      a->policy.push_back(v);
    } else if (!diff && arg == "--baseline" && value(&v)) {
      a->baseline.push_back(v);
    } else if (diff && !arg.empty() && arg[0] != '-') {
      positional->push_back(arg);
    } else {
      std::fprintf(stderr, "scrubd policy %s: bad argument '%s'\n%s", cmd, arg.c_str(), usage);
      return kExitUsage;
    }
  }
  return -1;
}

int Usage(const char* cmd, const char* what, const char* usage) {
  std::fprintf(stderr, "scrubd policy %s: %s\n%s", cmd, what, usage);
  return kExitUsage;
}

}  // namespace

int PolicyPreview(int argc, char** argv) {
  Args a;
  std::vector<std::string> positional;
  if (int rc = ParseArgs(argc, argv, false, &a, &positional); rc >= 0) return rc;
  if (a.policy.empty()) return Usage("preview", "--policy is required", kPreviewUsage);
  if (a.input.empty()) return Usage("preview", "--input is required", kPreviewUsage);
  if (a.out.empty()) return Usage("preview", "--out is required", kPreviewUsage);
  std::optional<Loaded> l = Run("preview", a);
  if (!l) return 1;
  Result<std::string> html =
      workbench::PreviewHtml(l->header, l->comparison, l->Before(), l->after, a.show_values);
  if (!html.ok()) {
    std::fprintf(stderr, "scrubd policy preview: %s\n", html.status().message().c_str());
    return 1;
  }
  if (Status s = WriteFileDurably(Env::Default(), a.out, *html, 0600); !s.ok()) {
    std::fprintf(stderr, "scrubd policy preview: --out: %s\n", s.message().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "scrubd policy preview: WARNING: %s holds personal data: its \"before\" side is "
               "%s%s. It is written 0600; keep it private and delete it after review.\n",
               a.out.c_str(),
               l->base_set ? "the recording as the baseline stored it"
                           : "the recording as captured, unscrubbed",
               a.show_values ? ", and its tables show the values themselves" : "");
  std::printf("wrote %s: %zu newly exposed, %zu newly hidden, %zu recordings\n", a.out.c_str(),
              l->comparison.newly_exposed.size(), l->comparison.newly_hidden.size(),
              l->comparison.recordings_in);
  return 0;
}

int PolicyDiff(int argc, char** argv) {
  Args a;
  std::vector<std::string> positional;
  if (int rc = ParseArgs(argc, argv, true, &a, &positional); rc >= 0) return rc;
  if (positional.size() != 2) return Usage("diff", "give OLD and NEW policy files", kDiffUsage);
  if (a.input.empty()) return Usage("diff", "--input is required", kDiffUsage);
  a.baseline = {positional[0]};
  a.policy = {positional[1]};
  std::optional<Loaded> l = Run("diff", a);
  if (!l) return 1;
  if (a.show_values)
    std::fprintf(stderr,
                 "scrubd policy diff: WARNING: --show-values prints recorded values: "
                 "personal data\n");
  if (a.as_json)
    std::printf("%s\n",
                json::serialize(workbench::ComparisonJson(l->header, l->comparison, a.show_values))
                    .c_str());
  else
    std::fputs(workbench::ComparisonText(l->header, l->comparison, a.show_values).c_str(), stdout);
  return a.exit_code && !l->comparison.newly_exposed.empty() ? 1 : 0;
}

}  // namespace scrubd::cli
