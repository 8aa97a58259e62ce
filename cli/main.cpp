// flotilla: one program, one subcommand per task (Slurm-style commands, the
// simulator, rewards, settlement). This file only dispatches.
#include <array>
#include <exception>
#include <iostream>
#include <string_view>

#include "cli/commands.h"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const flotilla::cli::Args&);
};

constexpr std::array kCommands{
    Command{"fleet", "fleet files (fleet show FILE [--json] | import-slurm --conf F -o OUT)",
            flotilla::cli::fleet_command},
    Command{"sbatch", "parse a #SBATCH job script (--parse-only --json FILE)",
            flotilla::cli::sbatch_command},
    Command{"place", "place job scripts on a fleet (--fleet FILE SCRIPT...)",
            flotilla::cli::place_command},
    Command{"sim", "compare fleets on a workload (no arguments: the built-in comparison)",
            flotilla::cli::sim_command},
    Command{"trace", "convert and summarize workload traces (trace convert|stats ...)",
            flotilla::cli::trace_command},
    Command{"ctld", "the live controller and executors (under mpirun; --fleet F --state DIR)",
            flotilla::cli::ctld_command},
    Command{"squeue", "jobs in the queue of a running ctld", flotilla::cli::squeue_command},
    Command{"scancel", "cancel jobs (JOBID... | -u USER | -n NAME)", flotilla::cli::scancel_command},
    Command{"sinfo", "nodes and GPUs by state and type", flotilla::cli::sinfo_command},
    Command{"sacct", "accounting of jobs (elapsed, GPU-seconds, exit code)",
            flotilla::cli::sacct_command},
    Command{"scontrol", "show job N | shutdown", flotilla::cli::scontrol_command},
    Command{"meter", "metering records (meter export --from T1 --to T2 -o FILE.jsonl)",
            flotilla::cli::meter_command},
    Command{"rewards", "an epoch's rewards (rewards --epoch E ... | verify|explain|proof)",
            flotilla::cli::rewards_command},
    Command{"probe", "inventory, measure and prove this node's GPUs (needs CUDA)",
            flotilla::cli::probe_command},
    Command{"settle", "pay a statement on Solana, exactly once (settle STATEMENT ... | status | verify)",
            flotilla::cli::settle_command},
};

void usage(std::ostream& out) {
  out << "usage: flotilla COMMAND [ARGS...]   (flotilla COMMAND --help for its options)\n\n"
         "commands:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (c.name != name) continue;
    try {
      return c.run(flotilla::cli::Args(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      // Option parsing errors from Boost and anything unexpected: one line.
      std::cerr << "flotilla " << name << ": " << e.what() << '\n';
      return 2;
    }
  }
  std::cerr << "flotilla: unknown command '" << name << "' (flotilla --help lists them)\n";
  return 2;
}
