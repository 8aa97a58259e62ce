// The CUDA probe module's entry point (executor/probe_module.h).
#include "executor/probe_module.h"
#include "executor/cuda/probe_cuda.h"

namespace {

flotilla::Result<flotilla::ProbeReport> probe(const flotilla::ProbeOptions& options) {
  flotilla::Result<flotilla::ProbeReport> report = flotilla::cuda::inventory();
  if (!report) return report;
  if (flotilla::Status s = flotilla::cuda::measure(*report, options); !s) return s;
  return report;
}

const flotilla::ProbeModule kModule{flotilla::kProbeModuleAbi, &probe,
                                    &flotilla::cuda::make_gpu_prover};

}  // namespace

extern "C" const flotilla::ProbeModule* flotilla_probe_module() {
  return &kModule;
}
