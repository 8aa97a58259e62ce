// `flotilla probe [--json] [--out FILE] [--quick]`: what the GPUs of this node
// really are (inventory through the CUDA runtime and NVML) and what they
// measure (BF16 GEMM, copy bandwidth, pinned host<->device, NCCL all-reduce).
// `flotilla probe --prove [--n N] [--claim CLASS]`: a proof of compute on GPU
// 0 against the verifier, the same exchange a remote verifier runs.
// The CUDA work lives in a module loaded at run time (executor/probe_module.h).
#include <dlfcn.h>

#include <unistd.h>
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "executor/probe_module.h"
#include "executor/probe_report.h"
#include "executor/proof_throughput_class.h"
#include "executor/proof_verifier.h"
#include "scheduler/gpu_catalog.h"

namespace flotilla::cli {
namespace {

namespace po = boost::program_options;

constexpr const char* kUsage =
    "usage: flotilla probe [--json] [--out FILE] [--quick]\n"
    "       flotilla probe --prove [--n N] [--rows K] [--claim CLASS] [--device D] [--json]\n\n"
    "Inventories and measures this node's GPUs (needs CUDA, an NVIDIA driver and\n"
    "NVML). --prove runs a proof of compute: a BF16 n x n GEMM on the GPU, checked\n"
    "on the CPU, its time judged against CLASS from the GPU catalog.\n";

#ifdef FLOTILLA_PROBE_MODULE
// The module next to this program; its error as a message, never a crash.
Result<const ProbeModule*> load_module() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::error("cannot find this program's own path: " + ec.message());
  const std::string path = (exe.parent_path() / kProbeModuleFile).string();
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    return Status::error(std::string("cannot load the CUDA probe module: ") + ::dlerror());
  }
  using Entry = const ProbeModule* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, kProbeModuleSymbol));
  const ProbeModule* module = entry ? entry() : nullptr;
  if (!module || module->abi != kProbeModuleAbi) {
    return Status::error(path + " is not the probe module of this build");
  }
  return module;  // stays loaded until exit: the report's code lives in it
}
#else
Result<const ProbeModule*> load_module() {
  return Status::error(
      "built without CUDA (nvcc was not found when flotilla was configured); rebuild on a "
      "machine with the CUDA toolkit to probe GPUs");
}
#endif

// Writes `text` to `path` through a temporary file, so a reader never sees half.
Status write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!(out.flush())) return Status::error(path + ": cannot write");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Status::error(path + ": cannot write");
  }
  return Status::ok();
}

void print_text(const ProbeReport& r) {
  const GpuCatalog& catalog = GpuCatalog::builtin();
  std::printf("host %s: CUDA driver %d, runtime %d, NVIDIA driver %s\n", r.host.c_str(),
              r.cuda_driver_version, r.cuda_runtime_version, r.nvml_driver_version.c_str());
  for (const ProbeGpu& g : r.gpus) {
    std::printf(
        "GPU %d  %s  %.1f GiB  %d SMs  cc %d.%d  SM %d MHz  mem %d MHz  PCIe gen %d x%d (max gen "
        "%d x%d)  NVLink %d links  %s\n",
        g.index, g.name.c_str(), static_cast<double>(g.memory_bytes) / (1u << 30), g.sm_count,
        g.compute_capability_major, g.compute_capability_minor, g.max_sm_clock_mhz,
        g.max_memory_clock_mhz, g.pcie_generation, g.pcie_width, g.pcie_max_generation,
        g.pcie_max_width, g.nvlink_active_links, g.pci_bus_id.c_str());
  }
  if (r.p2p.size() > 1) {
    std::printf("P2P (row reads column):\n");
    for (std::size_t i = 0; i < r.p2p.size(); ++i) {
      std::printf("  GPU %zu ", i);
      for (std::size_t j = 0; j < r.p2p.size(); ++j) {
        std::printf(" %s", i == j ? "-" : (r.p2p[i][j] ? "Y" : "n"));
      }
      std::printf("\n");
    }
  }
  for (const ProbeMeasurement& m : r.measurements) {
    for (const ProbeGemm& g : m.gemm) {
      std::printf("GPU %d  GEMM BF16 %u^3  %.1f TFLOP/s\n", m.gpu, g.n, g.timing.rate() / 1e12);
    }
    const auto fastest =
        proof::fastest_class_reached(catalog, m.best_gemm_tflops(), proof::ThroughputRule{});
    std::printf(
        "GPU %d  GEMM check max rel. error %.2e  copy %.0f GB/s  host->device %.1f GB/s  "
        "device->host %.1f GB/s  class reached: %s\n",
        m.gpu, m.gemm_max_relative_error, m.device_copy.rate() / 1e9, m.host_to_device.rate() / 1e9,
        m.device_to_host.rate() / 1e9, fastest ? catalog.at(*fastest).name.c_str() : "none");
  }
  for (const ProbeAllReduce& a : r.all_reduce) {
    std::printf("all-reduce %d GPU(s), %.0f MiB: bus bandwidth %.1f GB/s\n", a.gpus,
                static_cast<double>(a.bytes) / (1u << 20), a.bus_bandwidth() / 1e9);
  }
}

