// The preview report (`scrubd policy preview`): one self-contained HTML file with the
// comparison's tables, both event streams and the embedded rrweb-player, opened offline.
// Pure function over its inputs; thread-safe.
#pragma once

#include <string>

#include "scrubd/common/status.h"
#include "workbench/compare.h"
#include "workbench/report_text.h"
#include "workbench/runner.h"

namespace scrubd::workbench {

// The report: newly exposed (first, in red), newly hidden, two replays per recording with
// synchronised playback, the redaction tables. Every table cell is HTML-escaped text; the
// event streams sit in a JSON data block (no '<', '>' or '&' unescaped), replayed only inside
// rrweb-player's sandboxed iframe; the only scripts are the player and the report's own, each
// allowed by its sha256 in the file's Content-Security-Policy. kInternal if the embedded
// assets are missing or a script could close its own tag.
Result<std::string> PreviewHtml(const ReportHeader& h, const Comparison& c, const RunResult& before,
                                const RunResult& after, bool show_values);

// `s` with &, <, >, " and ' replaced by entities.
std::string HtmlEscape(std::string_view s);

}  // namespace scrubd::workbench
