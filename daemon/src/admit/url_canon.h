// The canonical form of a URL that `blocking.urls` patterns are matched against, so that an
// encoding of a blocked page (percent-escapes, case, dot segments, doubled or back slashes)
// cannot escape its pattern. Used by admit/page_gate.cc. Pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace scrubd::admit {

// `url` (an absolute URL, a scheme-relative `//host/...`, or a path such as `$pathname`)
// rewritten as: tab / CR / LF removed and surrounding spaces trimmed (as browsers do);
// every `%XX` escape decoded, repeatedly until none is left (so `%252F` is `/`), in every
// part; `\` read as `/` in the path; the path's dot segments resolved (RFC 3986 5.2.4) and
// runs of `/` collapsed to one; the whole result ASCII-lower-cased. Scheme and host are
// kept, lower-cased; query and fragment follow the path, decoded and lower-cased. Never
// fails: text that is no URL is canonicalised as a path.
std::string CanonicalUrl(std::string_view url);

}  // namespace scrubd::admit
