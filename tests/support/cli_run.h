// Runs the scrubd binary under test (SCRUBD_BIN, a compile definition of each CLI test in
// tests/CMakeLists.txt) through the shell, collecting its exit code and output. Test-only.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#ifndef SCRUBD_BIN
#error "cli_run.h needs SCRUBD_BIN (target_compile_definitions in tests/CMakeLists.txt)"
#endif

namespace scrubd::testing {

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr
};

// `args` is shell text (callers quote what needs quoting); `env` is prefixed as shell
// assignments ("TMPDIR=/x"). -1 when the process did not exit.
inline CliRun Scrubd(const std::string& args, const std::string& env = "") {
  std::string cmd = (env.empty() ? "" : env + " ") + std::string(SCRUBD_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace scrubd::testing
