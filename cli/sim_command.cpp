// `flotilla sim`: the capacity planner's question, "which fleet finishes this
// workload faster, cheaper, greener?". Each fleet replays the same trace on
// the scheduling core; the runs are independent and go in parallel (TBB).
// With no arguments: 8xH100, 800xRTX4090-home and 800xRTX4090-dc on the
// built-in synthetic workload.
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/sim_calibration.h"
#include "cli/sim_sweep.h"
#include "scheduler/fleet_file.h"
#include "simulator/metrics.h"
#include "simulator/perf_model.h"
#include "simulator/report.h"
#include "simulator/results_h5.h"
#include "simulator/simulation.h"
#include "traces/read_trace.h"
#include "traces/synthetic.h"

extern const std::string_view flotilla_fleet_8xh100_toml;
extern const std::string_view flotilla_fleet_800xrtx4090_home_toml;
extern const std::string_view flotilla_fleet_800xrtx4090_dc_toml;

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;

constexpr std::uint64_t kDefaultJobs = 3000;

Result<Trace> load_trace(const std::string& spec) {
  // synthetic[:JOBS[:SEED]] runs the built-in generator.
  if (spec.rfind("synthetic", 0) == 0) {
    SyntheticOptions o;
    o.jobs = kDefaultJobs;
    unsigned long long jobs = 0, seed = 0;
    if (std::sscanf(spec.c_str(), "synthetic:%llu:%llu", &jobs, &seed) == 2) {
      o.jobs = jobs;
      o.seed = seed;
    } else if (std::sscanf(spec.c_str(), "synthetic:%llu", &jobs) == 1) {
      o.jobs = jobs;
    } else if (spec != "synthetic") {
      return Status::error("bad workload '" + spec + "' (synthetic[:JOBS[:SEED]] or a trace file)");
    }
    return synthetic_workload(o);
  }
  return read_trace(spec);
}

// --gpu-mtbf-hours: "H" for every GPU type, "TYPE=H" for one, comma-separated
// ("2000,RTX4090=500": 2,000 hours, but 500 for RTX 4090s). H >= 0; 0: never.
Status parse_mtbf(const std::string& spec, const GpuCatalog& catalog, SimOptions& sim) {
  std::size_t from = 0;
  while (from <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', from), spec.size());
    const std::string item = spec.substr(from, comma - from);
    from = comma + 1;
    const std::size_t eq = item.find('=');
    const std::string hours = eq == std::string::npos ? item : item.substr(eq + 1);
    double h = -1;
    try {
      std::size_t used = 0;
      h = std::stod(hours, &used);
      if (used != hours.size()) h = -1;
    } catch (const std::exception&) {
    }
    if (!(h >= 0) || !std::isfinite(h)) {
      return Status::error("--gpu-mtbf-hours: '" + item + "' is not [TYPE=]HOURS with HOURS >= 0");
    }
    if (eq == std::string::npos) {
      sim.gpu_mtbf_hours = h;
      continue;
    }
    const std::string name = item.substr(0, eq);
    std::optional<GpuTypeId> type = catalog.find(name);
    if (!type) return Status::error("--gpu-mtbf-hours: unknown GPU type '" + name + "'");
    sim.gpu_mtbf_hours_by_type[*type] = h;
  }
  return Status::ok();
}

