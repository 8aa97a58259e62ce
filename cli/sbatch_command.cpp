#include <iostream>

#include "cli/commands.h"

namespace flotilla::cli {

int sbatch_command(const Args&) {
  std::cerr << "flotilla sbatch: not built yet\n";
  return 2;
}

}  // namespace flotilla::cli
