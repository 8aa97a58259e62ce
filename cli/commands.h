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
int ctld_command(const Args& args);      // mpirun ... flotilla ctld --fleet FILE --state DIR
int squeue_command(const Args& args);    // flotilla squeue [-u] [-t] [-j] [--json]
int scancel_command(const Args& args);   // flotilla scancel JOBID... | -u USER | -n NAME
int sinfo_command(const Args& args);     // flotilla sinfo [--json]
int sacct_command(const Args& args);     // flotilla sacct [-j] [-u] [-s] [--json]
int scontrol_command(const Args& args);  // flotilla scontrol show job N | shutdown
int meter_command(const Args& args);     // flotilla meter export --from T1 --to T2 -o FILE
// flotilla meter import-sacct FILE --provider P -o FILE (cli/meter_command.cpp)
int meter_import_sacct(const Args& args);
int rewards_command(const Args& args);  // flotilla rewards --epoch E ... | verify | explain
int probe_command(const Args& args);  // flotilla probe [--json] | --prove [--claim CLASS]
int settle_command(const Args& args);  // flotilla settle STATEMENT --keypair K --mint M --rpc URL | status | verify

}  // namespace flotilla::cli
