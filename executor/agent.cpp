// The executor's MPI loop (see agent.h).
#include "executor/agent.h"

#include <unistd.h>

#include <csignal>
#include <thread>
#include <variant>

#include "executor/inventory.h"
#include "executor/job_runner.h"
#include "executor/nvml.h"
#include "scheduler/protocol.h"

namespace flotilla::executor {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop(int) {
  g_stop = 1;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Status run_agent(const AgentOptions& options) {
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
  // Opened once for the executor's life: inventory at registration, energy
  // counters at every job's launch and end.
  const Result<std::unique_ptr<Nvml>> nvml = Nvml::open();
  JobRunner runner(nvml ? nvml->get() : nullptr);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  protocol::Register reg{.hostname = host};
  if (Result<HostInventory> inv = read_host_inventory(nvml)) {
    reg.cores = inv->cores;
    reg.cpus = inv->cpus;
    reg.memory_bytes = inv->memory_bytes;
    reg.gpus = inv->gpus;
    reg.gpu_source = inv->gpu_source;
  } else {
    // The fleet file's GPUs still stand; the node shows 0 cores and memory.
    reg.gpu_source = "declared (" + inv.message() + ")";
  }
  if (Status s = protocol::mpi_send(0, protocol::to_json(reg)); !s) return s;
  std::int64_t next_heartbeat = now_ms() + options.heartbeat.count();
  while (!g_stop) {
    bool busy = false;
    while (auto in = protocol::mpi_poll()) {
      busy = true;
      Result<protocol::Message> m = protocol::parse_message(in->text);
      if (!m) continue;  // the controller only sends what it parsed itself
      if (std::holds_alternative<protocol::Shutdown>(*m)) return Status::ok();
      if (auto* launch = std::get_if<protocol::Launch>(&*m)) {
        if (Status s = runner.launch(*launch, now_ms()); !s) {
          protocol::JobExit e{.job_id = launch->job_id, .exit_code = 1, .error = s.message()};
          if (Status sent = protocol::mpi_send(0, protocol::to_json(e)); !sent) return sent;
        }
      } else if (auto* cancel = std::get_if<protocol::Cancel>(&*m)) {
        runner.cancel(cancel->job_id, now_ms());
      }
    }
    const std::int64_t now = now_ms();
    runner.tick(now);
    for (const protocol::JobExit& e : runner.reap()) {
      busy = true;
      if (Status s = protocol::mpi_send(0, protocol::to_json(e)); !s) return s;
    }
    if (now >= next_heartbeat) {
      if (Status s =
              protocol::mpi_send(0, protocol::to_json(protocol::Heartbeat{runner.running()}));
          !s) {
        return s;
      }
      next_heartbeat = now + options.heartbeat.count();
    }
    // Polling keeps launches within a millisecond or two without a thread
    // blocked in MPI (Open MPI's blocking receive spins a core anyway).
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::error("executor stopped by a signal");
}

}  // namespace flotilla::executor
