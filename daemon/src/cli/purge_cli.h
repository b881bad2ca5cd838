// `scrubd purge`: the retention purge (docs/retention.md), through the running daemon when one
// serves the data dir (POST /admin/purge), else directly on the data dir under the audit log's
// lock, with the policies loaded exactly as serve loads them. Called from main only.
#pragma once

namespace scrubd::cli {

// Exit codes: 0 done (or a dry run), 1 failed (the next run finishes an interrupted purge),
// 2 usage.
int Purge(int argc, char** argv);

}  // namespace scrubd::cli
