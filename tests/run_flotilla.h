// Runs the real `flotilla` binary (FLOTILLA_BINARY) for end-to-end tests and
// captures its exit code, stdout and stderr separately.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace flotilla::testing {

struct CommandOutcome {
  int exit_code = -1;
  std::string out, err;
};

// `args` go to the shell as written: quote paths that need it.
inline CommandOutcome run_flotilla(const std::string& args) {
  static int calls = 0;
  const std::filesystem::path err_path =
      std::filesystem::temp_directory_path() /
      ("flotilla_test_err_" + std::to_string(::getpid()) + "_" + std::to_string(calls++));
  const std::string cmd =
      std::string("'") + FLOTILLA_BINARY + "' " + args + " 2>'" + err_path.string() + "'";
  CommandOutcome r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  std::stringstream err;
  err << in.rdbuf();
  r.err = err.str();
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace flotilla::testing
