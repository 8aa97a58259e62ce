// HDF5 results file (C API); the layout is documented in results_h5.h.
#include "simulator/results_h5.h"

#include <hdf5.h>

#include <algorithm>
#include <set>

#include "scheduler/gpu_catalog.h"
#include "simulator/metrics.h"
#include "traces/h5_file.h"

namespace flotilla {
namespace {

using h5::Handle;

// HDF5 link names cannot hold '/', and "." names the group itself.
std::string group_name(const std::string& fleet) {
  std::string name = fleet;
  std::replace(name.begin(), name.end(), '/', '_');
  if (name == ".") name = "_";
  return name;
}

Status write_summary(const h5::Writer& w, hid_t group, const SimResult& run) {
  const Summary s = summarize(run);
  Status st = w.string_attribute(group, "name", run.fleet);
  auto put = [&](Status next) {
    if (st) st = std::move(next);
  };
  put(w.attribute<std::uint64_t>(group, "fleet_gpus", run.fleet_gpus));
  for (const auto& [name, field] : kSummaryCounts) {
    put(w.attribute<std::uint64_t>(group, name, s.*field));
  }
  for (const auto& [name, field] : kSummaryFigures) put(w.attribute<double>(group, name, s.*field));
  // Summary::rejections is keyed by reason; the file keys it by the index in
  // rejection_reasons so the two stay one table.
  std::vector<std::uint64_t> rejections;
  for (const std::string& reason : run.rejection_reasons) {
    const auto it = s.rejections.find(reason);
    rejections.push_back(it == s.rejections.end() ? 0 : it->second);
  }
  put(w.array_attribute<std::uint64_t>(group, "rejections", rejections));
  return st;
}

Status write_run(const h5::Writer& w, hid_t fleets, const std::string& name, const SimResult& run) {
  const std::string at = "/fleets/" + name;
  Handle group(H5Gcreate2(fleets, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.ok()) return w.fail("cannot create " + at);
  if (Status s = write_summary(w, group.get(), run); !s) return s;
  if (Status s = w.strings(group.get(), "rejection_reasons", run.rejection_reasons,
                           at + "/rejection_reasons");
      !s) {
    return s;
  }

  Handle jobs(H5Gcreate2(group.get(), "jobs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!jobs.ok()) return w.fail("cannot create " + at + "/jobs");
  // One column at a time keeps the extra memory to one column's worth.
  auto col = [&](const char* column, auto get) -> Status {
    using T = decltype(get(JobRecord{}));
    std::vector<T> v;
    v.reserve(run.jobs.size());
    for (const JobRecord& j : run.jobs) v.push_back(get(j));
    return w.column<T>(jobs.get(), column, v, at + "/jobs/" + column);
  };
  using u8 = std::uint8_t;
  using u16 = std::uint16_t;
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;
  using i64 = std::int64_t;
  Status s = Status::ok();
  auto put = [&s](Status next) {
    if (s) s = std::move(next);
  };
  put(col("id", [](const JobRecord& j) -> u64 { return j.id; }));
  put(col("submit_s", [](const JobRecord& j) -> i64 { return j.submit.count(); }));
  put(col("start_s", [](const JobRecord& j) -> i64 { return j.start.count(); }));
  put(col("end_s", [](const JobRecord& j) -> i64 { return j.end.count(); }));
  put(col("gpus", [](const JobRecord& j) -> u32 { return j.gpus; }));
  put(col("gpu_milli", [](const JobRecord& j) -> u16 { return j.gpu_milli; }));
  put(col("gpu_type", [](const JobRecord& j) -> u16 { return j.gpu_type; }));
  put(col("level", [](const JobRecord& j) -> u8 { return static_cast<u8>(j.level); }));
  put(col("requeues", [](const JobRecord& j) -> u32 { return j.requeues; }));
  put(col("cost_micro_usd", [](const JobRecord& j) -> u64 { return j.cost_micro_usd; }));
  put(col("energy_j", [](const JobRecord& j) -> double { return j.energy_joules; }));
  put(col("outcome", [](const JobRecord& j) -> u8 { return static_cast<u8>(j.outcome); }));
  put(col("workload", [](const JobRecord& j) -> u8 { return static_cast<u8>(j.workload); }));
  put(col("rejection", [](const JobRecord& j) -> u32 { return j.rejection; }));
  if (!s) return s;

  Handle series(H5Gcreate2(group.get(), "series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!series.ok()) return w.fail("cannot create " + at + "/series");
  auto series_col = [&](const char* column, auto get) -> Status {
    using T = decltype(get(SeriesPoint{}));
    std::vector<T> v;
    v.reserve(run.series.size());
    for (const SeriesPoint& p : run.series) v.push_back(get(p));
    return w.column<T>(series.get(), column, v, at + "/series/" + column);
  };
  put(series_col("t_s", [](const SeriesPoint& p) -> i64 { return p.at.count(); }));
  put(series_col("busy_gpus", [](const SeriesPoint& p) -> u64 { return p.busy_gpus; }));
  put(series_col("queued_jobs", [](const SeriesPoint& p) -> u64 { return p.queued_jobs; }));
  return s;
}

Status write_file(const std::string& path, const std::vector<SimResult>& runs,
                  const std::string& trace_origin, hid_t file) {
  const h5::Writer w(path);
  if (Status s = w.attribute<std::int32_t>(file, "format_version", kResultsH5Version); !s) {
    return s;
  }
  if (Status s = w.string_attribute(file, "trace_origin", trace_origin); !s) return s;

  std::vector<std::string> fleet_names, gpu_types, classes, levels;
  for (const SimResult& r : runs) fleet_names.push_back(r.fleet);
  for (const GpuType& t : GpuCatalog::builtin().types()) gpu_types.push_back(t.name);
  for (int c = 0; c < kWorkloadClasses; ++c) {
    classes.emplace_back(workload_class_name(static_cast<WorkloadClass>(c)));
  }
  for (int l = 0; l <= static_cast<int>(Level::kFleet); ++l) {
    levels.emplace_back(level_name(static_cast<Level>(l)));
  }
  std::vector<std::string> outcomes{"completed", "rejected", "failed"};
  for (auto [name, table] : {std::pair{"fleet_names", &fleet_names},
                             {"gpu_types", &gpu_types},
                             {"workload_classes", &classes},
                             {"outcomes", &outcomes},
                             {"levels", &levels}}) {
    if (Status s = w.strings(file, name, *table, std::string("/") + name); !s) return s;
  }

  // Tracking creation order lets readers that ask for it list fleets in run order.
  Handle gcpl(H5Pcreate(H5P_GROUP_CREATE), H5Pclose);
  if (!gcpl.ok() || H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED) < 0) {
    return w.fail("cannot set up /fleets");
  }
  Handle fleets(H5Gcreate2(file, "fleets", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), H5Gclose);
  if (!fleets.ok()) return w.fail("cannot create /fleets");
  for (const SimResult& run : runs) {
    if (Status s = write_run(w, fleets.get(), group_name(run.fleet), run); !s) return s;
  }
  return Status::ok();
}

}  // namespace

Status write_results_h5(const std::string& path, const std::vector<SimResult>& runs,
                        const std::string& trace_origin,
                        const std::function<Status(const std::string& temp_path)>& before_rename) {
  // Checked before any file exists, so a bad set of runs leaves nothing behind.
  std::set<std::string> seen;
  for (const SimResult& run : runs) {
    if (run.fleet.empty()) return Status::error(path + ": a run has no fleet name");
    if (!seen.insert(group_name(run.fleet)).second) {
      return Status::error(path + ": two runs are both named '" + group_name(run.fleet) +
                           "' (/fleets/<name> must be unique)");
    }
  }
  return h5::write_atomically(
      path, [&](hid_t file) { return write_file(path, runs, trace_origin, file); }, before_rename);
}

}  // namespace flotilla
