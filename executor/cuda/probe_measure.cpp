// The probe's measurements. Every figure is the median of timed repeats after
// untimed warm-up runs, timed with CUDA events on the GPU's own stream; GEMM
// inputs are regenerated with a fresh seed before every repeat (random +-k/16,
// never zero, so no sparsity or constant-input shortcut applies).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include "executor/cuda/blaslt_gemm.h"
#include "executor/cuda/cuda_check.h"
#include "executor/cuda/probe_cuda.h"
#include "executor/cuda/probe_kernels.h"
#include "executor/proof_matrix.h"
#include "executor/proof_of_compute.h"

#ifdef FLOTILLA_PROBE_NCCL
#include <nccl.h>
#endif

namespace flotilla::cuda {
namespace {

struct Plan {
  int warm_up, repeats;
};

// Runs `before` (untimed) then `timed` between two events, warm_up + repeats
// times; the median of the timed repeats.
Result<std::chrono::nanoseconds> median_time(cudaStream_t stream, const Plan& plan,
                                             const std::function<Status()>& before,
                                             const std::function<Status()>& timed) {
  Event start, stop;
  FLOTILLA_TRY(start.create());
  FLOTILLA_TRY(stop.create());
  std::vector<std::int64_t> ns;
  for (int i = 0; i < plan.warm_up + plan.repeats; ++i) {
    FLOTILLA_TRY(before());
    FLOTILLA_TRY(check(cudaEventRecord(start.get(), stream), "cudaEventRecord"));
    FLOTILLA_TRY(timed());
    FLOTILLA_TRY(check(cudaEventRecord(stop.get(), stream), "cudaEventRecord"));
    FLOTILLA_TRY(check(cudaEventSynchronize(stop.get()), "timed run"));
    float ms = 0;
    FLOTILLA_TRY(check(cudaEventElapsedTime(&ms, start.get(), stop.get()), "cudaEventElapsedTime"));
    if (i >= plan.warm_up) ns.push_back(std::llround(static_cast<double>(ms) * 1e6));
  }
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  return std::chrono::nanoseconds(ns[ns.size() / 2]);
}

// BF16 bits -> float (BF16 is the top half of an FP32).
float bf16_to_float(std::uint16_t bits) {
  const std::uint32_t u = std::uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The largest relative error of a few rows of a BF16-output GEMM against the
// exact product on the CPU. The sum is exact in FP32 (proof_matrix.h), so
// what remains is the rounding of D to BF16: at most 2^-8 relative.
constexpr double kGemmRelativeErrorLimit = 1.0 / 256;

Result<double> check_gemm(const void* d_bf16, std::uint64_t seed, std::uint32_t n) {
  const std::vector<std::uint32_t> rows = {0, n / 3, n - 1};
  const std::vector<proof::ReferenceRow> ref = proof::reference_rows(seed, n, rows);
  std::vector<std::uint16_t> got(n);
  double worst = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    FLOTILLA_TRY(check(
        cudaMemcpy(got.data(), static_cast<const std::uint16_t*>(d_bf16) + std::size_t{rows[r]} * n,
                   n * sizeof(std::uint16_t), cudaMemcpyDeviceToHost),
        "cudaMemcpy (GEMM check)"));
    for (std::uint32_t j = 0; j < n; ++j) {
      const double exact = ref[r].exact[j], value = bf16_to_float(got[j]);
      const double err =
          exact == 0 ? std::fabs(value) : std::fabs(value - exact) / std::fabs(exact);
      worst = std::max(worst, std::isnan(err) ? INFINITY : err);
    }
  }
  return worst;
}

Status measure_gemm(ProbeMeasurement& m, const Plan& plan, cudaStream_t stream,
                    const std::vector<std::uint32_t>& sizes, std::mt19937_64& rng) {
  for (std::uint32_t n : sizes) {
    const std::size_t n2 = std::size_t{n} * n;
    DeviceBuffer<std::uint16_t> a, b, d;
    FLOTILLA_TRY(a.allocate(n2, "cudaMalloc (GEMM A)"));
    FLOTILLA_TRY(b.allocate(n2, "cudaMalloc (GEMM B)"));
    FLOTILLA_TRY(d.allocate(n2, "cudaMalloc (GEMM D)"));
    Result<std::unique_ptr<BlasLtGemm>> gemm = BlasLtGemm::create(n, BlasLtGemm::Output::kBf16);
    if (!gemm) return gemm.status();
    std::uint64_t seed = 0;
    auto fresh_inputs = [&]() -> Status {
      seed = rng();
      FLOTILLA_TRY(check(fill_bf16(a.get(), n2, seed, 0, stream), "fill GEMM A"));
      return check(fill_bf16(b.get(), n2, seed, n2, stream), "fill GEMM B");
    };
    Result<std::chrono::nanoseconds> t = median_time(stream, plan, fresh_inputs, [&] {
      return (*gemm)->run(a.get(), b.get(), d.get(), stream);
    });
    if (!t) return t.status();
    m.gemm.push_back(ProbeGemm{n, ProbeTiming{2ull * n * n * n, *t}});
    // The last repeat's output against the CPU (A and B of `seed` are exactly
    // the proof-of-compute matrices).
    Result<double> err = check_gemm(d.get(), seed, n);
    if (!err) return err.status();
    m.gemm_max_relative_error = std::max(m.gemm_max_relative_error, *err);
    if (*err > kGemmRelativeErrorLimit) {
      return Status::error("GPU " + std::to_string(m.gpu) + ": BF16 GEMM n=" + std::to_string(n) +
                           " is wrong: relative error " + std::to_string(*err) + " > 2^-8");
    }
  }
  return Status::ok();
}

Status measure_copy(ProbeMeasurement& m, const Plan& plan, cudaStream_t stream, int sms,
                    std::size_t bytes) {
  DeviceBuffer<std::uint16_t> src, dst;
  FLOTILLA_TRY(src.allocate(bytes / 2, "cudaMalloc (copy source)"));
  FLOTILLA_TRY(dst.allocate(bytes / 2, "cudaMalloc (copy destination)"));
  FLOTILLA_TRY(check(fill_bf16(src.get(), bytes / 2, 1, 0, stream), "fill copy source"));
  // Enough resident blocks to keep every SM's memory pipeline full.
  const int blocks = sms * 8;
  Result<std::chrono::nanoseconds> t = median_time(
      stream, plan, [] { return Status::ok(); },
      [&] {
        return check(copy_words(src.get(), dst.get(), bytes, blocks, stream), "copy kernel");
      });
  if (!t) return t.status();
  m.device_copy = ProbeTiming{2 * bytes, *t};  // read + written, as STREAM counts a copy
  return Status::ok();
}

Status measure_pinned(ProbeMeasurement& m, const Plan& plan, cudaStream_t stream,
                      std::size_t bytes) {
  PinnedBuffer<std::uint8_t> host;
  DeviceBuffer<std::uint8_t> dev;
  FLOTILLA_TRY(host.allocate(bytes, "cudaMallocHost"));
  FLOTILLA_TRY(dev.allocate(bytes, "cudaMalloc (transfer)"));
  auto none = [] { return Status::ok(); };
  Result<std::chrono::nanoseconds> h2d = median_time(stream, plan, none, [&] {
    return check(cudaMemcpyAsync(dev.get(), host.get(), bytes, cudaMemcpyHostToDevice, stream),
                 "cudaMemcpyAsync host->device");
  });
  if (!h2d) return h2d.status();
  Result<std::chrono::nanoseconds> d2h = median_time(stream, plan, none, [&] {
    return check(cudaMemcpyAsync(host.get(), dev.get(), bytes, cudaMemcpyDeviceToHost, stream),
                 "cudaMemcpyAsync device->host");
  });
  if (!d2h) return d2h.status();
  m.host_to_device = ProbeTiming{bytes, *h2d};
  m.device_to_host = ProbeTiming{bytes, *d2h};
  return Status::ok();
}

#ifdef FLOTILLA_PROBE_NCCL
Status check_nccl(ncclResult_t r, const char* what) {
  if (r == ncclSuccess) return Status::ok();
  return Status::error(std::string(what) + ": " + ncclGetErrorString(r));
}

// All-reduce (sum, FP32) of `bytes` per GPU over GPUs 0..g-1, in place.
Result<ProbeAllReduce> measure_all_reduce(int g, std::size_t bytes, const Plan& plan) {
  std::vector<int> devs(g);
  for (int i = 0; i < g; ++i) devs[i] = i;
  std::vector<ncclComm_t> comms(g);
  FLOTILLA_TRY(check_nccl(ncclCommInitAll(comms.data(), g, devs.data()), "ncclCommInitAll"));
  struct PerGpu {
    Stream stream;
    DeviceBuffer<float> buf;
    Event start, stop;
  };
  std::vector<PerGpu> per(g);
  Status s = Status::ok();
  std::vector<std::int64_t> ns;
  for (int i = 0; i < g && s; ++i) {
    s = check(cudaSetDevice(i), "cudaSetDevice");
    if (s) s = per[i].stream.create();
    if (s) s = per[i].buf.allocate(bytes / sizeof(float), "cudaMalloc (all-reduce)");
    if (s) s = check(fill_bf16(per[i].buf.get(), bytes / 2, 7, 0, per[i].stream.get()), "fill");
    if (s) s = per[i].start.create();
    if (s) s = per[i].stop.create();
  }
  for (int rep = 0; rep < plan.warm_up + plan.repeats && s; ++rep) {
    s = check_nccl(ncclGroupStart(), "ncclGroupStart");
    for (int i = 0; i < g && s; ++i) {
      s = check(cudaSetDevice(i), "cudaSetDevice");
      if (s) s = check(cudaEventRecord(per[i].start.get(), per[i].stream.get()), "cudaEventRecord");
      if (s) {
        s = check_nccl(ncclAllReduce(per[i].buf.get(), per[i].buf.get(), bytes / sizeof(float),
                                     ncclFloat, ncclSum, comms[i], per[i].stream.get()),
                       "ncclAllReduce");
      }
      if (s) s = check(cudaEventRecord(per[i].stop.get(), per[i].stream.get()), "cudaEventRecord");
    }
    if (Status end = check_nccl(ncclGroupEnd(), "ncclGroupEnd"); s && !end) s = end;
    std::int64_t slowest = 0;
    for (int i = 0; i < g && s; ++i) {
      s = check(cudaEventSynchronize(per[i].stop.get()), "all-reduce");
      float ms = 0;
      if (s)
        s = check(cudaEventElapsedTime(&ms, per[i].start.get(), per[i].stop.get()),
                  "cudaEventElapsedTime");
      slowest =
          std::max(slowest, static_cast<std::int64_t>(std::llround(static_cast<double>(ms) * 1e6)));
    }
    if (s && rep >= plan.warm_up) ns.push_back(slowest);
  }
  for (ncclComm_t c : comms) ncclCommDestroy(c);
  FLOTILLA_TRY(s);
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  return ProbeAllReduce{g, bytes, std::chrono::nanoseconds(ns[ns.size() / 2])};
}
#endif

}  // namespace

Status measure(ProbeReport& report, const ProbeOptions& options) {
  const Plan plan = options.quick ? Plan{2, 5} : Plan{3, 15};
  // 8192^3 is where cuBLAS reaches its plateau on H100/H200 (REFERENCE.md
  // figures are at 8192); 16384 shows whether a bigger problem does better.
  const std::vector<std::uint32_t> sizes = options.quick
                                               ? std::vector<std::uint32_t>{8192}
                                               : std::vector<std::uint32_t>{4096, 8192, 16384};
  std::mt19937_64 rng(std::random_device{}());
  for (const ProbeGpu& gpu : report.gpus) {
    FLOTILLA_TRY(check(cudaSetDevice(gpu.index), "cudaSetDevice"));
    Stream stream;
    FLOTILLA_TRY(stream.create());
    ProbeMeasurement m;
    m.gpu = gpu.index;
    FLOTILLA_TRY(measure_gemm(m, plan, stream.get(), sizes, rng));
    // 1 GiB per buffer: far beyond every L2 (50-60 MB on H100/H200), so the
    // copy measures HBM/GDDR, and small next to any card's memory.
    FLOTILLA_TRY(measure_copy(m, plan, stream.get(), gpu.sm_count, std::size_t{1} << 30));
    FLOTILLA_TRY(measure_pinned(m, plan, stream.get(), std::size_t{256} << 20));
    report.measurements.push_back(std::move(m));
  }
#ifdef FLOTILLA_PROBE_NCCL
  const auto gpus = static_cast<int>(report.gpus.size());
  for (int g = 1; g <= gpus; ++g) {
    Result<ProbeAllReduce> a = measure_all_reduce(g, std::size_t{256} << 20, plan);
    if (!a) return a.status();
    report.all_reduce.push_back(*a);
  }
#endif
  return Status::ok();
}

}  // namespace flotilla::cuda
