// Helpers for the --out tests: a hand-made pair of simulation runs whose
// summaries are known, and readers for the HDF5 results file (C API).
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>

#include <string>
#include <vector>

#include "simulator/simulation.h"
#include "traces/h5_file.h"

namespace flotilla::testing {

// "alpha": 8 GPUs, one completed, one rejected and one failed job.
// "<b>&\"c'": 4 GPUs, one completed job (a name that needs escaping).
inline std::vector<SimResult> hand_made_runs() {
  SimResult a;
  a.fleet = "alpha";
  a.fleet_gpus = 8;
  a.rejection_reasons = {"needs 16 GPUs on one node"};
  a.jobs.push_back(JobRecord{.id = 10,
                             .workload = WorkloadClass::kInference,
                             .outcome = JobOutcome::kCompleted,
                             .submit = Seconds{0},
                             .start = Seconds{5},
                             .end = Seconds{3605},
                             .gpus = 2,
                             .gpu_milli = 1000,
                             .gpu_type = 1,
                             .level = Level::kSwitch,
                             .requeues = 1,
                             .cost_micro_usd = 12'345'678,
                             .energy_joules = 1.5e6,
                             .rejection = 0});
  a.jobs.push_back(JobRecord{.id = 11,
                             .workload = WorkloadClass::kLoraFinetune,
                             .outcome = JobOutcome::kRejected,
                             .submit = Seconds{10},
                             .start = Seconds{10},
                             .end = Seconds{10},
                             .gpus = 16,
                             .gpu_milli = 1000,
                             .gpu_type = 0,
                             .level = Level::kNode,
                             .requeues = 0,
                             .cost_micro_usd = 0,
                             .energy_joules = 0,
                             .rejection = 0});
  a.jobs.push_back(JobRecord{.id = 12,
                             .workload = WorkloadClass::kInference,
                             .outcome = JobOutcome::kFailed,
                             .submit = Seconds{20},
                             .start = Seconds{30},
                             .end = Seconds{100},
                             .gpus = 0,
                             .gpu_milli = 500,
                             .gpu_type = 2,
                             .level = Level::kFleet,
                             .requeues = 3,
                             .cost_micro_usd = 1'000'000,
                             .energy_joules = 3.6e6,
                             .rejection = 0});
  a.series = {SeriesPoint{Seconds{0}, 2, 1}, SeriesPoint{Seconds{60}, 3, 0},
              SeriesPoint{Seconds{120}, 2, 0}};

  SimResult b;
  b.fleet = "<b>&\"c'";
  b.fleet_gpus = 4;
  b.jobs.push_back(JobRecord{.id = 10,
                             .workload = WorkloadClass::kInference,
                             .outcome = JobOutcome::kCompleted,
                             .submit = Seconds{0},
                             .start = Seconds{0},
                             .end = Seconds{7200},
                             .gpus = 4,
                             .gpu_milli = 1000,
                             .gpu_type = 3,
                             .level = Level::kNode,
                             .requeues = 0,
                             .cost_micro_usd = 2'000'000,
                             .energy_joules = 7.2e6,
                             .rejection = 0});
  b.series = {SeriesPoint{Seconds{0}, 4, 0}, SeriesPoint{Seconds{3600}, 4, 0}};
  return {a, b};
}

template <class T>
std::vector<T> read_column(hid_t file, const std::string& path) {
  h5::Handle ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  EXPECT_TRUE(ds.ok()) << path;
  if (!ds.ok()) return {};
  h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t n = 0;
  EXPECT_EQ(H5Sget_simple_extent_ndims(space.get()), 1) << path;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  std::vector<T> out(n);
  if (n > 0) {
    EXPECT_GE(H5Dread(ds.get(), h5::native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0)
        << path;
  }
  return out;
}

inline std::vector<std::string> read_strings(hid_t file, const std::string& path) {
  h5::Handle ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
  EXPECT_TRUE(ds.ok()) << path;
  if (!ds.ok()) return {};
  h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  h5::Handle type = h5::string_type();
  std::vector<char*> ptrs(n, nullptr);
  std::vector<std::string> out;
  if (n == 0) return out;
  EXPECT_GE(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), 0);
  for (char* p : ptrs) out.emplace_back(p ? p : "");
  H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return out;
}

template <class T>
T read_attribute(hid_t file, const std::string& object, const std::string& name) {
  T value{};
  h5::Handle attr(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose);
  EXPECT_TRUE(attr.ok()) << object << " @" << name;
  if (attr.ok()) {
    EXPECT_GE(H5Aread(attr.get(), h5::native_type<T>(), &value), 0) << object << " @" << name;
  }
  return value;
}

inline std::string read_string_attribute(hid_t file, const std::string& object,
                                         const std::string& name) {
  h5::Handle attr(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                  H5Aclose);
  EXPECT_TRUE(attr.ok()) << object << " @" << name;
  if (!attr.ok()) return {};
  h5::Handle type = h5::string_type();
  char* p = nullptr;
  EXPECT_GE(H5Aread(attr.get(), type.get(), &p), 0);
  std::string out = p ? p : "";
  H5free_memory(p);
  return out;
}

}  // namespace flotilla::testing
