// The HDF5 results file: exact values read back with the C API, the layout
// other tools rely on, temp-file-and-rename, errors.
#include "simulator/results_h5.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "scheduler/gpu_catalog.h"
#include "tests/simulator/results_test_util.h"
#include "tests/traces/trace_test_util.h"
#include "traces/trace_h5.h"

namespace flotilla {
namespace {

using testing::hand_made_runs;
using testing::read_attribute;
using testing::read_column;
using testing::read_string_attribute;
using testing::read_strings;
using testing::TempDir;

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ResultsH5, ReadsBackExactly) {
  TempDir dir;
  const std::string path = dir.path("results.h5");
  const Status s = write_results_h5(path, hand_made_runs(), "synthetic:3");
  ASSERT_TRUE(s) << s.message();
  ASSERT_TRUE(is_hdf5_file(path));

  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  ASSERT_TRUE(file.ok());
  const hid_t f = file.get();
  EXPECT_EQ(read_attribute<std::int32_t>(f, "/", "format_version"), kResultsH5Version);
  EXPECT_EQ(read_string_attribute(f, "/", "trace_origin"), "synthetic:3");
  EXPECT_EQ(read_strings(f, "/fleet_names"), (std::vector<std::string>{"alpha", "<b>&\"c'"}));
  EXPECT_EQ(read_strings(f, "/outcomes"),
            (std::vector<std::string>{"completed", "rejected", "failed"}));
  EXPECT_EQ(read_strings(f, "/levels"),
            (std::vector<std::string>{"node", "switch", "site", "region", "fleet"}));
  const std::vector<std::string> classes = read_strings(f, "/workload_classes");
  ASSERT_EQ(classes.size(), static_cast<std::size_t>(kWorkloadClasses));
  EXPECT_EQ(classes[1], "inference");
  EXPECT_EQ(read_strings(f, "/gpu_types").size(), GpuCatalog::builtin().types().size());

  // Jobs, column by column, in trace order.
  const std::string a = "/fleets/alpha";
  EXPECT_EQ(read_column<std::uint64_t>(f, a + "/jobs/id"),
            (std::vector<std::uint64_t>{10, 11, 12}));
  EXPECT_EQ(read_column<std::int64_t>(f, a + "/jobs/submit_s"),
            (std::vector<std::int64_t>{0, 10, 20}));
  EXPECT_EQ(read_column<std::int64_t>(f, a + "/jobs/start_s"),
            (std::vector<std::int64_t>{5, 10, 30}));
  EXPECT_EQ(read_column<std::int64_t>(f, a + "/jobs/end_s"),
            (std::vector<std::int64_t>{3605, 10, 100}));
  EXPECT_EQ(read_column<std::uint32_t>(f, a + "/jobs/gpus"),
            (std::vector<std::uint32_t>{2, 16, 0}));
  EXPECT_EQ(read_column<std::uint16_t>(f, a + "/jobs/gpu_milli"),
            (std::vector<std::uint16_t>{1000, 1000, 500}));
  EXPECT_EQ(read_column<std::uint16_t>(f, a + "/jobs/gpu_type"),
            (std::vector<std::uint16_t>{1, 0, 2}));
  EXPECT_EQ(read_column<std::uint8_t>(f, a + "/jobs/level"), (std::vector<std::uint8_t>{1, 0, 4}));
  EXPECT_EQ(read_column<std::uint32_t>(f, a + "/jobs/requeues"),
            (std::vector<std::uint32_t>{1, 0, 3}));
  EXPECT_EQ(read_column<std::uint64_t>(f, a + "/jobs/cost_micro_usd"),
            (std::vector<std::uint64_t>{12'345'678, 0, 1'000'000}));
  EXPECT_EQ(read_column<double>(f, a + "/jobs/energy_j"), (std::vector<double>{1.5e6, 0, 3.6e6}));
  EXPECT_EQ(read_column<std::uint8_t>(f, a + "/jobs/outcome"),
            (std::vector<std::uint8_t>{0, 1, 2}));
  EXPECT_EQ(read_column<std::uint8_t>(f, a + "/jobs/workload"),
            (std::vector<std::uint8_t>{static_cast<std::uint8_t>(WorkloadClass::kInference),
                                       static_cast<std::uint8_t>(WorkloadClass::kLoraFinetune),
                                       static_cast<std::uint8_t>(WorkloadClass::kInference)}));
  EXPECT_EQ(read_column<std::uint32_t>(f, a + "/jobs/rejection"),
            (std::vector<std::uint32_t>{0, 0, 0}));
  EXPECT_EQ(read_strings(f, a + "/rejection_reasons"),
            std::vector<std::string>{"needs 16 GPUs on one node"});

  EXPECT_EQ(read_column<std::int64_t>(f, a + "/series/t_s"),
            (std::vector<std::int64_t>{0, 60, 120}));
  EXPECT_EQ(read_column<std::uint64_t>(f, a + "/series/busy_gpus"),
            (std::vector<std::uint64_t>{2, 3, 2}));
  EXPECT_EQ(read_column<std::uint64_t>(f, a + "/series/queued_jobs"),
            (std::vector<std::uint64_t>{1, 0, 0}));

  // The summary, every field, as attributes of the fleet's group.
  EXPECT_EQ(read_string_attribute(f, a, "name"), "alpha");
  EXPECT_EQ(read_attribute<std::uint64_t>(f, a, "fleet_gpus"), 8u);
  EXPECT_EQ(read_attribute<std::uint64_t>(f, a, "jobs"), 3u);
  EXPECT_EQ(read_attribute<std::uint64_t>(f, a, "completed"), 1u);
  EXPECT_EQ(read_attribute<std::uint64_t>(f, a, "rejected"), 1u);
  EXPECT_EQ(read_attribute<std::uint64_t>(f, a, "failed"), 1u);
  EXPECT_EQ(read_attribute<double>(f, a, "makespan_s"), 3605.0);
  EXPECT_EQ(read_attribute<double>(f, a, "mean_jct_s"), 3605.0);
  EXPECT_EQ(read_attribute<double>(f, a, "p50_jct_s"), 3605.0);
  EXPECT_EQ(read_attribute<double>(f, a, "p99_jct_s"), 3605.0);
  EXPECT_EQ(read_attribute<double>(f, a, "mean_wait_s"), 5.0);
  EXPECT_DOUBLE_EQ(read_attribute<double>(f, a, "bounded_slowdown"), 3605.0 / 3600.0);
  EXPECT_DOUBLE_EQ(read_attribute<double>(f, a, "utilization"), 7200.0 / (8 * 3605.0));
  EXPECT_DOUBLE_EQ(read_attribute<double>(f, a, "cost_usd"), 13.345678);
  EXPECT_DOUBLE_EQ(read_attribute<double>(f, a, "energy_kwh"), 5.1e6 / 3.6e6);
  {
    h5::Handle attr(H5Aopen_by_name(f, a.c_str(), "rejections", H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
    ASSERT_TRUE(attr.ok());
    h5::Handle space(H5Aget_space(attr.get()), H5Sclose);
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    ASSERT_EQ(n, 1u);
    std::uint64_t rejected = 0;
    ASSERT_GE(H5Aread(attr.get(), H5T_NATIVE_UINT64, &rejected), 0);
    EXPECT_EQ(rejected, 1u);
  }

  // The second fleet: the group keeps the name as given.
  const std::string b = "/fleets/<b>&\"c'";
  EXPECT_EQ(read_string_attribute(f, b, "name"), "<b>&\"c'");
  EXPECT_EQ(read_attribute<std::uint64_t>(f, b, "fleet_gpus"), 4u);
  EXPECT_EQ(read_attribute<double>(f, b, "cost_usd"), 2.0);
  EXPECT_EQ(read_column<std::int64_t>(f, b + "/jobs/end_s"), std::vector<std::int64_t>{7200});
  EXPECT_TRUE(read_strings(f, b + "/rejection_reasons").empty());

  // On disk: fixed little-endian types, jobs chunked and deflated.
  h5::Handle ds(H5Dopen2(f, (a + "/jobs/submit_s").c_str(), H5P_DEFAULT), H5Dclose);
  h5::Handle type(H5Dget_type(ds.get()), H5Tclose);
  EXPECT_GT(H5Tequal(type.get(), H5T_STD_I64LE), 0);
  h5::Handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  EXPECT_EQ(H5Pget_layout(dcpl.get()), H5D_CHUNKED);
  bool deflate = false;
  for (int i = 0; i < H5Pget_nfilters(dcpl.get()); ++i) {
    unsigned flags = 0;
    std::size_t n = 0;
    unsigned cd[4] = {};
    if (H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n, cd, 0, nullptr, nullptr) ==
        H5Z_FILTER_DEFLATE) {
      deflate = true;
    }
  }
  EXPECT_TRUE(deflate);
}

TEST(ResultsH5, SlashInAFleetNameBecomesUnderscore) {
  TempDir dir;
  std::vector<SimResult> runs = hand_made_runs();
  runs[0].fleet = "lab/a";
  const std::string path = dir.path("r.h5");
  ASSERT_TRUE(write_results_h5(path, runs, "x"));
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  EXPECT_EQ(read_string_attribute(file.get(), "/fleets/lab_a", "name"), "lab/a");
}

TEST(ResultsH5, WritesATempFileThenRenames) {
  TempDir dir;
  const std::string path = dir.path("results.h5");
  std::vector<SimResult> runs = hand_made_runs();
  ASSERT_TRUE(write_results_h5(path, runs, "old"));

  // Complete under its temporary name before the rename; PATH still old.
  std::string seen_temp;
  Status s = write_results_h5(path, runs, "new", [&](const std::string& temp) {
    seen_temp = temp;
    EXPECT_EQ(temp.rfind(path + ".tmp.", 0), 0u) << temp;
    h5::Handle staged(H5Fopen(temp.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    EXPECT_EQ(read_string_attribute(staged.get(), "/", "trace_origin"), "new");
    h5::Handle current(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    EXPECT_EQ(read_string_attribute(current.get(), "/", "trace_origin"), "old");
    return Status::ok();
  });
  ASSERT_TRUE(s) << s.message();
  EXPECT_FALSE(std::filesystem::exists(seen_temp));
  EXPECT_EQ(files_in(dir.dir()), std::vector<std::string>{"results.h5"});

  // A crash before the rename leaves the previous file and no temporary.
  s = write_results_h5(path, runs, "crashed",
                       [](const std::string&) { return Status::error("simulated crash"); });
  EXPECT_EQ(s.message(), "simulated crash");
  EXPECT_EQ(files_in(dir.dir()), std::vector<std::string>{"results.h5"});
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  EXPECT_EQ(read_string_attribute(file.get(), "/", "trace_origin"), "new");
}

TEST(ResultsH5, MissingDirectoryFailsAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.path("no/such/dir/results.h5");
  const Status s = write_results_h5(path, hand_made_runs(), "x");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message().rfind(path + ": cannot create " + path + ".tmp.", 0), 0u) << s.message();
  EXPECT_TRUE(files_in(dir.dir()).empty());
}

TEST(ResultsH5, TwoRunsWithOneNameFailBeforeWriting) {
  TempDir dir;
  std::vector<SimResult> runs = hand_made_runs();
  runs[1].fleet = "alpha";
  const std::string path = dir.path("results.h5");
  EXPECT_EQ(write_results_h5(path, runs, "x").message(),
            path + ": two runs are both named 'alpha' (/fleets/<name> must be unique)");
  runs[1].fleet = "";
  EXPECT_EQ(write_results_h5(path, runs, "x").message(), path + ": a run has no fleet name");
  EXPECT_TRUE(files_in(dir.dir()).empty());
}

}  // namespace
}  // namespace flotilla
