// The executor's MPI loop (see agent.h).
#include "executor/agent.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <variant>
#include <vector>

#include "executor/inventory.h"
#include "executor/job_runner.h"
#include "executor/nvml.h"
#include "executor/probe_report.h"
#include "executor/proof_throughput_class.h"
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

// Fills the probe fields of `reg` from the report at `path`. A missing or bad
// report is recorded, not fatal: the node still runs jobs on its declared GPUs.
void add_probe(protocol::Register& reg, const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    reg.probe_error = path + ": " + std::strerror(errno);
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  const Result<ProbeReport> report = parse_probe_report(text.str(), path);
  if (!report) {
    reg.probe_error = report.message();
    return;
  }
  reg.probe_source = path;
  const GpuCatalog& catalog = GpuCatalog::builtin();
  for (const ProbeMeasurement& m : report->measurements) {
    protocol::ProbeGpuSummary g{.bf16_tflops = m.best_gemm_tflops(),
                                .device_copy_gbps = m.device_copy.rate() / 1e9};
    for (const ProbeGpu& gpu : report->gpus) {
      if (gpu.index == m.gpu) g.name = gpu.name;
    }
    if (std::optional<GpuTypeId> c =
            proof::fastest_class_reached(catalog, g.bf16_tflops, proof::ThroughputRule{})) {
      g.throughput_class = catalog.at(*c).name;
    }
    reg.probe_gpus.push_back(std::move(g));
  }
}

}  // namespace

Result<std::string> probe_report_path(const std::string& pattern, const std::string& host,
                                      int rank) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      out += pattern[i];
      continue;
    }
    const char c = i + 1 < pattern.size() ? pattern[++i] : '\0';
    if (c == 'h') {
      out += host;
    } else if (c == 'r') {
      out += std::to_string(rank);
    } else if (c == '%') {
      out += '%';
    } else {
      return Status::error("--probe-report " + pattern + ": only %h, %r and %% may follow %");
    }
  }
  return out;
}

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
  if (!options.probe_report.empty()) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    // ctld_command checked the pattern before MPI started.
    if (Result<std::string> path = probe_report_path(options.probe_report, host, rank)) {
      add_probe(reg, *path);
    } else {
      reg.probe_error = path.message();
    }
  }
  if (Status s = protocol::mpi_send(0, protocol::to_json(reg)); !s) return s;
  const auto launch = [&](const protocol::Launch& l) -> Status {
    if (Status s = runner.launch(l, now_ms()); !s) {
      protocol::JobExit e{.job_id = l.job_id, .run = l.run, .exit_code = 1, .error = s.message()};
      return protocol::mpi_send(0, protocol::to_json(e));
    }
    return Status::ok();
  };
  std::int64_t next_heartbeat = now_ms() + options.heartbeat.count();
  // A turn that comes more than a heartbeat interval after the one before
  // is a stall (SIGSTOP, a paused VM, starvation): the controller may have
  // marked this node down meanwhile and requeued its jobs, and launches it
  // posted before that are still to be read here. They are held until the
  // controller answers the stall (protocol::Stalled); a cancel read
  // meanwhile drops its job's held launch.
  std::uint64_t stalls = 0, resumed = 0;
  std::vector<protocol::Launch> held;
  auto last_turn = std::chrono::steady_clock::now();
  while (!g_stop) {
    bool busy = false;
    const auto turn = std::chrono::steady_clock::now();
    if (turn - last_turn > options.heartbeat) {
      if (Status s = protocol::mpi_send(0, protocol::to_json(protocol::Stalled{++stalls})); !s)
        return s;
    }
    last_turn = turn;
    while (auto in = protocol::mpi_poll()) {
      busy = true;
      Result<protocol::Message> m = protocol::parse_message(in->text);
      if (!m) continue;  // the controller only sends what it parsed itself
      if (std::holds_alternative<protocol::Shutdown>(*m)) return Status::ok();
      if (auto* l = std::get_if<protocol::Launch>(&*m)) {
        if (resumed < stalls) {
          held.push_back(std::move(*l));
        } else if (Status s = launch(*l); !s) {
          return s;
        }
      } else if (auto* cancel = std::get_if<protocol::Cancel>(&*m)) {
        std::erase_if(held, [&](const protocol::Launch& h) { return h.job_id == cancel->job_id; });
        runner.cancel(cancel->job_id, now_ms());
      } else if (auto* resume = std::get_if<protocol::Resume>(&*m)) {
        resumed = std::max(resumed, resume->stall);
        if (resumed < stalls) continue;  // stalled again since: wait for that answer
        for (const protocol::Launch& h : held) {
          if (Status s = launch(h); !s) return s;
        }
        held.clear();
      } else if (auto* start = std::get_if<protocol::MeterStart>(&*m)) {
        runner.meter_start(*start);
      } else if (auto* end = std::get_if<protocol::MeterEnd>(&*m)) {
        if (std::optional<std::uint64_t> j = runner.meter_end(*end)) {
          const protocol::MeterReport report{
              .job_id = end->job_id, .run = end->run, .energy_j = *j};
          if (Status s = protocol::mpi_send(0, protocol::to_json(report)); !s) return s;
        }
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
