// Calibrating the GPU catalog from what `flotilla probe --json` measured
// (`flotilla sim --catalog-from FILE`). The catalog holds datasheet peaks and
// the performance model runs at shares of them (perf_model.toml), so each
// probed type gets the figures at which those shares give what was measured:
//   bf16_tflops    = median best BF16 GEMM / [calibration] gemm_fraction_of_peak
//   mem_bw_gbs     = median device copy / [inference] mem_bw_efficiency
//   intra_node_gbs = median NCCL all-reduce bus bandwidth, from probes that
//                    all-reduced over 2 or more GPUs, all of this type
// The model's ring all-reduce over links of B takes 2(n-1)/n S/B, and NCCL
// defines its bus bandwidth as 2(n-1)/n S/t, so the bus bandwidth is that B.
// Medians run over every GPU of the type (every all-reduce, for the link) in
// every file. Types no probe measured keep their catalog figures.
//
// The probe report itself (executor/probe_report.h) is read by the CLI, which
// hands over what is below; the simulator stays free of executor/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "scheduler/status.h"
#include "simulator/perf_model.h"

namespace flotilla {

// One measured GPU, reduced to what calibration reads.
struct ProbedGpu {
  int index = 0;           // CUDA ordinal, for messages
  std::string cuda_name;   // e.g. "NVIDIA H100 80GB HBM3"
  double gemm_tflops = 0;  // best BF16 GEMM; 0: none timed
  double copy_gbs = 0;     // device copy, bytes read + written; 0: not timed
};

// An NCCL all-reduce across several GPUs of one host.
struct ProbedAllReduce {
  std::vector<std::string> cuda_names;  // of the GPUs it spanned
  double bus_gbs = 0;                   // NCCL bus bandwidth; 0: not timed
};

// One probe file.
struct ProbedHost {
  std::string origin;  // the file; starts every error about it
  std::vector<ProbedGpu> gpus;
  // The all-reduce over the most GPUs, when the probe ran one over 2 or more.
  std::optional<ProbedAllReduce> all_reduce;
};

// What calibration did to one type: the medians measured, beside what the
// uncalibrated catalog and model expect the probe to measure.
struct TypeCalibration {
  GpuTypeId type = 0;
  std::vector<std::string> origins;  // the files that measured it
  unsigned gpus = 0;
  double gemm_tflops = 0, catalog_gemm_tflops = 0;  // catalog: peak x gemm_fraction_of_peak
  double copy_gbs = 0, catalog_copy_gbs = 0;        // catalog: mem_bw x mem_bw_efficiency
  std::optional<double> intra_node_gbs;             // none: no all-reduce of this type
  double catalog_intra_node_gbs = 0;
};

// The calibrated catalog and what changed. Give `catalog` to the fleets and to
// PerfModel::on_catalog; it must outlive both (do not move it after).
struct CatalogCalibration {
  GpuCatalog catalog;
  std::vector<TypeCalibration> types;  // in catalog order
};

// Calibrates `model`'s catalog from `hosts`. Errors, one line starting with
// the file: a file without measured GPUs; a CUDA name that no catalog type
// lists in its cuda_names (scheduler/gpu_catalog.toml); a GPU without a GEMM
// or copy timing; an all-reduce that was not timed.
Result<CatalogCalibration> calibrate_catalog(const PerfModel& model,
                                             const std::vector<ProbedHost>& hosts);

}  // namespace flotilla
