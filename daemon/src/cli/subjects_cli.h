// `scrubd forget` (erasure) and `scrubd export --distinct-id|--email` (the access bundle).
// Through the running daemon when one serves the data dir (DATA_DIR/run/serve.addr), else
// directly on the data dir under the audit log's lock. Called from main only.
#pragma once

namespace scrubd::cli {

// Exit codes: 0 completed (and, for forget, the scan was clean), 1 failed, 2 usage; forget:
// 3 deferred (a legal hold covers the subject; the erasure runs when it is released).
int Forget(int argc, char** argv);
int ExportSubject(int argc, char** argv);

// True when export's arguments ask for a subject bundle rather than one session.
bool IsSubjectExport(int argc, char** argv);

}  // namespace scrubd::cli
