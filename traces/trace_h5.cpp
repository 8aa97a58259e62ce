// HDF5 trace store (C API); the layout is documented in trace_h5.h.
#include "traces/trace_h5.h"

#include <hdf5.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "scheduler/gpu_catalog.h"
#include "traces/h5_file.h"

namespace flotilla {
namespace {

using h5::Handle;
using h5::native_type;
using h5::QuietHdf5;

Status write_file(const Trace& trace, const std::string& path, hid_t file) {
  const h5::Writer w(path);
  if (Status s = w.attribute<std::int32_t>(file, "format_version", kTraceH5Version); !s) return s;
  if (Status s = w.string_attribute(file, "origin", trace.origin); !s) return s;
  if (Status s = w.attribute<std::uint64_t>(file, "skipped_records", trace.skipped_records); !s) {
    return s;
  }
  std::vector<std::string> gpu_types;
  for (const GpuType& t : GpuCatalog::builtin().types()) gpu_types.push_back(t.name);
  for (auto [name, table] : {std::pair{"users", &trace.users},
                             {"accounts", &trace.accounts},
                             {"qos", &trace.qos},
                             {"gpu_types", &gpu_types}}) {
    if (Status s = w.strings(file, name, *table, std::string("/") + name); !s) return s;
  }
  Handle jobs(H5Gcreate2(file, "jobs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!jobs.ok()) return w.fail("cannot create /jobs");
  const hid_t g = jobs.get();

  // One column at a time keeps the extra memory to one column's worth.
  auto col = [&](const char* name, auto get) -> Status {
    using T = decltype(get(trace.jobs.front()));
    std::vector<T> v;
    v.reserve(trace.jobs.size());
    for (const TraceJob& j : trace.jobs) v.push_back(get(j));
    return w.column<T>(g, name, v, std::string("/jobs/") + name);
  };
  using u8 = std::uint8_t;
  using u16 = std::uint16_t;
  using u32 = std::uint32_t;
  using u64 = std::uint64_t;
  using i64 = std::int64_t;
  const ModelWork none;
  auto model = [&none](const TraceJob& j) -> const ModelWork& {
    return j.work.model ? *j.work.model : none;
  };
  Status s = Status::ok();
  auto run = [&s](Status next) {
    if (s) s = std::move(next);
  };
  run(col("id", [](const TraceJob& j) -> u64 { return j.id; }));
  run(col("submit", [](const TraceJob& j) -> i64 { return j.submit.count(); }));
  run(col("time_limit",
          [](const TraceJob& j) -> i64 { return j.time_limit ? j.time_limit->count() : -1; }));
  run(col("user", [](const TraceJob& j) -> u32 { return j.user; }));
  run(col("account", [](const TraceJob& j) -> u32 { return j.account; }));
  run(col("qos", [](const TraceJob& j) -> u8 { return j.qos; }));
  run(col("nodes", [](const TraceJob& j) -> u32 { return j.shape.nodes; }));
  run(col("gpus_per_node", [](const TraceJob& j) -> u32 { return j.shape.gpus_per_node; }));
  run(col("total_gpus", [](const TraceJob& j) -> u32 { return j.shape.total_gpus; }));
  run(col("gpu_milli", [](const TraceJob& j) -> u16 { return j.shape.gpu_milli; }));
  run(col("types", [](const TraceJob& j) -> u64 { return j.shape.types.to_ullong(); }));
  run(col("min_gpu_mem_gb", [](const TraceJob& j) -> u32 { return j.shape.min_gpu_mem_gb; }));
  run(col("exclusive", [](const TraceJob& j) -> u8 { return j.shape.exclusive ? 1 : 0; }));
  run(col("max_switches", [](const TraceJob& j) -> i64 {
    return j.shape.max_switches ? static_cast<i64>(*j.shape.max_switches) : -1;
  }));
  run(col("workload", [](const TraceJob& j) -> u8 { return static_cast<u8>(j.workload); }));
  run(col("reference_runtime",
          [](const TraceJob& j) -> i64 { return j.work.reference_runtime.count(); }));
  run(col("reference_gpu", [](const TraceJob& j) -> u16 { return j.work.reference_gpu; }));
  run(col("has_model", [](const TraceJob& j) -> u8 { return j.work.model ? 1 : 0; }));
  run(col("model_params", [&](const TraceJob& j) -> double { return model(j).params; }));
  run(col("model_tokens", [&](const TraceJob& j) -> double { return model(j).tokens; }));
  run(col("model_seq_len", [&](const TraceJob& j) -> u32 { return model(j).seq_len; }));
  run(col("model_global_batch", [&](const TraceJob& j) -> u32 { return model(j).global_batch; }));
  run(col("model_training", [&](const TraceJob& j) -> u8 { return model(j).training ? 1 : 0; }));
  run(col("model_shardable", [&](const TraceJob& j) -> u8 { return model(j).shardable ? 1 : 0; }));
  run(col("requeue", [](const TraceJob& j) -> u8 { return j.requeue ? 1 : 0; }));
  run(col("source_line", [](const TraceJob& j) -> u32 { return j.source_line; }));
  return s;
}

class Reader {
 public:
  Reader(const std::string& path, hid_t file) : path_(path), file_(file) {}

  Status fail(const std::string& what) const { return Status::error(path_ + ": " + what); }

  template <class T>
  Status column(hid_t group, const char* name, std::size_t rows, std::vector<T>& out) {
    Handle ds(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) return fail(std::string("missing /jobs/") + name);
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t n = 0;
    if (H5Sget_simple_extent_ndims(space.get()) != 1 ||
        H5Sget_simple_extent_dims(space.get(), &n, nullptr) < 0 || n != rows) {
      return fail(std::string("/jobs/") + name + " has " + std::to_string(n) + " rows, expected " +
                  std::to_string(rows));
    }
    out.resize(rows);
    if (rows > 0 &&
        H5Dread(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
      return fail(std::string("cannot read /jobs/") + name);
    }
    return Status::ok();
  }

  Status strings(const char* name, std::vector<std::string>& out) {
    Handle ds(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) return fail(std::string("missing /") + name);
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t n = 0;
    if (H5Sget_simple_extent_ndims(space.get()) != 1 ||
        H5Sget_simple_extent_dims(space.get(), &n, nullptr) < 0) {
      return fail(std::string("/") + name + " is not a 1-D table");
    }
    Handle type = h5::string_type();
    std::vector<char*> ptrs(n, nullptr);
    out.clear();
    if (n == 0) return Status::ok();
    if (H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      return fail(std::string("cannot read /") + name);
    }
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return Status::ok();
  }

 private:
  const std::string& path_;
  hid_t file_;
};

Status read_attributes(const std::string& path, hid_t file, Trace& trace) {
  if (H5Aexists(file, "format_version") <= 0) {
    return Status::error(path + ": not a flotilla trace (no format_version attribute)");
  }
  std::int32_t version = 0;
  {
    Handle a(H5Aopen(file, "format_version", H5P_DEFAULT), H5Aclose);
    if (!a.ok() || H5Aread(a.get(), H5T_NATIVE_INT32, &version) < 0) {
      return Status::error(path + ": cannot read format_version");
    }
  }
  if (version != kTraceH5Version) {
    return Status::error(path + ": format_version " + std::to_string(version) +
                         " is not the one this flotilla reads (" + std::to_string(kTraceH5Version) +
                         ")");
  }
  if (H5Aexists(file, "skipped_records") > 0) {
    Handle a(H5Aopen(file, "skipped_records", H5P_DEFAULT), H5Aclose);
    if (!a.ok() || H5Aread(a.get(), H5T_NATIVE_UINT64, &trace.skipped_records) < 0) {
      return Status::error(path + ": cannot read skipped_records");
    }
  }
  if (H5Aexists(file, "origin") > 0) {
    Handle a(H5Aopen(file, "origin", H5P_DEFAULT), H5Aclose);
    Handle type = h5::string_type();
    char* p = nullptr;
    if (!a.ok() || H5Aread(a.get(), type.get(), &p) < 0) {
      return Status::error(path + ": cannot read origin");
    }
    trace.origin = p ? p : "";
    H5free_memory(p);
  }
  return Status::ok();
}

}  // namespace

bool is_hdf5_file(const std::string& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  return in.read(head, 8) && std::memcmp(head, kSignature, 8) == 0;
}

Status write_trace_h5(const Trace& trace, const std::string& path,
                      const std::function<Status(const std::string& temp_path)>& before_rename) {
  return h5::write_atomically(
      path, [&](hid_t file) { return write_file(trace, path, file); }, before_rename);
}

Result<Trace> read_trace_h5(const std::string& path) {
  const QuietHdf5 quiet;
  if (!std::ifstream(path)) return Status::error(path + ": cannot open");
  if (!is_hdf5_file(path)) return Status::error(path + ": not an HDF5 file");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) return Status::error(path + ": cannot open as HDF5");
  Trace trace;
  if (Status s = read_attributes(path, file.get(), trace); !s) return s;
  Reader r(path, file.get());
  std::vector<std::string> gpu_types;
  for (auto [name, table] : {std::pair{"users", &trace.users},
                             {"accounts", &trace.accounts},
                             {"qos", &trace.qos},
                             {"gpu_types", &gpu_types}}) {
    if (Status s = r.strings(name, *table); !s) return s;
  }
  // File type index -> catalog id.
  const GpuCatalog& catalog = GpuCatalog::builtin();
  if (gpu_types.size() > kMaxGpuTypes) return r.fail("more than 64 /gpu_types");
  std::vector<GpuTypeId> type_id(gpu_types.size());
  for (std::size_t i = 0; i < gpu_types.size(); ++i) {
    const std::optional<GpuTypeId> t = catalog.find(gpu_types[i]);
    if (!t) return r.fail("GPU type '" + gpu_types[i] + "' is not in the catalog");
    type_id[i] = *t;
  }

  Handle jobs(H5Gopen2(file.get(), "jobs", H5P_DEFAULT), H5Gclose);
  if (!jobs.ok()) return r.fail("missing /jobs");
  const hid_t g = jobs.get();
  std::vector<std::uint64_t> id;
  {
    Handle ds(H5Dopen2(g, "id", H5P_DEFAULT), H5Dclose);
    if (!ds.ok()) return r.fail("missing /jobs/id");
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t n = 0;
    if (H5Sget_simple_extent_dims(space.get(), &n, nullptr) != 1) return r.fail("bad /jobs/id");
    if (Status s = r.column(g, "id", n, id); !s) return s;
  }
  const std::size_t n = id.size();
  std::vector<std::int64_t> submit, time_limit, max_switches, runtime;
  std::vector<std::uint32_t> user, account, nodes, per_node, total, mem, seq_len, batch, line;
  std::vector<std::uint8_t> qos, exclusive, workload, has_model, training, shardable, requeue;
  std::vector<std::uint16_t> milli, ref_gpu;
  std::vector<std::uint64_t> types;
  std::vector<double> params, tokens;
  Status s = Status::ok();
  auto run = [&s](Status next) {
    if (s) s = std::move(next);
  };
  run(r.column(g, "submit", n, submit));
  run(r.column(g, "time_limit", n, time_limit));
  run(r.column(g, "user", n, user));
  run(r.column(g, "account", n, account));
  run(r.column(g, "qos", n, qos));
  run(r.column(g, "nodes", n, nodes));
  run(r.column(g, "gpus_per_node", n, per_node));
  run(r.column(g, "total_gpus", n, total));
  run(r.column(g, "gpu_milli", n, milli));
  run(r.column(g, "types", n, types));
  run(r.column(g, "min_gpu_mem_gb", n, mem));
  run(r.column(g, "exclusive", n, exclusive));
  run(r.column(g, "max_switches", n, max_switches));
  run(r.column(g, "workload", n, workload));
  run(r.column(g, "reference_runtime", n, runtime));
  run(r.column(g, "reference_gpu", n, ref_gpu));
  run(r.column(g, "has_model", n, has_model));
  run(r.column(g, "model_params", n, params));
  run(r.column(g, "model_tokens", n, tokens));
  run(r.column(g, "model_seq_len", n, seq_len));
  run(r.column(g, "model_global_batch", n, batch));
  run(r.column(g, "model_training", n, training));
  run(r.column(g, "model_shardable", n, shardable));
  run(r.column(g, "requeue", n, requeue));
  run(r.column(g, "source_line", n, line));
  if (!s) return s;

  trace.jobs.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    TraceJob& j = trace.jobs[i];
    const std::string row = "/jobs row " + std::to_string(i) + ": ";
    if (user[i] >= trace.users.size()) return r.fail(row + "user outside /users");
    if (account[i] >= trace.accounts.size()) return r.fail(row + "account outside /accounts");
    if (qos[i] >= trace.qos.size()) return r.fail(row + "qos outside /qos");
    if (workload[i] >= kWorkloadClasses) return r.fail(row + "unknown workload class");
    if (ref_gpu[i] >= type_id.size()) return r.fail(row + "reference_gpu outside /gpu_types");
    if (type_id.size() < 64 && (types[i] >> type_id.size()) != 0) {
      return r.fail(row + "types outside /gpu_types");
    }
    j.id = id[i];
    j.submit = Seconds{submit[i]};
    if (time_limit[i] >= 0) j.time_limit = Seconds{time_limit[i]};
    j.user = user[i];
    j.account = account[i];
    j.qos = qos[i];
    j.shape.nodes = nodes[i];
    j.shape.gpus_per_node = per_node[i];
    j.shape.total_gpus = total[i];
    j.shape.gpu_milli = milli[i];
    for (std::size_t b = 0; b < type_id.size(); ++b) {
      if ((types[i] >> b) & 1U) j.shape.types.set(type_id[b]);
    }
    j.shape.min_gpu_mem_gb = mem[i];
    j.shape.exclusive = exclusive[i] != 0;
    if (max_switches[i] >= 0) j.shape.max_switches = static_cast<std::uint32_t>(max_switches[i]);
    j.workload = static_cast<WorkloadClass>(workload[i]);
    j.work.reference_runtime = Seconds{runtime[i]};
    j.work.reference_gpu = type_id[ref_gpu[i]];
    if (has_model[i]) {
      j.work.model = ModelWork{.params = params[i],
                               .tokens = tokens[i],
                               .seq_len = seq_len[i],
                               .global_batch = batch[i],
                               .training = training[i] != 0,
                               .shardable = shardable[i] != 0};
    }
    j.requeue = requeue[i] != 0;
    j.source_line = line[i];
  }
  return trace;
}

}  // namespace flotilla
