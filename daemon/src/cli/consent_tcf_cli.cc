// `scrubd consent decode-tcf` (placeholder until the decoder lands).
#include <cstdio>

#include "cli/consent_cli.h"

namespace scrubd::cli {

int DecodeTcf(int, char**) {
  std::fputs("scrubd consent decode-tcf: not built yet\n", stderr);
  return 1;
}

}  // namespace scrubd::cli