int prove(const ProbeModule& module, std::uint32_t n, std::uint32_t rows, const std::string& claim,
          int device, bool json) {
  Result<std::unique_ptr<proof::Prover>> prover = module.gpu_prover(device);
  if (!prover) {
    std::cerr << "flotilla probe: " << prover.message() << '\n';
    return 1;
  }
  proof::SteadyClock clock;
  proof::Verifier verifier(GpuCatalog::builtin(), clock, {.rows = rows});
  Result<proof::Verdict> verdict = proof::prove_and_verify(verifier, **prover, n, claim);
  if (!verdict) {
    std::cerr << "flotilla probe: " << verdict.message() << '\n';
    return 1;
  }
  if (json) {
    std::cout << proof::to_json(*verdict).dump(2) << '\n';
  } else {
    std::printf(
        "proof of compute n=%u on GPU %d: %s (%s); %.1f TFLOP/s in %.3f ms; claimed %s, "
        "fastest class reached %s\n",
        n, device, verdict->accepted ? "accepted" : "REJECTED", verdict->reason.c_str(),
        verdict->measured_tflops, static_cast<double>(verdict->elapsed.count()) / 1e6,
        verdict->claimed_class.c_str(),
        verdict->fastest_class.empty() ? "none" : verdict->fastest_class.c_str());
  }
  return verdict->accepted ? 0 : 1;
}

}  // namespace

int probe_command(const Args& args) {
  po::options_description opts("options");
  opts.add_options()("help,h", "this help")("json", "print JSON")(
      "out", po::value<std::string>(), "also write the JSON report to FILE")(
      "quick", "fewer sizes and repeats")("prove", "run a proof of compute")(
      "n", po::value<std::uint32_t>()->default_value(16384), "proof matrix side")(
      "rows", po::value<std::uint32_t>()->default_value(8), "proof rows opened")(
      "claim", po::value<std::string>()->default_value("H100-SXM"), "claimed catalog class")(
      "device", po::value<int>()->default_value(0), "CUDA device of the proof");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kUsage << '\n' << opts;
    return 0;
  }
  const Result<const ProbeModule*> module = load_module();
  if (!module) {
    std::cerr << "flotilla probe: " << module.message() << '\n';
    return 1;
  }
  if (vm.count("prove")) {
    return prove(**module, vm["n"].as<std::uint32_t>(), vm["rows"].as<std::uint32_t>(),
                 vm["claim"].as<std::string>(), vm["device"].as<int>(), vm.count("json") > 0);
  }
  const Result<ProbeReport> report = (*module)->probe({.quick = vm.count("quick") > 0});
  if (!report) {
    std::cerr << "flotilla probe: " << report.message() << '\n';
    return 1;
  }
  const std::string text = to_json(*report).dump(2) + "\n";
  if (vm.count("out")) {
    if (Status s = write_file(vm["out"].as<std::string>(), text); !s) {
      std::cerr << "flotilla probe: " << s.message() << '\n';
      return 1;
    }
  }
  if (vm.count("json")) {
    std::cout << text;
  } else {
    print_text(*report);
  }
  return 0;
}

}  // namespace flotilla::cli
