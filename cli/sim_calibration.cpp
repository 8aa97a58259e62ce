#include "cli/sim_calibration.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "executor/probe_report.h"

namespace flotilla::cli {
namespace {

Result<ProbeReport> read_probe_report(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open probe report");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::error(path + ": cannot read probe report");
  return parse_probe_report(text.str(), path);
}

const ProbeGpu* find_gpu(const ProbeReport& r, int index) {
  for (const ProbeGpu& g : r.gpus) {
    if (g.index == index) return &g;
  }
  return nullptr;
}

Result<ProbedHost> probed_host(const ProbeReport& r, const std::string& origin) {
  ProbedHost host{.origin = origin, .gpus = {}, .all_reduce = std::nullopt};
  for (std::size_t i = 0; i < r.measurements.size(); ++i) {
    const ProbeMeasurement& m = r.measurements[i];
    const ProbeGpu* g = find_gpu(r, m.gpu);
    if (!g) {
      return Status::error(origin + ": measurements[" + std::to_string(i) + "]: GPU " +
                           std::to_string(m.gpu) + " is not in 'gpus'");
    }
    host.gpus.push_back(ProbedGpu{.index = m.gpu,
                                  .cuda_name = g->name,
                                  .gemm_tflops = m.best_gemm_tflops(),
                                  .copy_gbs = m.device_copy.rate() / 1e9});
  }
  // The probe all-reduces over GPUs 0..n-1 for n = 1, 2, ...
  // (executor/cuda/probe_measure.cpp); the widest ring is the node's.
  const ProbeAllReduce* widest = nullptr;
  for (const ProbeAllReduce& a : r.all_reduce) {
    if (a.gpus >= 2 && (!widest || a.gpus > widest->gpus)) widest = &a;
  }
  if (widest) {
    ProbedAllReduce a{.cuda_names = {}, .bus_gbs = widest->bus_bandwidth() / 1e9};
    for (int k = 0; k < widest->gpus; ++k) {
      const ProbeGpu* g = find_gpu(r, k);
      if (!g) {
        return Status::error(origin + ": all_reduce over " + std::to_string(widest->gpus) +
                             " GPUs, but 'gpus' has no GPU " + std::to_string(k));
      }
      a.cuda_names.push_back(g->name);
    }
    host.all_reduce = std::move(a);
  }
  return host;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Result<CatalogCalibration> calibrate_from_probes(const std::vector<std::string>& paths,
                                                 const PerfModel& model) {
  std::vector<ProbedHost> hosts;
  for (const std::string& path : paths) {
    Result<ProbeReport> report = read_probe_report(path);
    if (!report) return report.status();
    Result<ProbedHost> host = probed_host(*report, path);
    if (!host) return host.status();
    hosts.push_back(std::move(host).value());
  }
  return calibrate_catalog(model, hosts);
}

std::string calibration_text(const CatalogCalibration& c) {
  std::string out;
  for (const TypeCalibration& t : c.types) {
    char link[96];
    if (t.intra_node_gbs) {
      std::snprintf(link, sizeof link, "intra-node %.0f GB/s all-reduce bus (catalog %.0f)",
                    *t.intra_node_gbs, t.catalog_intra_node_gbs);
    } else {
      std::snprintf(link, sizeof link, "intra-node not measured (catalog %.0f GB/s kept)",
                    t.catalog_intra_node_gbs);
    }
    char line[512];
    std::snprintf(line, sizeof line,
                  "catalog calibrated from %s: %s (%u GPUs) BF16 GEMM %.1f TFLOP/s (catalog "
                  "%.1f), copy %.0f GB/s (catalog %.0f), %s\n",
                  joined(t.origins).c_str(), c.catalog.at(t.type).name.c_str(), t.gpus,
                  t.gemm_tflops, t.catalog_gemm_tflops, t.copy_gbs, t.catalog_copy_gbs, link);
    out += line;
  }
  return out;
}

nlohmann::json calibration_json(const CatalogCalibration& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const TypeCalibration& t : c.types) {
    const GpuType& g = c.catalog.at(t.type);
    out.push_back({{"gpu_type", g.name},
                   {"probes", t.origins},
                   {"gpus", t.gpus},
                   {"gemm_tflops", t.gemm_tflops},
                   {"catalog_gemm_tflops", t.catalog_gemm_tflops},
                   {"copy_gbs", t.copy_gbs},
                   {"catalog_copy_gbs", t.catalog_copy_gbs},
                   {"intra_node_gbs",
                    t.intra_node_gbs ? nlohmann::json(*t.intra_node_gbs) : nlohmann::json(nullptr)},
                   {"catalog_intra_node_gbs", t.catalog_intra_node_gbs},
                   {"bf16_tflops", g.bf16_tflops},
                   {"mem_bw_gbs", g.mem_bw_gbs}});
  }
  return out;
}

}  // namespace flotilla::cli
