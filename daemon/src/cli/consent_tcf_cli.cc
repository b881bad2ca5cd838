// `scrubd consent decode-tcf STRING [--json]`: decoded fields, then "valid" or "invalid: why".
// Exit 0 valid, 1 invalid or does not decode, 2 usage. Never echoes the input string.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/consent_cli.h"
#include "consent/tcf.h"

namespace scrubd::cli {

int DecodeTcf(int argc, char** argv) {
  const char* str = nullptr;
  bool json = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else if (argv[i][0] == '-' && argv[i][1] == '-') {
      std::fputs("scrubd consent decode-tcf: unknown flag\n", stderr);
      return 2;
    } else if (str) {
      std::fputs("scrubd consent decode-tcf: one TC string expected\n", stderr);
      return 2;
    } else {
      str = argv[i];
    }
  }
  if (!str) {
    std::fputs("usage: scrubd consent decode-tcf STRING [--json]\n", stderr);
    return 2;
  }
  auto tc = consent::DecodeTcString(str);
  if (!tc.ok()) {
    std::string msg = tc.status().message();
    if (json) {
      std::printf("{\"decoded\":false,\"valid\":false,\"error\":\"%s\"}\n", msg.c_str());
    }
    std::fprintf(stderr, "scrubd consent decode-tcf: does not decode: %s\n", msg.c_str());
    return 1;
  }
  Status valid = consent::CheckTcfValidity(*tc);
  if (json) {
    std::string body = consent::TcStringJson(*tc);
    body.pop_back();
    body += ",\"valid\":" + std::string(valid.ok() ? "true" : "false") + ",\"invalid_reason\":" +
            (valid.ok() ? std::string("null") : "\"" + valid.message() + "\"") + "}";
    std::printf("%s\n", body.c_str());
  } else {
    std::fputs(consent::TcStringText(*tc).c_str(), stdout);
    std::printf("%s\n", valid.ok() ? "valid" : ("invalid: " + valid.message()).c_str());
  }
  return valid.ok() ? 0 : 1;
}

}  // namespace scrubd::cli
