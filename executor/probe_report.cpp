#include "executor/probe_report.h"

#include <algorithm>

#include "executor/probe_json.h"

namespace flotilla {

using nlohmann::json;
using probe_json::field_error;
using probe_json::read;

double ProbeTiming::rate() const {
  if (median.count() <= 0) return 0;
  return static_cast<double>(work) / static_cast<double>(median.count()) * 1e9;
}

double ProbeMeasurement::best_gemm_tflops() const {
  double best = 0;
  for (const ProbeGemm& g : gemm) best = std::max(best, g.timing.rate() / 1e12);
  return best;
}

double ProbeAllReduce::bus_bandwidth() const {
  if (median.count() <= 0 || gpus < 1) return 0;
  const double algbw = static_cast<double>(bytes) / static_cast<double>(median.count()) * 1e9;
  return algbw * 2.0 * (gpus - 1) / gpus;
}

namespace {

json timing_json(const ProbeTiming& t, const char* rate_name, double rate_scale) {
  return json{
      {"work", t.work}, {"median_ns", t.median.count()}, {rate_name, t.rate() / rate_scale}};
}

Status read_timing_fields(const json& t_json, ProbeTiming& t, const std::string& where) {
  std::int64_t ns = 0;
  if (Status s = read(t_json, "work", t.work, where); !s) return s;
  if (Status s = read(t_json, "median_ns", ns, where); !s) return s;
  if (ns < 0) return field_error(where, "median_ns", "is negative");
  t.median = std::chrono::nanoseconds(ns);
  return Status::ok();
}

Status read_timing(const json& j, const char* key, ProbeTiming& t, const std::string& origin) {
  json sub;
  if (Status s = read(j, key, sub, origin); !s) return s;
  return read_timing_fields(sub, t, origin + ": " + key);
}

// Reads an array field and hands each element, with its own origin, to `each`.
template <class F>
Status read_array(const json& j, const char* key, const std::string& origin, F each) {
  json arr;
  if (Status s = read(j, key, arr, origin); !s) return s;
  if (!arr.is_array()) return field_error(origin, key, "is not an array");
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (Status s = each(arr[i], origin + ": " + key + "[" + std::to_string(i) + "]"); !s) return s;
  }
  return Status::ok();
}

}  // namespace

json to_json(const ProbeReport& r) {
  json gpus = json::array();
  for (const ProbeGpu& g : r.gpus) {
    gpus.push_back(json{{"index", g.index},
                        {"name", g.name},
                        {"uuid", g.uuid},
                        {"pci_bus_id", g.pci_bus_id},
                        {"memory_bytes", g.memory_bytes},
                        {"sm_count", g.sm_count},
                        {"compute_capability",
                         json::array({g.compute_capability_major, g.compute_capability_minor})},
                        {"max_sm_clock_mhz", g.max_sm_clock_mhz},
                        {"max_memory_clock_mhz", g.max_memory_clock_mhz},
                        {"pcie_generation", g.pcie_generation},
                        {"pcie_width", g.pcie_width},
                        {"pcie_max_generation", g.pcie_max_generation},
                        {"pcie_max_width", g.pcie_max_width},
                        {"nvlink_active_links", g.nvlink_active_links}});
  }
  json measurements = json::array();
  for (const ProbeMeasurement& m : r.measurements) {
    json gemm = json::array();
    for (const ProbeGemm& g : m.gemm) {
      json t = timing_json(g.timing, "tflops", 1e12);
      t["n"] = g.n;
      gemm.push_back(t);
    }
    measurements.push_back(
        json{{"gpu", m.gpu},
             {"gemm_bf16", gemm},
             {"gemm_max_relative_error", m.gemm_max_relative_error},
             {"device_copy", timing_json(m.device_copy, "gb_per_s", 1e9)},
             {"host_to_device", timing_json(m.host_to_device, "gb_per_s", 1e9)},
             {"device_to_host", timing_json(m.device_to_host, "gb_per_s", 1e9)}});
  }
  json all_reduce = json::array();
  for (const ProbeAllReduce& a : r.all_reduce) {
    all_reduce.push_back(json{{"gpus", a.gpus},
                              {"bytes", a.bytes},
                              {"median_ns", a.median.count()},
                              {"bus_gb_per_s", a.bus_bandwidth() / 1e9}});
  }
  return json{{"host", r.host},
              {"cuda_driver_version", r.cuda_driver_version},
              {"cuda_runtime_version", r.cuda_runtime_version},
              {"nvml_driver_version", r.nvml_driver_version},
              {"gpus", gpus},
              {"p2p", r.p2p},
              {"measurements", measurements},
              {"all_reduce", all_reduce}};
}

