// `flotilla fleet show FILE [--json]`: loads a fleet file and prints what it
// holds (nodes, GPUs by type, providers, topology, peak BF16, cost, power).
// `flotilla fleet import-slurm --conf slurm.conf ... -o FLEET.toml`: writes the
// fleet a Slurm cluster's own configuration describes (slurm/slurm_conf.h).
#include <boost/program_options.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include <unistd.h>

#include "cli/commands.h"
#include "scheduler/fleet.h"
#include "scheduler/fleet_file.h"
#include "slurm/slurm_conf.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;

struct Summary {
  std::uint64_t nodes = 0, gpus = 0;
  std::map<std::string, std::uint64_t> gpus_by_type;  // catalog name -> count
  std::uint64_t providers = 0, regions = 0, sites = 0, switches = 0;
  double peak_bf16_tflops = 0;
  std::uint64_t micro_usd_per_hour = 0;  // exact: fleet_file bounds price and size
  std::uint64_t watts = 0;
};

Summary summarize(const Fleet& fleet) {
  Summary s;
  s.nodes = fleet.nodes().size();
  s.gpus = fleet.total_gpus();
  s.providers = fleet.providers().size();
  s.regions = fleet.regions().size();
  s.sites = fleet.sites().size();
  s.switches = fleet.switches().size();
  std::vector<std::uint64_t> by_type(fleet.catalog().size(), 0);
  for (const Node& n : fleet.nodes()) {
    by_type[n.gpu_type] += n.gpu_count;
    s.micro_usd_per_hour += n.price_micro_usd_per_gpu_hour * n.gpu_count;
    s.watts += n.watts;
  }
  for (GpuTypeId t : fleet.gpu_types_present()) {
    const GpuType& type = fleet.catalog().at(t);
    s.gpus_by_type[type.name] = by_type[t];
    s.peak_bf16_tflops += type.bf16_tflops * static_cast<double>(by_type[t]);
  }
  return s;
}

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 191492.34 -> "191,492.3" (one decimal), for the human-readable summary.
std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  const std::string s = buf;
  const std::size_t dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  if (whole.empty() || whole[0] == '-') return s;
  return grouped(std::stoull(whole)) + (dot == std::string::npos ? "" : s.substr(dot));
}

// "1 region", "4 regions".
std::string count(std::uint64_t n, const std::string& one, const std::string& many) {
  return grouped(n) + " " + (n == 1 ? one : many);
}

void print_text(const Fleet& fleet, const std::string& path, const Summary& s) {
  std::cout << "fleet " << fleet.name() << " (" << path << ")\n"
            << "  nodes      " << grouped(s.nodes) << '\n'
            << "  GPUs       " << grouped(s.gpus) << '\n';
  for (const auto& [type, count] : s.gpus_by_type) {
    std::cout << "    " << type << std::string(type.size() < 16 ? 16 - type.size() : 1, ' ')
              << grouped(count) << '\n';
  }
  std::cout << "  providers  " << grouped(s.providers) << '\n'
            << "  topology   " << count(s.regions, "region", "regions") << ", "
            << count(s.sites, "site", "sites") << ", " << count(s.switches, "switch", "switches")
            << '\n'
            << "  peak BF16  " << fixed(s.peak_bf16_tflops / 1000, 1) << " PFLOPS (dense)\n"
            << "  cost       $" << fixed(static_cast<double>(s.micro_usd_per_hour) / 1e6, 2)
            << " per hour\n"
            << "  power      " << fixed(static_cast<double>(s.watts) / 1000, 1)
            << " kW at full load\n";
}

void print_json(const Fleet& fleet, const Summary& s) {
  nlohmann::ordered_json j;
  j["name"] = fleet.name();
  j["nodes"] = s.nodes;
  j["gpus"] = s.gpus;
  j["gpus_by_type"] = s.gpus_by_type;
  j["providers"] = s.providers;
  j["regions"] = s.regions;
  j["sites"] = s.sites;
  j["switches"] = s.switches;
  j["peak_bf16_pflops"] = s.peak_bf16_tflops / 1000;
  j["usd_per_hour"] = static_cast<double>(s.micro_usd_per_hour) / 1e6;
  j["micro_usd_per_hour"] = s.micro_usd_per_hour;
  j["kw"] = static_cast<double>(s.watts) / 1000;
  std::cout << j.dump() << '\n';
}

