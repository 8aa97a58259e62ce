// The `flotilla` subcommands. Each takes the arguments after its name, prints
// its own --help, and returns the process exit code: 0 on success, 1 when the
// input is bad (one line on stderr naming file, line and problem), 2 on a
// usage error.
#pragma once

#include <string>
#include <vector>

namespace flotilla::cli {

using Args = std::vector<std::string>;

int fleet_command(const Args& args);   // flotilla fleet show FILE [--json]
int sbatch_command(const Args& args);  // flotilla sbatch --parse-only [--json] FILE
int place_command(const Args& args);   // flotilla place --fleet FILE SCRIPT...
int sim_command(const Args& args);     // flotilla sim [--fleet F...] [--trace T] [--json]
int trace_command(const Args& args);   // flotilla trace convert IN OUT.h5 | stats FILE [--json]

}  // namespace flotilla::cli