Result<ProbeReport> probe_report_from_json(const json& j, const std::string& origin) {
  ProbeReport r;
  if (Status s = read(j, "host", r.host, origin); !s) return s;
  if (Status s = read(j, "cuda_driver_version", r.cuda_driver_version, origin); !s) return s;
  if (Status s = read(j, "cuda_runtime_version", r.cuda_runtime_version, origin); !s) return s;
  if (Status s = read(j, "nvml_driver_version", r.nvml_driver_version, origin); !s) return s;
  Status s = read_array(j, "gpus", origin, [&](const json& e, const std::string& where) {
    ProbeGpu g;
    std::vector<int> cc;
    for (Status st :
         {read(e, "index", g.index, where), read(e, "name", g.name, where),
          read(e, "uuid", g.uuid, where), read(e, "pci_bus_id", g.pci_bus_id, where),
          read(e, "memory_bytes", g.memory_bytes, where), read(e, "sm_count", g.sm_count, where),
          read(e, "compute_capability", cc, where),
          read(e, "max_sm_clock_mhz", g.max_sm_clock_mhz, where),
          read(e, "max_memory_clock_mhz", g.max_memory_clock_mhz, where),
          read(e, "pcie_generation", g.pcie_generation, where),
          read(e, "pcie_width", g.pcie_width, where),
          read(e, "pcie_max_generation", g.pcie_max_generation, where),
          read(e, "pcie_max_width", g.pcie_max_width, where),
          read(e, "nvlink_active_links", g.nvlink_active_links, where)}) {
      if (!st) return st;
    }
    if (cc.size() != 2) return field_error(where, "compute_capability", "is not [major, minor]");
    g.compute_capability_major = cc[0];
    g.compute_capability_minor = cc[1];
    r.gpus.push_back(std::move(g));
    return Status::ok();
  });
  if (!s) return s;
  if (Status st = read(j, "p2p", r.p2p, origin); !st) return st;
  for (const auto& row : r.p2p) {
    if (row.size() != r.p2p.size() || r.p2p.size() != r.gpus.size()) {
      return field_error(origin, "p2p", "is not a square matrix with a row per GPU");
    }
  }
  s = read_array(j, "measurements", origin, [&](const json& e, const std::string& where) {
    ProbeMeasurement m;
    if (Status st = read(e, "gpu", m.gpu, where); !st) return st;
    Status st = read_array(e, "gemm_bf16", where, [&](const json& g, const std::string& at) {
      ProbeGemm gemm;
      if (Status x = read(g, "n", gemm.n, at); !x) return x;
      if (Status x = read_timing_fields(g, gemm.timing, at); !x) return x;
      m.gemm.push_back(gemm);
      return Status::ok();
    });
    if (!st) return st;
    for (Status x : {read(e, "gemm_max_relative_error", m.gemm_max_relative_error, where),
                     read_timing(e, "device_copy", m.device_copy, where),
                     read_timing(e, "host_to_device", m.host_to_device, where),
                     read_timing(e, "device_to_host", m.device_to_host, where)}) {
      if (!x) return x;
    }
    r.measurements.push_back(std::move(m));
    return Status::ok();
  });
  if (!s) return s;
  s = read_array(j, "all_reduce", origin, [&](const json& e, const std::string& where) {
    ProbeAllReduce a;
    std::int64_t ns = 0;
    for (Status x : {read(e, "gpus", a.gpus, where), read(e, "bytes", a.bytes, where),
                     read(e, "median_ns", ns, where)}) {
      if (!x) return x;
    }
    if (ns < 0) return field_error(where, "median_ns", "is negative");
    a.median = std::chrono::nanoseconds(ns);
    r.all_reduce.push_back(a);
    return Status::ok();
  });
  if (!s) return s;
  return r;
}

Result<ProbeReport> parse_probe_report(const std::string& text, const std::string& origin) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error(origin + ": not valid JSON");
  return probe_report_from_json(j, origin);
}

}  // namespace flotilla