int import_slurm(const Args& args) {
  po::options_description options(
      "usage: flotilla fleet import-slurm --conf slurm.conf [--gres gres.conf]\n"
      "         [--topology topology.conf|topology.yaml] [--provider P] -o FLEET.toml\n\n"
      "Writes the fleet a Slurm cluster's slurm.conf (NodeName, Gres, partitions), gres.conf\n"
      "and topology.conf or topology.yaml (switch tree or blocks) describe. Settings that do\n"
      "not shape the fleet are listed at the end of the file; what cannot be mapped is an\n"
      "error.\n\noptions");
  options.add_options()                                                               //
      ("help,h", "print this help")                                                   //
      ("conf", po::value<std::string>(), "slurm.conf")                                //
      ("gres", po::value<std::string>(), "gres.conf")                                 //
      ("topology", po::value<std::string>(), "topology.conf or .yaml")                //
      ("provider", po::value<std::string>(), "who gets paid (default: ClusterName)")  //
      ("output,o", po::value<std::string>(), "fleet file to write");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options << '\n';
    return 0;
  }
  if (!vm.count("conf") || !vm.count("output")) {
    std::cerr << "usage: flotilla fleet import-slurm --conf slurm.conf -o FLEET.toml"
                 "   (flotilla fleet import-slurm --help)\n";
    return 2;
  }
  auto opt = [&](const char* name) {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
  };
  Result<SlurmCluster> cluster = read_slurm_cluster({opt("conf"), opt("gres"), opt("topology")});
  if (!cluster) {
    std::cerr << cluster.message() << '\n';
    return 1;
  }
  Result<FleetExport> fleet = slurm_fleet_toml(*cluster, {opt("provider")});
  if (!fleet) {
    std::cerr << fleet.message() << '\n';
    return 1;
  }
  // The written file must load; a failure here is a bug in the export.
  const std::string out = opt("output");
  if (Result<Fleet> check = parse_fleet(fleet->toml, out); !check) {
    std::cerr << "internal error: imported fleet does not load: " << check.message() << '\n';
    return 1;
  }
  const std::string temp = out + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(temp);
    f << fleet->toml;
    f.close();
    if (!f) {
      std::cerr << out << ": cannot write\n";
      std::filesystem::remove(temp);
      return 1;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, out, ec);
  if (ec) {
    std::cerr << out << ": cannot write: " << ec.message() << '\n';
    std::filesystem::remove(temp);
    return 1;
  }
  for (const std::string& note : fleet->notes) std::cerr << "note: " << note << '\n';
  std::cerr << "wrote " << out << " (" << cluster->nodes.size() - fleet->cpu_only_nodes
            << " GPU nodes; " << cluster->ignored.size()
            << " settings ignored, listed in the file)\n";
  return 0;
}

}  // namespace

int fleet_command(const Args& args) {
  if (!args.empty() && args[0] == "import-slurm")
    return import_slurm(Args(args.begin() + 1, args.end()));
  po::options_description options(
      "usage: flotilla fleet show FILE [--json]\n\n"
      "Loads a fleet file (examples/fleets/README.md describes the format) and prints\n"
      "its nodes, GPUs by type, providers, topology, peak dense BF16 throughput, cost\n"
      "per hour and power at full load.\n\noptions");
  options.add_options()              //
      ("help,h", "print this help")  //
      ("json", "print one JSON object instead of text");
  po::options_description positional_args;
  positional_args.add_options()                     //
      ("action", po::value<std::string>(), "show")  //
      ("file", po::value<std::string>(), "fleet file");
  po::options_description all;
  all.add(options).add(positional_args);
  po::positional_options_description positional;
  positional.add("action", 1).add("file", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  po::notify(vm);

  if (vm.count("help")) {
    std::cout << options << '\n';
    return 0;
  }
  if (!vm.count("action") || vm["action"].as<std::string>() != "show" || !vm.count("file")) {
    std::cerr << "usage: flotilla fleet show FILE [--json]   (flotilla fleet --help)\n";
    return 2;
  }
  const std::string path = vm["file"].as<std::string>();
  Result<Fleet> fleet = load_fleet_file(path);
  if (!fleet) {
    std::cerr << fleet.message() << '\n';
    return 1;
  }
  const Summary s = summarize(*fleet);
  if (vm.count("json")) {
    print_json(*fleet, s);
  } else {
    print_text(*fleet, path, s);
  }
  return 0;
}

}  // namespace flotilla::cli
