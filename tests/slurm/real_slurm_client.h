// For the tests that use the real Slurm of the `real_slurm` fixture
// (slurm/real_slurm.sh; SLURM_CONF points at it): Slurm's client commands
// run through the shell, their stdout captured.
#pragma once

#include <cstdio>
#include <string>

namespace flotilla::testing {

// Runs `cmd` with /bin/sh and returns what it printed on stdout.
inline std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

}  // namespace flotilla::testing
