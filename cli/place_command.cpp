// `flotilla place --fleet FILE [--fleet FILE...] [--policy P] [--seed S]
// [--json] SCRIPT...`: parses each #SBATCH script, places the jobs one after
// another on each idle fleet with the chosen policy, and prints where each
// landed (GPU type, the topology level that holds it, nodes, price) and what
// fragmentation is left, fleet by fleet.
#include <bit>
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "scheduler/fleet_file.h"
#include "scheduler/hostlist.h"
#include "scheduler/placer.h"
#include "slurm/batch_script.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;

struct Outcome {
  std::string script, job_name;
  std::optional<Placement> placement;
  bool fits_idle_fleet = true;  // false: no amount of waiting helps
  std::vector<std::string> nodes;
  std::uint64_t micro_usd_per_hour = 0;
};

// Places the jobs, in order, on an idle `fleet`; prints a table, or appends
// one JSON object to `json_fleets` when it is given.
void place_on(const Fleet& fleet, const std::vector<std::pair<std::string, JobRequest>>& jobs,
              const std::string& policy, const PlacerOptions& options,
              nlohmann::json* json_fleets) {
  std::unique_ptr<Placer> placer = std::move(make_placer(policy, options)).value();
  FleetState state(fleet);
  const FleetState idle(fleet);
  std::vector<Outcome> outcomes;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Outcome o{.script = jobs[i].first, .job_name = jobs[i].second.job_name};
    Result<PlacementRequest> request = resolve_placement(jobs[i].second, fleet.catalog());
    o.placement = placer->choose(state, *request);
    if (o.placement) {
      state.take(*o.placement);
      for (const NodeAlloc& a : o.placement->allocs) {
        const Node& n = fleet.nodes()[a.node];
        o.nodes.push_back(fleet.node_name(a.node));
        const std::uint64_t gpus =
            a.milli < 1000 ? 0 : static_cast<std::uint64_t>(std::popcount(a.gpu_mask));
        // A share pays its part of the GPU-hour.
        o.micro_usd_per_hour += a.milli < 1000 ? n.price_micro_usd_per_gpu_hour * a.milli / 1000
                                               : n.price_micro_usd_per_gpu_hour * gpus;
      }
    } else {
      o.fits_idle_fleet = placer->choose(idle, *request).has_value();
    }
    outcomes.push_back(std::move(o));
  }
  const std::vector<TaskShape> shapes = default_workload();
  const std::vector<FragmentationRow> frag = fragmentation_report(state, shapes);

  if (json_fleets) {
    nlohmann::json out{{"fleet", fleet.name()}, {"jobs", nlohmann::json::array()}};
    for (const Outcome& o : outcomes) {
      nlohmann::json j{{"script", o.script},
                       {"job_name", o.job_name},
                       {"placed", o.placement.has_value()},
                       {"fits_idle_fleet", o.fits_idle_fleet}};
      if (o.placement) {
        j["gpu_type"] = fleet.catalog().at(o.placement->gpu_type).name;
        j["gpus"] = o.placement->gpus();
        j["gpu_milli"] = o.placement->allocs[0].milli;
        j["level"] = level_name(o.placement->level);
        j["nodes"] = o.nodes;
        j["nodelist"] = compress_hostlist(o.nodes);
        j["usd_per_hour"] = static_cast<double>(o.micro_usd_per_hour) / 1e6;
      }
      out["jobs"].push_back(j);
    }
    out["free_gpus"] = state.free_whole_gpus();
    for (const FragmentationRow& r : frag) {
      out["fragmentation"].push_back(
          {{"shape", r.shape}, {"free_gpus", r.free_gpus}, {"unusable_gpus", r.unusable_gpus}});
    }
    json_fleets->push_back(std::move(out));
    return;
  }
  std::printf("fleet %s, policy %s\n\n", fleet.name().c_str(), policy.c_str());
  std::printf("%-28s %-14s %5s  %-7s %10s  %s\n", "job", "gpu type", "gpus", "level", "$/hour",
              "nodes");
  for (const Outcome& o : outcomes) {
    const std::string name = o.job_name.empty() ? o.script : o.job_name;
    if (!o.placement) {
      std::printf("%-28s %-14s %5s  %-7s %10s  %s\n", name.c_str(), "-", "-", "-", "-",
                  o.fits_idle_fleet ? "pending: no room now"
                                    : "never: no GPUs of this fleet match the request");
      continue;
    }
    const Placement& p = *o.placement;
    const std::string gpus = p.allocs[0].milli < 1000
                                 ? std::to_string(p.allocs[0].milli / 1000.0).substr(0, 5)
                                 : std::to_string(p.gpus());
    std::printf("%-28s %-14s %5s  %-7s %10.2f  %s\n", name.c_str(),
                fleet.catalog().at(p.gpu_type).name.c_str(), gpus.c_str(),
                std::string(level_name(p.level)).c_str(),
                static_cast<double>(o.micro_usd_per_hour) / 1e6,
                compress_hostlist(o.nodes).c_str());
  }
  std::printf("\nfree GPUs left: %llu of %u; free capacity a task of each shape cannot use:\n",
              static_cast<unsigned long long>(state.free_whole_gpus()), fleet.total_gpus());
  for (const FragmentationRow& r : frag) {
    std::printf("  %-9s %10.1f of %.1f GPUs\n", r.shape.c_str(), r.unusable_gpus, r.free_gpus);
  }
}

}  // namespace

