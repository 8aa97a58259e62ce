// The GPU catalog: what each GPU model can do, with a source for every number.
// The numbers live in gpu_catalog.toml (embedded into the binary at build time);
// this file only gives them a type. Immutable after loading; safe to share
// between threads.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/status.h"

namespace flotilla {

using GpuTypeId = std::uint16_t;
constexpr std::size_t kMaxGpuTypes = 64;
// Acceptable GPU types of a request; empty means "any".
using GpuTypeSet = std::bitset<kMaxGpuTypes>;

struct GpuType {
  std::string name;                  // canonical, e.g. "H100-SXM"
  std::vector<std::string> aliases;  // Slurm gres types and trace names, e.g. "h100"
  // Device names the CUDA runtime and NVML report, e.g. "NVIDIA H100 80GB HBM3":
  // how a probe report (executor/probe_report.h) finds its catalog type.
  std::vector<std::string> cuda_names;
  double bf16_tflops = 0;  // dense tensor BF16 (FP16 where the GPU has no BF16)
  double mem_gb = 0;
  double mem_bw_gbs = 0;                       // GB/s
  double intra_node_gbs = 0;                   // GPU<->GPU inside a node (NVLink or PCIe), GB/s
  bool nvlink = false;                         // NVLink/P2P between GPUs of one domain
  double watts = 0;                            // board power
  std::uint64_t price_micro_usd_per_hour = 0;  // typical rental price, default for fleets
  std::string source;
};

class GpuCatalog {
 public:
  // The catalog shipped with flotilla (scheduler/gpu_catalog.toml).
  static const GpuCatalog& builtin();
  // Parses a catalog in the same TOML layout; `origin` names it in errors.
  static Result<GpuCatalog> parse(std::string_view toml_text, const std::string& origin);

  // Case-insensitive lookup by name or alias.
  std::optional<GpuTypeId> find(std::string_view name) const;
  // Exact lookup by CUDA device name (GpuType::cuda_names).
  std::optional<GpuTypeId> find_cuda_name(std::string_view cuda_name) const;
  const GpuType& at(GpuTypeId id) const { return types_.at(id); }
  std::size_t size() const { return types_.size(); }
  const std::vector<GpuType>& types() const { return types_; }

  // A copy in which type `id` is `type`: other figures under the same names
  // (a calibration from measurements), so ids and lookups stay as they were.
  GpuCatalog with_type(GpuTypeId id, GpuType type) const;

 private:
  std::vector<GpuType> types_;
};

}  // namespace flotilla
