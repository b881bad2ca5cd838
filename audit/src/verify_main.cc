// scrubd-audit-verify: the standalone verifier. Needs only the log directory and a public key:
//   scrubd-audit-verify --audit-dir DIR/audit --public-key public.pem [--trusted-checkpoint F]
//   scrubd-audit-verify --data-dir DIR          (key: DIR/audit/public.pem)
//   scrubd-audit-verify prove|export-key ...    (same as `scrubd audit ...`)
#include <cstring>
#include <vector>

#include "scrubd/audit/cli.h"

int main(int argc, char** argv) {
  std::vector<char*> args;
  static char kVerify[] = "verify";
  if (argc < 2 || argv[1][0] == '-') {
    args.push_back(kVerify);
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  } else {
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  }
  args.push_back(nullptr);
  return scrubd::audit::RunAuditCli(static_cast<int>(args.size()) - 1, args.data());
}
