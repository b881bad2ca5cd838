// `scrubd hold add | list | release`: legal holds (docs/retention.md "Legal holds"). Through
// the running daemon when one serves the data dir (DATA_DIR/run/serve.addr, /admin/holds),
// else directly on the data dir under the audit log's lock. Called from main only.
#pragma once

namespace scrubd::cli {

// argv starts after "hold". Exit codes: 0 done, 1 failed (unknown hold, a fault), 2 usage or
// bad input (named, never quoted).
int Hold(int argc, char** argv);

}  // namespace scrubd::cli