std::string hours(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

void print_summary(const std::string& fleet, std::uint64_t gpus, const Summary& s) {
  std::printf("fleet %s (%llu GPUs)\n", fleet.c_str(), static_cast<unsigned long long>(gpus));
  std::printf("  jobs %llu: %llu completed, %llu rejected, %llu failed\n",
              static_cast<unsigned long long>(s.jobs), static_cast<unsigned long long>(s.completed),
              static_cast<unsigned long long>(s.rejected),
              static_cast<unsigned long long>(s.failed));
  std::printf(
      "  makespan %s   JCT mean %s  p50 %s  p99 %s   wait mean %s   bounded slowdown %.2f\n",
      hours(s.makespan_s).c_str(), hours(s.mean_jct_s).c_str(), hours(s.p50_jct_s).c_str(),
      hours(s.p99_jct_s).c_str(), hours(s.mean_wait_s).c_str(), s.bounded_slowdown);
  std::printf("  utilization %.1f%%   cost $%.2f   energy %.1f kWh\n", 100 * s.utilization,
              s.cost_usd, s.energy_kwh);
  for (const auto& [reason, n] : s.rejections) {
    std::printf("  rejected %llu: %s\n", static_cast<unsigned long long>(n), reason.c_str());
  }
}

// Per workload class: which fleet is best on time (mean JCT), cost and energy,
// among the fleets that ran every job of the class.
void print_verdict(const std::vector<SimResult>& results) {
  std::vector<std::array<Summary, kWorkloadClasses>> by_class;
  for (const SimResult& r : results) by_class.push_back(summarize_by_class(r));
  std::printf("\nverdict by workload class (best among fleets that ran all its jobs)\n");
  std::printf("  %-15s %6s  %-30s %-30s %-30s\n", "class", "jobs", "fastest (mean JCT)", "cheapest",
              "least energy");
  for (int c = 0; c < kWorkloadClasses; ++c) {
    const std::uint64_t jobs = by_class.front()[c].jobs;
    if (jobs == 0) continue;
    int fast = -1, cheap = -1, green = -1;
    for (int f = 0; f < static_cast<int>(results.size()); ++f) {
      const Summary& s = by_class[f][c];
      if (s.completed != s.jobs) continue;
      auto better = [&](int best, double Summary::*field) {
        return best < 0 || s.*field < by_class[best][c].*field;
      };
      if (better(fast, &Summary::mean_jct_s)) fast = f;
      if (better(cheap, &Summary::cost_usd)) cheap = f;
      if (better(green, &Summary::energy_kwh)) green = f;
    }
    auto name = [&](int f, double Summary::*field, const char* unit, double scale) {
      if (f < 0) return std::string("none ran them all");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s (%.1f %s)", results[f].fleet.c_str(),
                    by_class[f][c].*field / scale, unit);
      return std::string(buf);
    };
    std::printf("  %-15s %6llu  %-30s %-30s %-30s\n",
                std::string(workload_class_name(static_cast<WorkloadClass>(c))).c_str(),
                static_cast<unsigned long long>(jobs),
                name(fast, &Summary::mean_jct_s, "h", 3600).c_str(),
                name(cheap, &Summary::cost_usd, "$", 1).c_str(),
                name(green, &Summary::energy_kwh, "kWh", 1).c_str());
  }
}

// --out DIR: DIR/results.h5 and the report (simulator/report.h) beside it.
Status write_out_dir(const std::string& dir, const std::vector<SimResult>& runs,
                     const std::string& trace_origin) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::error(dir + ": cannot create directory: " + ec.message());
  if (Status s = write_results_h5(dir + "/results.h5", runs, trace_origin); !s) return s;
  return write_report(dir, runs, ReportOptions{.trace_origin = trace_origin});
}

}  // namespace

