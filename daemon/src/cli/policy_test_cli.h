// `scrubd policy test [--json] FILE...`: runs each case of each test file through the serve
// pipeline (workbench/runner.h) and checks what came out (workbench/policy_cases.h; format in
// docs/workbench.md). Called from main only; single-threaded.
#pragma once

namespace scrubd::cli {

// argv starts after "test". Exit codes: 0 every case passed, 1 a case failed or a test file,
// policy or input could not be loaded (file:line:col), 2 usage.
int PolicyTest(int argc, char** argv);

}  // namespace scrubd::cli
