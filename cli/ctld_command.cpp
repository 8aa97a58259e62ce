// flotilla ctld --fleet FILE --state DIR [--socket PATH] [...]
// Run under mpirun (or srun): rank 0 becomes the controller, ranks 1..N the
// executors of the fleet's nodes in order.
#include <mpi.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.h"
#include "executor/agent.h"
#include "scheduler/ctld.h"

namespace flotilla::cli {

namespace po = boost::program_options;

int ctld_command(const Args& args) {
  po::options_description own(
      "mpirun -np N+1 flotilla ctld --fleet FILE --state DIR [OPTIONS]\n"
      "rank 0 is the controller; rank r runs the jobs of the fleet's node r-1");
  std::int64_t heartbeat_timeout = 10, heartbeat_ms = 1000, kill_wait = 30, minute_ms = 60'000,
               register_wait = 30;
  own.add_options()("help,h", "show this help")("fleet", po::value<std::string>(),
                                                "fleet file (TOML)")(
      "state", po::value<std::string>(), "state directory: job store, lock, spool")(
      "socket", po::value<std::string>(), "client socket (default STATE/ctld.sock)")(
      "queue", po::value<std::string>()->default_value("easy"), "fcfs, easy or conservative")(
      "heartbeat-timeout", po::value(&heartbeat_timeout)->default_value(10),
      "seconds of executor silence before its node is down")(
      "heartbeat-interval-ms", po::value(&heartbeat_ms)->default_value(1000),
      "milliseconds between an executor's heartbeats")(
      "kill-wait", po::value(&kill_wait)->default_value(30),
      "seconds from SIGTERM to SIGKILL at a time limit or scancel")(
      "register-wait", po::value(&register_wait)->default_value(30),
      "seconds to wait at start for the executors")(
      "limit-minute-ms", po::value(&minute_ms)->default_value(60'000),
      "milliseconds one minute of --time lasts (tests compress time)")(
      "probe-report", po::value<std::string>(),
      "PATTERN: each executor's `flotilla probe --json` file, reported at registration "
      "(%h: its hostname, %r: its MPI rank)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(own).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << own;
    return 0;
  }
  if (!vm.count("fleet") || !vm.count("state")) {
    std::cerr << "flotilla ctld: --fleet and --state are required (flotilla ctld --help)\n";
    return 2;
  }
  if (heartbeat_timeout <= 0 || heartbeat_ms <= 0 || kill_wait < 0 || minute_ms <= 0 ||
      register_wait < 0) {
    std::cerr << "flotilla ctld: times must be positive\n";
    return 2;
  }
  // A timeout within one interval would mark healthy nodes down between beats.
  if (heartbeat_ms * 2 > heartbeat_timeout * 1000) {
    std::cerr << "flotilla ctld: --heartbeat-timeout must be at least two "
                 "--heartbeat-interval-ms\n";
    return 2;
  }
  const std::string probe_report =
      vm.count("probe-report") ? vm["probe-report"].as<std::string>() : "";
  if (Result<std::string> p = executor::probe_report_path(probe_report, "", 0); !p) {
    std::cerr << "flotilla ctld: " << p.message() << '\n';
    return 2;
  }
  CtldOptions o{.fleet_path = vm["fleet"].as<std::string>(),
                .state_dir = vm["state"].as<std::string>(),
                .socket_path = vm.count("socket") ? vm["socket"].as<std::string>() : "",
                .queue = vm["queue"].as<std::string>(),
                .heartbeat_timeout = std::chrono::seconds(heartbeat_timeout),
                .kill_wait = std::chrono::seconds(kill_wait),
                .limit_minute = std::chrono::milliseconds(minute_ms),
                .register_wait = std::chrono::seconds(register_wait)};
  MPI_Init(nullptr, nullptr);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const Status s = rank == 0
                       ? run_controller(o)
                       : executor::run_agent({.heartbeat = std::chrono::milliseconds(heartbeat_ms),
                                              .probe_report = probe_report});
  if (!s) {
    std::cerr << "flotilla ctld (rank " << rank << "): " << s.message() << '\n';
    // Without its controller an executor has nothing to do, and the other way round.
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
  MPI_Finalize();
  return 0;
}

}  // namespace flotilla::cli
