#include "simulator/catalog_calibration.h"

#include <algorithm>

namespace flotilla {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Everything measured on one type, across files.
struct Samples {
  std::vector<std::string> origins;
  std::vector<double> gemm_tflops, copy_gbs, bus_gbs;
};

void add_origin(Samples& s, const std::string& origin) {
  if (std::find(s.origins.begin(), s.origins.end(), origin) == s.origins.end()) {
    s.origins.push_back(origin);
  }
}

std::string gpu_name(const ProbedGpu& g) {
  return "GPU " + std::to_string(g.index) + " '" + g.cuda_name + "'";
}

}  // namespace

Result<CatalogCalibration> calibrate_catalog(const PerfModel& model,
                                             const std::vector<ProbedHost>& hosts) {
  const GpuCatalog& catalog = model.catalog();
  std::vector<Samples> by_type(catalog.size());
  for (const ProbedHost& host : hosts) {
    if (host.gpus.empty()) return Status::error(host.origin + ": no GPU measurements");
    for (const ProbedGpu& g : host.gpus) {
      const std::optional<GpuTypeId> type = catalog.find_cuda_name(g.cuda_name);
      if (!type) {
        return Status::error(host.origin + ": " + gpu_name(g) +
                             ": no catalog GPU type has this CUDA name (cuda_names in "
                             "scheduler/gpu_catalog.toml)");
      }
      if (!(g.gemm_tflops > 0)) {
        return Status::error(host.origin + ": " + gpu_name(g) + ": no BF16 GEMM was timed");
      }
      if (!(g.copy_gbs > 0)) {
        return Status::error(host.origin + ": " + gpu_name(g) + ": no device copy was timed");
      }
      Samples& s = by_type[*type];
      add_origin(s, host.origin);
      s.gemm_tflops.push_back(g.gemm_tflops);
      s.copy_gbs.push_back(g.copy_gbs);
    }
    if (!host.all_reduce) continue;
    const ProbedAllReduce& a = *host.all_reduce;
    if (!(a.bus_gbs > 0)) {
      return Status::error(host.origin + ": the all-reduce over " +
                           std::to_string(a.cuda_names.size()) + " GPUs was not timed");
    }
    // Across GPUs of several types the ring runs at the slowest link, which
    // belongs to no one type: such an all-reduce calibrates nothing.
    std::optional<GpuTypeId> type;
    for (const std::string& name : a.cuda_names) {
      const std::optional<GpuTypeId> t = catalog.find_cuda_name(name);
      if (!t || (type && *t != *type)) {
        type.reset();
        break;
      }
      type = t;
    }
    if (type) by_type[*type].bus_gbs.push_back(a.bus_gbs);
  }

  const PerfConstants& c = model.constants();
  CatalogCalibration out{.catalog = catalog, .types = {}};
  for (GpuTypeId id = 0; id < catalog.size(); ++id) {
    const Samples& s = by_type[id];
    if (s.gemm_tflops.empty()) continue;
    const GpuType& before = catalog.at(id);
    TypeCalibration t{
        .type = id,
        .origins = s.origins,
        .gpus = static_cast<unsigned>(s.gemm_tflops.size()),
        .gemm_tflops = median(s.gemm_tflops),
        .catalog_gemm_tflops = before.bf16_tflops * c.gemm_fraction_of_peak,
        .copy_gbs = median(s.copy_gbs),
        .catalog_copy_gbs = before.mem_bw_gbs * c.inference.mem_bw_efficiency,
        .intra_node_gbs = std::nullopt,
        .catalog_intra_node_gbs = before.intra_node_gbs,
    };
    GpuType after = before;
    after.bf16_tflops = t.gemm_tflops / c.gemm_fraction_of_peak;
    after.mem_bw_gbs = t.copy_gbs / c.inference.mem_bw_efficiency;
    if (!s.bus_gbs.empty()) {
      t.intra_node_gbs = median(s.bus_gbs);
      after.intra_node_gbs = *t.intra_node_gbs;
    }
    std::string files;
    for (const std::string& o : s.origins) files += (files.empty() ? "" : ", ") + o;
    after.source = "calibrated from " + files + " (flotilla probe); catalog: " + before.source;
    out.catalog = out.catalog.with_type(id, std::move(after));
    out.types.push_back(std::move(t));
  }
  return out;
}

}  // namespace flotilla