int place_command(const Args& args) {
  po::options_description opts(
      "usage: flotilla place --fleet FILE [options] SCRIPT...\n\n"
      "Places #SBATCH job scripts, in order, on an idle fleet and shows where each lands");
  std::vector<std::string> fleet_paths;
  std::string policy = "best-fit";
  std::uint64_t seed = 1;
  opts.add_options()("help,h", "show this help")("fleet", po::value(&fleet_paths)->required(),
                                                 "fleet file (TOML); repeat to compare fleets")(
      "policy", po::value(&policy)->default_value(policy),
      "placement policy: best-fit, first-fit, random, fgd, packing")(
      "seed", po::value(&seed)->default_value(seed), "seed for the random policy")(
      "json", "print one JSON object instead of a table");
  po::options_description hidden;
  std::vector<std::string> scripts;
  hidden.add_options()("script", po::value(&scripts));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("script", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  if (vm.count("help")) {
    std::cout << opts << '\n';
    return 0;
  }
  po::notify(vm);
  if (scripts.empty()) throw po::error("at least one job script is needed");

  std::vector<Fleet> fleets;
  for (const std::string& path : fleet_paths) {
    Result<Fleet> fleet = load_fleet_file(path);
    if (!fleet) {
      std::cerr << fleet.message() << '\n';
      return 1;
    }
    fleets.push_back(std::move(fleet).value());
  }
  PlacerOptions options;
  options.seed = seed;
  if (!make_placer(policy, options)) throw po::error(make_placer(policy, options).message());

  // Read every script first: a bad one stops the run before anything is placed.
  std::vector<std::pair<std::string, JobRequest>> jobs;
  for (const std::string& path : scripts) {
    Result<slurm::BatchScript> script = slurm::read_batch_script(path);
    if (!script) {
      std::cerr << script.message() << '\n';
      return 1;
    }
    Result<slurm::SbatchJob> job = slurm::sbatch_job(*script);
    if (!job) {
      std::cerr << job.message() << '\n';
      return 1;
    }
    if (Result<PlacementRequest> r = resolve_placement(job->request, GpuCatalog::builtin()); !r) {
      std::cerr << path << ": " << r.message() << '\n';
      return 1;
    }
    jobs.emplace_back(path, job->request);
  }

  nlohmann::json out{{"policy", policy}, {"fleets", nlohmann::json::array()}};
  for (const Fleet& fleet : fleets) {
    if (!vm.count("json") && &fleet != &fleets.front()) std::printf("\n");
    place_on(fleet, jobs, policy, options, vm.count("json") ? &out["fleets"] : nullptr);
  }
  if (vm.count("json")) std::cout << out.dump(2) << '\n';
  return 0;
}

}  // namespace flotilla::cli
