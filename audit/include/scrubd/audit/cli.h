// The `scrubd audit ...` command line: verify, prove, rotate-key, export-key. Called by the
// daemon's main (argv[0] is the subcommand word) and by the standalone scrubd-audit-verify.
// Prints to stdout/stderr; not thread-safe with respect to the process's stdio.
#pragma once

namespace scrubd::audit {

// Exit codes: 0 ok, 1 verification (or operation) failed, 2 usage error.
int RunAuditCli(int argc, char** argv);

}  // namespace scrubd::audit
