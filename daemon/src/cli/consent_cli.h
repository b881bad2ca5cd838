// `scrubd consent decode-tcf | show`: read a TC string as a CMP wrote it, and a subject's or a
// session's consent history from the ledger (docs/consent.md). Called from main only.
#pragma once

namespace scrubd::cli {

// argv starts after "consent". Exit codes: 0 done, 1 the command ran and found a failure (a TC
// string that does not decode or is invalid, no ledger), 2 usage or bad input.
int Consent(int argc, char** argv);

// argv starts after "decode-tcf" (cli/consent_tcf_cli.cc).
int DecodeTcf(int argc, char** argv);

}  // namespace scrubd::cli
