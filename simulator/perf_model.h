// The performance model: how long a job runs on a given placement, whether its
// model state fits the GPUs it would get, and how fast each workload class runs
// on each GPU type. Every constant lives in perf_model.toml (embedded into the
// binary) with its source; GPU numbers come from the fleet's GPU catalog.
//
// Two kinds of job:
//  - trace jobs (Work without ModelWork): the measured reference runtime,
//    scaled by the class's relative speed on the target vs the reference GPU,
//    plus a ring all-reduce of the class's assumed gradients every step when
//    the placement spans several nodes;
//  - model jobs (ModelWork): step time from FLOPs, bytes and links. The layout
//    (tensor x pipeline x data parallel) is chosen per placement: every layout
//    that fits memory is costed and the fastest kept, as a user tuning
//    Megatron-LM or DT-FM's scheduler would. Tensor parallel groups stay inside
//    one NVLink domain. Ranks follow the placement's order (allocs in order,
//    GPUs of a node by index), the way a launcher numbers ranks from a
//    hostfile, so a placement that lists nodes subtree by subtree keeps either
//    each pipeline or each data-parallel group inside a subtree.
//
// Links are not shared: each transfer gets the slowest link on its path
// (Fleet::path), as DT-FM's cost model assumes; contention on a shared uplink is
// not modelled. Energy is left to the simulator: gpu_watts() and
// energy_joules() give it what it needs.
//
// Immutable after construction; safe to share between threads. The catalog
// passed to parse() must outlive the model and be the fleets' catalog.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "scheduler/fleet.h"
#include "scheduler/gpu_catalog.h"
#include "scheduler/placement.h"
#include "scheduler/status.h"
#include "traces/trace.h"

namespace flotilla {

// The constants of perf_model.toml.
struct PerfConstants {
  GpuTypeId reference_gpu = 0;
  struct Training {
    double mfu = 0.40;
    double state_bytes_per_param = 17;
    double lora_bytes_per_param = 2;
    double gradient_bytes_per_param = 2;
    double activation_bytes_per_value = 2;
    double micro_batch_sequences = 1;
  } training;
  struct Inference {
    double mfu = 0.40;
    double mem_bw_efficiency = 0.90;
    double weight_bytes_per_param = 2;
    double kv_bytes_per_value = 2;
    double kv_head_fraction = 0.25;
    double memory_utilization = 0.90;
    double max_sequences = 256;
    double prompt_fraction = 0.5;
  } inference;
  // [calibration]: the share of the datasheet BF16 peak a bare GEMM reaches.
  double gemm_fraction_of_peak = 0.80;
  double width_per_layer = 128;
  double pcie_gbs = 32;
  struct Class {
    double compute_fraction = 0.5;
    bool trains = true;
    double gradient_gb_per_step = 0;
    double step_s = 1;
    std::string source;
  };
  std::array<Class, kWorkloadClasses> classes;
};

// How a model job is spread over its GPUs.
struct ParallelLayout {
  unsigned tensor = 1;    // ranks of one tensor-parallel group (one NVLink domain)
  unsigned pipeline = 1;  // stages
  unsigned data = 1;      // replicas
  // true: each stage's data-parallel group takes consecutive ranks (gradients
  // stay inside a subtree, activations cross); false: each pipeline replica
  // takes consecutive ranks (activations stay inside, gradients cross).
  bool stage_major = true;
};

// One optimizer step (training) or one decode step (inference) of a model job,
// with its parts, for reports and tests.
struct StepEstimate {
  ParallelLayout layout;
  double step_s = 0;         // wall time of one step
  double compute_s = 0;      // training: compute of one micro-batch on one stage
  double pipeline_s = 0;     // training: all micro-batches through the pipeline, bubble included
  double activation_s = 0;   // training: one micro-batch's activations over the slowest boundary
  double data_comm_s = 0;    // training: gradient all-reduce (slowest group)
  double tensor_comm_s = 0;  // tensor-parallel all-reduces per micro-batch (training) or step
  double steps = 0;          // training: optimizer steps of the whole job
  double sequences = 0;      // inference: sequences decoded together per replica
  double tokens_per_s = 0;   // whole job, all replicas
};

class PerfModel {
 public:
  // The model shipped with flotilla (simulator/perf_model.toml) on the
  // built-in catalog.
  static const PerfModel& builtin();
  // Parses a model file; errors are "ORIGIN:LINE: what".
  static Result<PerfModel> parse(std::string_view toml_text, const std::string& origin,
                                 const GpuCatalog& catalog = GpuCatalog::builtin());

  // The same model on `measured`: catalog() with other figures for some types
  // (GpuCatalog::with_type, a calibration). `measured` must outlive the result
  // and be the fleets' catalog. Trace jobs' reference runtimes were measured on
  // the trace's own GPUs, so those stay at catalog() figures: only the GPUs
  // they run on change.
  PerfModel on_catalog(const GpuCatalog& measured) const;

  // Wall time of `job` on `p` (rounded up to whole seconds, at least 1 s for
  // any work). Errors: empty placement, model state that does not fit, no
  // layout that fits.
  Result<Seconds> runtime(const TraceJob& job, const Placement& p, const Fleet& fleet) const;
  // At most what runtime() gives, when it succeeds, for any placement of
  // `gpus` whole GPUs of `type` (a share of one GPU when `milli` < 1000):
  // the costing with free transfers and every group allowed on NVLink. An
  // error where runtime() fails for every such placement.
  Result<Seconds> min_runtime(const TraceJob& job, GpuTypeId type, unsigned gpus,
                              std::uint16_t milli) const;
  // The step of a model job on `p` under the fastest layout that fits.
  Result<StepEstimate> model_step(const ModelWork& work, WorkloadClass cls, const Placement& p,
                                  const Fleet& fleet) const;

  // Why `job` cannot run on `gpus` GPUs of `type` (model state sharded over all
  // of them if shardable, else on one), or nullopt. Trace jobs always fit.
  std::optional<std::string> rejection(const TraceJob& job, GpuTypeId type, unsigned gpus) const;
  // Fewest GPUs of `type` that hold the job's model state; 0 if no number does
  // (an unshardable job larger than one GPU). 1 for trace jobs.
  unsigned min_gpus(const TraceJob& job, GpuTypeId type) const;

  // Speed of `cls` on `type` relative to the reference GPU at its catalog
  // figures (1.0 there unless calibrated), from the class's mix of
  // compute-bound and memory-bound time.
  double relative_speed(WorkloadClass cls, GpuTypeId type) const;

  // Board power of one GPU of `type` (catalog watts).
  double gpu_watts(GpuTypeId type) const;
  // Energy of a job held on `p` for `runtime`: each node's watts times the
  // share of its GPUs the job holds (a fractional GPU counts by its share).
  static double energy_joules(const Placement& p, const Fleet& fleet, Seconds runtime);

  const PerfConstants& constants() const { return c_; }
  const GpuCatalog& catalog() const { return *catalog_; }

 private:
  // A trace job's reference runtime at the speed of its class on `type`.
  double compute_seconds(const TraceJob& job, GpuTypeId type) const;
  // Speed of `cls` on a GPU with figures `g`, relative to the reference GPU.
  double speed(WorkloadClass cls, const GpuType& g) const;

  PerfConstants c_;
  const GpuCatalog* catalog_ = nullptr;
  // The figures trace runtimes were measured at: catalog_ unless on_catalog().
  const GpuCatalog* trace_catalog_ = nullptr;
};

}  // namespace flotilla
