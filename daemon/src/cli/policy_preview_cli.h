// `scrubd policy preview` (a self-contained HTML before/after report) and `scrubd policy diff`
// (the same comparison as text or JSON, for a pull request), over captured requests
// (workbench/compare.h, docs/preview.md). Called from main only; single-threaded.
#pragma once

namespace scrubd::cli {

// argv starts after "preview". Exit codes: 0 report written, 1 a policy, the input or the
// output could not be loaded or written, 2 usage.
int PolicyPreview(int argc, char** argv);

// argv starts after "diff". Exit codes: 0 compared (with --exit-code: and nothing newly
// exposed), 1 something newly exposed under --exit-code, or a load error, 2 usage.
int PolicyDiff(int argc, char** argv);

}  // namespace scrubd::cli
