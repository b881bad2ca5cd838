// The post-erasure needle scan: does any file under a directory still hold one of the raw
// identifiers of an erasure request (in any of the forms a store would write it)? Callers:
// the subjects service after an erasure. Stateless and thread-safe; reads files through
// POSIX with bounded memory; paths are returned to the caller, never logged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "scrubd/common/status.h"

namespace scrubd::sink {

// The ASCII-lower-cased forms a needle is searched in: raw, JSON string escaped (with and
// without `\/`), percent-encoded (encodeURIComponent's set and RFC 3986's unreserved set,
// each also as form encoding with '+'). Matching is ASCII case-insensitive, so upper-case
// hex digits and case-changed copies match too. No duplicates; an empty needle has no forms.
std::vector<std::string> NeedleForms(std::string_view needle);

// Scans every regular file under `dir` (recursively, symlinks never followed; SQLite
// databases, -wal and -shm files included) for any form of any needle, reading 64 KiB at a
// time with an overlap of the longest form, so a match across two reads is found. A file that
// starts with the zstd magic (a store chunk, STORE_FORMAT.md) is searched decoded as well, in
// bounded memory; one that does not decode completely counts as a hit (not shown clean). Returns
// the number of files that contain one; fills `hits` (if given) with their paths. kIo when a
// file or directory cannot be read (fail closed: an unread file is not a clean one). A
// missing `dir` is clean (0).
Result<uint64_t> ScanForNeedles(const std::filesystem::path& dir,
                                const std::vector<std::string>& needles,
                                std::vector<std::filesystem::path>* hits = nullptr);

}  // namespace scrubd::sink
