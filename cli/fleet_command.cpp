#include <iostream>

#include "cli/commands.h"

namespace flotilla::cli {

int fleet_command(const Args&) {
  std::cerr << "flotilla fleet: not built yet\n";
  return 2;
}

}  // namespace flotilla::cli
