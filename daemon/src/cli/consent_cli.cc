// The `scrubd consent` dispatcher.
#include "cli/consent_cli.h"

#include <cstdio>
#include <cstring>

namespace scrubd::cli {
namespace {

const char* kConsentUsage = R"(usage: scrubd consent <command> [options]

commands:
  decode-tcf STRING [--json]   decode an IAB TCF v2 TC string (euconsent-v2) and check it
)";

}  // namespace

int Consent(int argc, char** argv) {
  if (argc >= 1 && !std::strcmp(argv[0], "decode-tcf")) return DecodeTcf(argc - 1, argv + 1);
  bool help = argc >= 1 && (!std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h"));
  std::fputs(kConsentUsage, help ? stdout : stderr);
  return help ? 0 : 2;
}

}  // namespace scrubd::cli