int sim_command(const Args& args) {
  po::options_description opts(
      "usage: flotilla sim [options]\n\n"
      "Replays a workload on each fleet and compares time, cost and energy.\n"
      "Without --fleet: 8xH100, 800xRTX4090-home and 800xRTX4090-dc; without\n"
      "--trace: the built-in synthetic workload");
  std::vector<std::string> fleet_paths;
  std::string trace_spec = "synthetic";
  SimOptions sim;
  std::string outages;
  std::string sweep_path;
  std::string out_dir;
  std::vector<std::string> probe_paths;
  std::string mtbf;
  opts.add_options()("help,h", "show this help")("fleet", po::value(&fleet_paths),
                                                 "fleet file (TOML); repeat to compare fleets")(
      "trace", po::value(&trace_spec)->default_value(trace_spec),
      "trace file (SWF, Philly/Sia/Alibaba CSV, flotilla .h5) or synthetic[:JOBS[:SEED]]")(
      "policy", po::value(&sim.scheduler.queue)->default_value("easy"),
      "queue policy: fcfs, easy, conservative")(
      "priority", po::value(&sim.scheduler.priority.order)->default_value("fifo"),
      "queue order: fifo, multifactor")(
      "placement", po::value(&sim.scheduler.placement)->default_value("best-fit"),
      "placement policy: best-fit, first-fit, random, fgd")(
      "seed", po::value(&sim.seed)->default_value(1), "seed for placement and failures")(
      "outages", po::value(&outages), "CSV of injected node outages: node,down_s,up_s")(
      "gpu-mtbf-hours", po::value(&mtbf)->default_value("0"),
      "draw node failures with this mean time between failures per GPU, in hours (0: none); "
      "per GPU type as TYPE=HOURS, comma-separated: 2000,RTX4090=500")(
      "max-requeues", po::value(&sim.max_requeues)->default_value(sim.max_requeues),
      "a job requeued this many times by node failures fails at the next one (Slurm's "
      "MaxBatchRequeue)")(
      "plan-by-time-limit", po::bool_switch(&sim.plan_by_time_limit),
      "plan running jobs to their time limits, as Slurm's backfill does (default: by the "
      "model's true run times)")(
      "catalog-from", po::value(&probe_paths),
      "calibrate the GPU catalog from `flotilla probe --json` output: the probed GPU types take "
      "their compute, memory and intra-node figures from the measured BF16 GEMM, device copy "
      "and all-reduce (simulator/catalog_calibration.h); repeat for several files")(
      "sweep", po::value(&sweep_path),
      "run every cell of a sweep file (TOML, see simulator/sweep.h); under mpirun, across ranks")(
      "json", "print one JSON object: the summary per fleet")(
      "out", po::value(&out_dir),
      "write DIR/results.h5 (every job, HDF5) and DIR/report.html with SVG plots (gnuplot)");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << '\n';
    return 0;
  }
  po::notify(vm);
  if (!sweep_path.empty()) {
    // The sweep file names fleets, traces, policies, seeds and its output;
    // an option given beside it would be silently ignored, so refuse it.
    for (const auto& [name, value] : vm) {
      if (name != "sweep" && name != "json" && !value.defaulted()) {
        std::cerr << "flotilla sim: --" << name << " does not apply with --sweep ("
                  << (name == "catalog-from" ? "sweeps run on the built-in catalog"
                                             : "the sweep file says it")
                  << ")\n";
        return 2;
      }
    }
    return run_sweep(sweep_path, vm.count("json") != 0);
  }
  sim.scheduler.placer.seed = sim.seed;

  // The fleets and the model share one catalog: the built-in one, or its
  // calibrated copy, which must stay where it is while they live.
  const GpuCatalog* catalog = &GpuCatalog::builtin();
  const PerfModel* model = &PerfModel::builtin();
  std::optional<CatalogCalibration> calibration;
  std::optional<PerfModel> calibrated_model;
  if (!probe_paths.empty()) {
    Result<CatalogCalibration> c = calibrate_from_probes(probe_paths, PerfModel::builtin());
    if (!c) {
      std::cerr << c.message() << '\n';
      return 1;
    }
    calibration.emplace(std::move(c).value());
    calibrated_model.emplace(PerfModel::builtin().on_catalog(calibration->catalog));
    catalog = &calibration->catalog;
    model = &*calibrated_model;
  }

  if (Status st = parse_mtbf(mtbf, *catalog, sim); !st) {
    std::cerr << "flotilla sim: " << st.message() << '\n';
    return 2;
  }

  std::vector<Fleet> fleets;
  if (fleet_paths.empty()) {
    for (auto [text, name] :
         {std::pair{flotilla_fleet_8xh100_toml, "8xH100.toml"},
          std::pair{flotilla_fleet_800xrtx4090_home_toml, "800xRTX4090-home.toml"},
          std::pair{flotilla_fleet_800xrtx4090_dc_toml, "800xRTX4090-dc.toml"}}) {
      Result<Fleet> f = parse_fleet(text, name, *catalog);
      if (!f) throw std::logic_error("built-in fleet: " + f.message());
      fleets.push_back(std::move(f).value());
    }
  }
  for (const std::string& path : fleet_paths) {
    Result<Fleet> f = load_fleet_file(path, *catalog);
    if (!f) {
      std::cerr << f.message() << '\n';
      return 1;
    }
    fleets.push_back(std::move(f).value());
  }
  Result<Trace> trace = load_trace(trace_spec);
  if (!trace) {
    std::cerr << trace.message() << '\n';
    return 1;
  }

  // A progress bar on a terminal, once a run takes more than a second.
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const auto began = std::chrono::steady_clock::now();
  std::mutex progress_lock;
  std::vector<double> done(fleets.size(), 0);
  std::vector<Result<SimResult>> results(fleets.size(), Status::error("not run"));
  tbb::parallel_for(std::size_t{0}, fleets.size(), [&](std::size_t i) {
    SimOptions o = sim;
    if (!outages.empty()) {
      Result<std::vector<NodeOutage>> read = read_outages(outages, fleets[i]);
      if (!read) {
        results[i] = read.status();
        return;
      }
      o.outages = std::move(read).value();
    }
    if (tty) {
      o.progress = [&, i](double share) {
        std::lock_guard lock(progress_lock);
        done[i] = share;
        if (std::chrono::steady_clock::now() - began < std::chrono::seconds(1)) return;
        double sum = 0;
        for (double d : done) sum += d;
        const int pct = static_cast<int>(100 * sum / static_cast<double>(done.size()));
        std::fprintf(stderr, "\r[%-50s] %3d%%",
                     std::string(static_cast<std::size_t>(pct / 2), '#').c_str(), pct);
      };
    }
    results[i] = simulate(fleets[i], *trace, *model, o);
  });
  if (tty && std::chrono::steady_clock::now() - began >= std::chrono::seconds(1)) {
    std::fprintf(stderr, "\r%60s\r", "");
  }

  std::vector<SimResult> ok;
  for (Result<SimResult>& r : results) {
    if (!r) {
      std::cerr << r.message() << '\n';
      return 1;
    }
    ok.push_back(std::move(r).value());
  }
  if (!out_dir.empty()) {
    if (Status s = write_out_dir(out_dir, ok, trace->origin); !s) {
      std::cerr << s.message() << '\n';
      return 1;
    }
    std::cerr << "wrote " << out_dir << "/results.h5 and " << out_dir << "/report.html\n";
  }
  if (vm.count("json")) {
    nlohmann::json out{{"trace", trace->origin}, {"fleets", nlohmann::json::array()}};
    // Only a calibrated run has the key, so the default output stays as it was.
    if (calibration) out["calibration"] = calibration_json(*calibration);
    for (const SimResult& r : ok) {
      nlohmann::json f = summary_json(summarize(r));
      f["fleet"] = r.fleet;
      out["fleets"].push_back(f);
    }
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  if (calibration) std::printf("%s", calibration_text(*calibration).c_str());
  std::printf("workload %s: %zu jobs; policy %s, placement %s\n\n", trace->origin.c_str(),
              trace->jobs.size(), sim.scheduler.queue.c_str(), sim.scheduler.placement.c_str());
  for (const SimResult& r : ok) {
    print_summary(r.fleet, r.fleet_gpus, summarize(r));
    std::printf("\n");
  }
  print_verdict(ok);
  return 0;
}

}  // namespace flotilla::cli
