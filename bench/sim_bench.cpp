// Simulator throughput: simulated jobs per second, one thread, EASY backfill,
// best-fit placement, on the built-in synthetic workload with arrivals packed
// so the offered load is 90% of the fleet's GPUs (an idle fleet would only
// measure the fast path). Also the Philly trace (82,247 jobs) on a fleet of
// its size: 8-GPU nodes enough to carry its GPU-hours at 80% utilization.
//
//   sim_easy/800k/jobs:1000000   the figure (>= 200,000 jobs/s)
//   sim_easy/800k/jobs:N         growth with job count
//   sim_easy/FLEET/jobs:100000   growth with fleet size (1k, 100k, 800k GPUs)
//   sim_philly                   the real trace (< 1 s)
// Counters: items_per_second (simulated jobs), max_rss_mb (the process's peak).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "bench/bench_fleets.h"
#include "simulator/simulation.h"
#include "traces/sia_csv.h"
#include "traces/synthetic.h"

namespace flotilla {
namespace {

double max_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

using bench::fleet_of_size;

double gpu_hours(const Trace& t) {
  double h = 0;
  for (const TraceJob& j : t.jobs) {
    h += static_cast<double>(j.work.reference_runtime.count()) / 3600.0 *
         (j.shape.gpu_milli < 1000 ? j.shape.gpu_milli / 1000.0 : j.shape.total_gpus);
  }
  return h;
}

// The synthetic workload, its arrivals squeezed to offer `load` of the fleet.
Trace loaded_workload(std::uint64_t jobs, const Fleet& fleet, double load) {
  SyntheticOptions o;
  o.jobs = jobs;
  const double hours = gpu_hours(synthetic_workload(o)) / (load * fleet.total_gpus());
  o.span = Seconds{static_cast<std::int64_t>(hours * 3600)};
  return synthetic_workload(o);
}

void run(benchmark::State& st, const Fleet& fleet, const Trace& trace) {
  SimOptions o;
  o.scheduler.queue = "easy";
  std::uint64_t completed = 0;
  for (auto _ : st) {
    Result<SimResult> r = simulate(fleet, trace, PerfModel::builtin(), o);
    if (!r) {
      st.SkipWithError(r.message().c_str());
      return;
    }
    completed = 0;
    for (const JobRecord& j : r->jobs) completed += j.outcome == JobOutcome::kCompleted;
    benchmark::DoNotOptimize(r->jobs.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * trace.jobs.size()));
  st.counters["jobs"] = static_cast<double>(trace.jobs.size());
  st.counters["completed"] = static_cast<double>(completed);
  st.counters["gpus"] = fleet.total_gpus();
  st.counters["max_rss_mb"] = max_rss_mb();
}

[[maybe_unused]] const bool registered = [] {
  for (std::uint64_t jobs : {10'000ull, 100'000ull, 1'000'000ull}) {
    benchmark::RegisterBenchmark(("sim_easy/800k/jobs:" + std::to_string(jobs)).c_str(),
                                 [jobs](benchmark::State& st) {
                                   const Fleet& f = fleet_of_size("800k");
                                   const Trace t = loaded_workload(jobs, f, 0.9);
                                   run(st, f, t);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  for (const char* size : {"1k", "100k"}) {
    benchmark::RegisterBenchmark((std::string("sim_easy/") + size + "/jobs:100000").c_str(),
                                 [size](benchmark::State& st) {
                                   const Fleet& f = fleet_of_size(size);
                                   const Trace t = loaded_workload(100'000, f, 0.9);
                                   run(st, f, t);
                                 })
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
  benchmark::RegisterBenchmark(
      "sim_philly",
      [](benchmark::State& st) {
        const std::string path =
            std::string(FLOTILLA_SOURCE_DIR) + "/../shared/data/traces/philly-sia.csv";
        if (!std::filesystem::exists(path)) {
          st.SkipWithError(("missing " + path).c_str());
          return;
        }
        Result<Trace> trace = read_philly(path);
        if (!trace) {
          st.SkipWithError(trace.message().c_str());
          return;
        }
        // 8-GPU V100 boxes, 32 to a switch, enough for the trace's GPU-hours at 80%.
        double span_h =
            static_cast<double>((trace->jobs.back().submit - trace->jobs.front().submit).count()) /
            3600;
        const auto gpus = static_cast<std::uint32_t>(gpu_hours(*trace) / span_h / 0.8);
        const std::uint32_t nodes = std::max<std::uint32_t>(16, gpus / 8 + 1);
        FleetBuilder b("philly-sized");
        b.add_region("r", Link{100, 1});
        b.add_site("s", Link{100, 1});
        Node n;
        n.gpu_type = *GpuCatalog::builtin().find("V100-SXM2-16GB");
        n.gpu_count = 8;
        n.nvlink_domain_size = 8;
        n.price_micro_usd_per_gpu_hour = 250'000;
        n.watts = 8 * 300;
        n.uplink = Link{100, 2};
        for (std::uint32_t i = 0; i < nodes; ++i) {
          if (i % 32 == 0) b.add_switch("sw" + std::to_string(i / 32), Link{3200, 1});
          if (!b.add_node("n" + std::to_string(i), n, "philly")) std::abort();
        }
        const Fleet fleet = std::move(b.build()).value();
        run(st, fleet, *trace);
      })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  return true;
}();

}  // namespace
}  // namespace flotilla

BENCHMARK_MAIN();
