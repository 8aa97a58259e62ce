// A workload trace: jobs with their submit times, GPU shapes and the work they
// do, independent of any fleet. Readers for public trace formats, the native
// HDF5 store and the synthetic generator all produce this; the simulator
// consumes it. Plain values; a Trace is not shared between threads while it
// is being built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/request.h"

namespace flotilla {

// What kind of work a job does; the performance model scales runtimes by
// class (an inference job and a pre-training run gain differently from a
// faster GPU), and the report breaks results down by it.
enum class WorkloadClass : std::uint8_t {
  kUnknown = 0,  // trace jobs whose kind the trace does not say
  kInference,    // LLM batch inference
  kLoraFinetune,
  kFullFinetune,
  kSmallTraining,  // small-model training (vision, speech, BERT-size)
  kHpoSweep,       // one trial of a hyperparameter sweep
  kPretraining,    // large pre-training run
};
constexpr int kWorkloadClasses = 7;
std::string_view workload_class_name(WorkloadClass c);  // "inference", "lora-finetune", ...
std::optional<WorkloadClass> find_workload_class(std::string_view name);

// A transformer-style model job, described without hardware, so the
// performance model can compute its step time on any placement: compute
// max(FLOPs / peak, bytes / bandwidth) plus communication on the slowest link.
struct ModelWork {
  double params = 0;  // N, parameters
  double tokens = 0;  // tokens processed over the whole job
  std::uint32_t seq_len = 2048;
  std::uint32_t global_batch = 0;  // sequences per optimizer step (training)
  bool training = true;            // 6N FLOPs per token (training) or 2N (inference)
  bool shardable = true;           // model state may be sharded (ZeRO-3/FSDP, pipeline)
};

// The work of one job: a measured runtime on a reference GPU (trace jobs) or,
// in addition, a model the performance model can reason about.
struct Work {
  Seconds reference_runtime{0};  // wall time the job took (or would take) on reference_gpu
  GpuTypeId reference_gpu = 0;   // catalog id of the GPU that runtime was measured on
  std::optional<ModelWork> model;
};

struct TraceJob {
  std::uint64_t id = 0;               // unique within the trace
  Seconds submit{0};                  // from the trace's start
  std::optional<Seconds> time_limit;  // what the user asked for, if the trace says
  std::uint32_t user = 0;             // index into Trace::users
  std::uint32_t account = 0;          // index into Trace::accounts
  std::uint8_t qos = 0;               // index into Trace::qos
  PlacementRequest shape;             // GPUs, nodes, types, share of a GPU
  WorkloadClass workload = WorkloadClass::kUnknown;
  Work work;
  bool requeue = true;            // on node failure: requeue (true) or fail
  std::uint32_t source_line = 0;  // line in the file it came from (0: generated)
};

struct Trace {
  std::string origin;  // file or generator it came from
  std::vector<std::string> users{"-"}, accounts{"-"}, qos{"normal"};
  std::vector<TraceJob> jobs;  // sorted by submit time, then id
  // Records the file held that did not become jobs (CPU-only pods, SWF
  // partial-execution lines); each reader says which. Never silently lost.
  std::uint64_t skipped_records = 0;

  // Index of `name` in `table`, appended if new.
  static std::uint32_t intern(std::vector<std::string>& table, std::string_view name);
};

}  // namespace flotilla
